from django.urls import path

from letters import views

app_name = "letters"
urlpatterns = [
    path("", views.batches, name="batches"),
    path("<int:batch_id>/", views.batch, name="batch"),
    path("<int:batch_id>/download", views.batch_download, name="download"),
    path("person/<int:person_id>/", views.person_letter, name="person"),
    path("person/<int:person_id>/information-sheet.pdf", views.information_sheet, name="information-sheet"),
]
