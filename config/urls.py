from django.contrib import admin
from django.urls import path

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
    path("admin/", admin.site.urls),
    path("privacy-notice/", PrivacyNoticeView.as_view(), name="privacy-notice"),
]
