"""The project's URLs with the register export mounted in the admin."""

from django.contrib import admin
from django.urls import include, path

from ropa.admin_export import export_urls

admin_patterns, app_name, namespace = admin.site.urls

urlpatterns = [
    path(
        "admin/",
        include(
            (
                [
                    # Before the model admin's URLs, as its get_urls puts it.
                    path(
                        "ropa/processingactivity/",
                        include(export_urls(admin.site)),
                    ),
                    *admin_patterns,
                ],
                app_name,
            ),
            namespace=namespace,
        ),
    ),
]
