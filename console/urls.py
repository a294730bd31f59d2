from django.urls import path

from console import views

app_name = "console"
urlpatterns = [
    path("", views.operator_console, name="operator"),
    path("checks/<int:check_id>/open", views.open_check, name="open-check"),
    path("round-mode", views.toggle_round_mode, name="round-mode"),
    path("attempts/<int:attempt_id>/", views.attempt_view, name="attempt"),
    path("attempts/<int:attempt_id>/outcome", views.record_outcome, name="outcome"),
    path("training/", views.training, name="training"),
    path("training/<int:camera_id>/open", views.open_training, name="open-training"),
    path("views/<uuid:gid>/", views.grant_view, name="grant-view"),
    path("patrol/", views.patrol, name="patrol"),
    path("patrol/<int:escalation_id>/acknowledge", views.acknowledge_escalation, name="acknowledge"),
    path("patrol/<int:escalation_id>/resolve", views.resolve_escalation, name="resolve"),
    path("lead/", views.lead_board, name="lead"),
    path("lead/alarms/<int:alarm_id>/acknowledge", views.acknowledge_alarm, name="acknowledge-alarm"),
]
