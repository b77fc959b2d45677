from django.apps import AppConfig


class ControllersConfig(AppConfig):
    name = "controllers"
    verbose_name = "Controllers and processors"
