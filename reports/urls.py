from django.urls import path

from reports import views

app_name = "reports"
urlpatterns = [
    path("", views.index, name="index"),
    path("tonight/", views.tonight, name="tonight"),
    path("morning/", views.morning, name="morning"),
    path("persons/", views.persons, name="persons"),
    path("persons/<int:person_id>/", views.person_history, name="person"),
    path("monthly/", views.monthly, name="monthly"),
    path("benefit/", views.benefit, name="benefit"),
    path("benefit/parameters/", views.parameters, name="parameters"),
]
