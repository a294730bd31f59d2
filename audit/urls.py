from django.urls import path

from audit import views

app_name = "audit"
urlpatterns = [
    path("", views.audit_log, name="log"),
    path("persons/<int:person_id>/extract.csv", views.person_extract_csv, name="person-extract-csv"),
    path("persons/<int:person_id>/extract.pdf", views.person_extract_pdf, name="person-extract-pdf"),
]
