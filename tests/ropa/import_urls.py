"""The project's URLs with the register import mounted in the admin."""

from django.contrib import admin
from django.urls import include, path

from ropa.admin_import import import_urls

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
                        include(import_urls(admin.site)),
                    ),
                    *admin_patterns,
                ],
                app_name,
            ),
            namespace=namespace,
        ),
    ),
]
