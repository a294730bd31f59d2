from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Push notifications"

    def ready(self) -> None:
        # Escalations and alarms are created in checks, a lower app that must not know
        # about push; this app listens for them instead (docs/ARCHITECTURE.md).
        from notifications import signals  # noqa: F401
