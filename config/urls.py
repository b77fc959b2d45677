from django.contrib import admin
from django.urls import include, path
from django.views.decorators.cache import cache_control
from django.views.generic import TemplateView

from ropa.admin.scoping import view_on_site
from ropa.views import PrivacyNoticeView

handler403 = "ropa.views.permission_denied"

admin.site.site_header = "Record of processing activities"
admin.site.site_title = "RoPA"
admin.site.index_title = "Register (GDPR Art. 30)"
# "View site" opens what the public reads: the privacy notice.
admin.site.site_url = "/privacy-notice/"
# The register's lists and forms need the width of a laptop's screen; the
# index (with the dashboard) and the breadcrumbs lead everywhere.
admin.site.enable_nav_sidebar = False

urlpatterns = [
    # Before the admin's own "View on site" redirect, which it replaces: that
    # one redirects for any staff user, and so tells whether an id exists.
    path(
        "admin/r/<int:content_type_id>/<path:object_id>/",
        admin.site.admin_view(view_on_site),
    ),
    # The second factor's pages, before the admin's catch-all (ropa.login).
    path("admin/two-factor/", include("ropa.login.urls")),
    path("admin/", admin.site.urls),
    path("privacy-notice/", PrivacyNoticeView.as_view(), name="privacy-notice"),
    # The notice's stylesheet, one file for the page served here and the page
    # render_notice writes (which carries it inside).
    path(
        "privacy-notice/notice.css",
        cache_control(max_age=3600)(
            TemplateView.as_view(
                template_name="ropa/notice.css", content_type="text/css; charset=utf-8"
            )
        ),
        name="privacy-notice-style",
    ),
]
