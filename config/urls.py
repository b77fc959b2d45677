from django.contrib import admin
from django.urls import path

from ropa.views import PrivacyNoticeView

admin.site.site_header = "Record of processing activities"
admin.site.site_title = "RoPA"
admin.site.index_title = "Register (GDPR Art. 30)"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("privacy-notice/", PrivacyNoticeView.as_view(), name="privacy-notice"),
]
