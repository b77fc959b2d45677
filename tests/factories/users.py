import time

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from ropa.login.two_factor import APP_DEVICE_NAME, needs_code

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    """A user; pass ``permissions=["app_label.codename", ...]`` to grant some."""

    username = factory.Sequence(lambda n: f"user{n:04d}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    first_name = "Alex"
    last_name = factory.Sequence(lambda n: f"Tester {n:04d}")
    password = factory.django.Password(PASSWORD)
    is_staff = False
    is_superuser = False

    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    class Params:
        staff = factory.Trait(is_staff=True)
        superuser = factory.Trait(is_staff=True, is_superuser=True)

    @factory.post_generation
    def permissions(self, create, extracted, **kwargs):
        if not create or not extracted:
            return
        for label in extracted:
            app_label, codename = label.split(".")
            self.user_permissions.add(
                Permission.objects.get(
                    content_type__app_label=app_label, codename=codename
                )
            )


class StaffUserFactory(UserFactory):
    is_staff = True


class SuperuserFactory(UserFactory):
    username = factory.Sequence(lambda n: f"admin{n:04d}")
    is_staff = True
    is_superuser = True


class TOTPDeviceFactory(factory.django.DjangoModelFactory):
    """A user's authenticator app, set up and confirmed."""

    user = factory.SubFactory(StaffUserFactory)
    name = APP_DEVICE_NAME
    confirmed = True

    class Meta:
        model = TOTPDevice


def app_device(user):
    """
    The authenticator app of ``user``, set up now if they have none (as they
    would at their first login).
    """
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return device or TOTPDeviceFactory(user=user)


def login_device(user):
    """
    The device that a finished login of ``user`` gave its code from, or None
    where their login asks for no code.
    """
    return app_device(user) if needs_code(user) else None


def current_code(device):
    """
    The code the app of ``device`` shows that the device still accepts.

    A device takes each time step's code once, and the next step's too (its
    tolerance): the same user logging in twice within 30 seconds gives the
    next step's code, and waits for the clock when that one is used too.
    """
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    wanted = max(totp.t(), device.last_t + 1)
    while wanted > totp.t() + device.tolerance:
        time.sleep(0.5)
    totp.time = device.t0 + (wanted - device.drift) * device.step
    return f"{totp.token():0{device.digits}d}"
