from django.apps import AppConfig


class RopaConfig(AppConfig):
    name = "ropa"
    verbose_name = "Register of processing activities"

    def ready(self):
        from django.core import checks

        from ropa import signals, stored_completeness
        from ropa.core.uploads import check_upload_folder

        signals.protect()
        stored_completeness.connect()
        checks.register(check_upload_folder)
