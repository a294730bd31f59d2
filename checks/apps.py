from django.apps import AppConfig


class ChecksConfig(AppConfig):
    name = "checks"

    def ready(self) -> None:
        # checks acts on what people announces (people.signals); people never imports checks.
        from checks import consequences  # imported once the models are loaded

        consequences.connect()
