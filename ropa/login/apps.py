from django.contrib.admin.apps import AdminConfig


class RegisterAdminConfig(AdminConfig):
    """``django.contrib.admin``, with the site that asks for the second factor."""

    default_site = "ropa.login.site.RegisterAdminSite"
