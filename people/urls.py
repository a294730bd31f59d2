from django.urls import path

from checks.covered_views import camera_concern_list, camera_concern_outcome
from checks.views import agreement_edit
from people import views

app_name = "people"
urlpatterns = [
    path("", views.person_list, name="list"),
    path("new/", views.person_edit, name="create"),
    path("<int:person_id>/", views.person_detail, name="detail"),
    path("<int:person_id>/edit/", views.person_edit, name="edit"),
    path("<int:person_id>/decision/", views.decision_create, name="decision"),
    path("<int:person_id>/consent/", views.consent_create, name="consent"),
    path("consents/<int:consent_id>/withdraw/", views.consent_withdraw, name="withdraw-consent"),
    path("<int:person_id>/co-resident/", views.co_resident_create, name="co-resident"),
    path("co-residents/<int:co_resident_id>/consent/", views.co_resident_consent_create, name="co-resident-consent"),
    path(
        "co-resident-consents/<int:co_resident_consent_id>/withdraw/",
        views.co_resident_consent_withdraw,
        name="withdraw-co-resident-consent",
    ),
    path("<int:person_id>/absence/", views.absence_create, name="absence"),
    path("<int:person_id>/skip-tonight", views.skip_tonight, name="skip-tonight"),
    path("<int:person_id>/agreement/", agreement_edit, name="agreement"),
    path("camera-concerns/", camera_concern_list, name="camera-concerns"),
    path("camera-concerns/<int:concern_id>/outcome/", camera_concern_outcome, name="camera-concern-outcome"),
]
