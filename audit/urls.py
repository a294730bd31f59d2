from django.urls import path

from audit import views

app_name = "audit"
urlpatterns = [
    path("", views.audit_log, name="log"),
    path("review/", views.access_sample, name="sample"),
    path("review/entries/<int:entry_id>/", views.review_entry, name="review-entry"),
    path("flags/", views.access_flags, name="flags"),
    path("persons/<int:person_id>/extract.csv", views.person_extract_csv, name="person-extract-csv"),
    path("persons/<int:person_id>/extract.pdf", views.person_extract_pdf, name="person-extract-pdf"),
]
