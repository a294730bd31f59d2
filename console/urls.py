from django.urls import path

from checks.covered_views import report_camera_covered, report_camera_covered_in_view
from console import clear_view, views
from notifications import views as push_views

app_name = "console"
urlpatterns = [
    path("", views.operator_console, name="operator"),
    path("checks/<int:check_id>/open", views.open_check, name="open-check"),
    path("round-mode", views.toggle_round_mode, name="round-mode"),
    path("attempts/<int:attempt_id>/", views.attempt_view, name="attempt"),
    path("attempts/<int:attempt_id>/outcome", views.record_outcome, name="outcome"),
    path("attempts/<int:attempt_id>/camera-covered", report_camera_covered_in_view, name="attempt-camera-covered"),
    path("training/", views.training, name="training"),
    path("training/<int:camera_id>/open", views.open_training, name="open-training"),
    path("views/<uuid:gid>/", views.grant_view, name="grant-view"),
    path("views/<uuid:gid>/clear", clear_view.clear_picture, name="clear-picture"),
    path("patrol/", views.patrol, name="patrol"),
    path("patrol/<int:escalation_id>/acknowledge", views.acknowledge_escalation, name="acknowledge"),
    path("patrol/<int:escalation_id>/resolve", views.resolve_escalation, name="resolve"),
    path("patrol/<int:escalation_id>/camera-covered", report_camera_covered, name="camera-covered"),
    # Under the patrol's path: a service worker's scope is the folder it is served from.
    path("patrol/manifest.webmanifest", push_views.manifest, name="patrol-manifest"),
    path("patrol/sw.js", push_views.service_worker, name="patrol-service-worker"),
    path("patrol/push/subscribe", push_views.subscribe, name="push-subscribe"),
    path("patrol/push/unsubscribe", push_views.unsubscribe, name="push-unsubscribe"),
    path("lead/", views.lead_board, name="lead"),
    path("lead/alarms/<int:alarm_id>/acknowledge", views.acknowledge_alarm, name="acknowledge-alarm"),
]
