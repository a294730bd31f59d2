from django.urls import path

from cameras import onvif_views, views

app_name = "cameras"
urlpatterns = [
    path("", views.camera_list, name="list"),
    path("new/", views.camera_edit, name="create"),
    path("<int:camera_id>/", views.camera_detail, name="detail"),
    path("<int:camera_id>/edit/", views.camera_edit, name="edit"),
    path("<int:camera_id>/installation-test", views.installation_test, name="installation-test"),
    path("<int:camera_id>/technical-test", views.technical_test, name="technical-test"),
    path("<int:camera_id>/installation-view", views.installation_view, name="installation-view"),
    path("onvif/new/", onvif_views.add_camera, name="onvif-add"),
    path("<int:camera_id>/onvif/presets/", onvif_views.presets, name="onvif-presets"),
    path("<int:camera_id>/onvif/check", onvif_views.installation_check, name="onvif-check"),
    path("<int:camera_id>/installation-booking", views.book_installation, name="installation-booking"),
    path("<int:camera_id>/installation-consent", views.installation_consent, name="installation-consent"),
]
