"""The two-factor pages, under the admin's URL (``admin/two-factor/``)."""

from django.urls import path

from ropa.login import views

app_name = "two_factor"

urlpatterns = [
    path("", views.manage, name="manage"),
    path("verify/", views.verify, name="verify"),
    path("set-up/", views.enrol, name="enrol"),
    path("recovery-codes/", views.recovery_codes, name="recovery_codes"),
    path("turn-off/", views.turn_off, name="turn_off"),
    path("log-out/", views.log_out, name="log_out"),
]
