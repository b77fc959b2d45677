from django.apps import AppConfig


class RopaConfig(AppConfig):
    name = "ropa"
    verbose_name = "Register of processing activities"

    def ready(self):
        from . import signals

        signals.protect()
