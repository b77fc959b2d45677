from django.apps import AppConfig


class RopaConfig(AppConfig):
    name = "ropa"
    verbose_name = "Register of processing activities"

    def ready(self):
        from ropa import signals, stored_completeness

        signals.protect()
        stored_completeness.connect()
