import io
import secrets

import qrcode
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from ropa.login.two_factor import issue_app_device, must_use_two_factor, secret_text
from ropa.roles import AUDITOR, DPO, assign_role, setup_roles


class Command(BaseCommand):
    help = (
        "Create (or reset) the demo logins, a DPO and an auditor, with fresh "
        "random passwords, and print them, with the DPO's two-factor secret "
        "and recovery codes. Development only: refused unless DEBUG is on."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="dpo", help="The DPO's login.")
        parser.add_argument("--auditor", default="auditor", help="The auditor's login.")

    @transaction.atomic
    def handle(self, *args, username, auditor, **options):
        if not settings.DEBUG:
            raise CommandError(
                "create_demo_user only runs with DJANGO_DEBUG=true. In production "
                "create accounts with 'manage.py createsuperuser' or the admin, "
                "and give them a role with 'manage.py setup_roles --assign'."
            )
        setup_roles()
        for login, role in ((username, DPO), (auditor, AUDITOR)):
            password = secrets.token_urlsafe(12)
            user, created = get_user_model().objects.get_or_create(
                username=login, defaults={"email": f"{login}@example.com"}
            )
            user.is_active = True
            user.set_password(password)
            user.save()
            assign_role(user, role)
            self.stdout.write(
                self.style.SUCCESS(
                    f"{'Created' if created else 'Reset'} the demo {role} login:  "
                    f"username: {login}  password: {password}"
                )
            )
            if must_use_two_factor(user):
                self._two_factor(user)

    def _two_factor(self, user):
        """
        Set up the DPO's second factor, as the DPO would on their first
        login, and print what they need to log in: a QR code for an
        authenticator app to scan from the terminal, the same secret as text
        to type, or one of the one-time recovery codes.
        """
        device, codes = issue_app_device(user)
        self.stdout.write(
            f"  {user.get_username()} logs in with two factors. Scan this QR "
            "code with an authenticator app:"
        )
        self.stdout.write(terminal_qr(device.config_url), ending="")
        self.stdout.write(
            "  or add this secret to the app (time-based, 6 digits, 30 seconds):\n"
            f"    {secret_text(device)}\n"
            "  Without an app, give one of these recovery codes instead of the "
            "app's code (each works once):\n    " + "  ".join(codes)
        )


def terminal_qr(uri):
    """
    The QR code of ``uri`` drawn with block characters, dark on a light
    terminal or light on a dark one: a phone scans it off the screen.
    """
    qr = qrcode.QRCode(border=2)
    qr.add_data(uri)
    out = io.StringIO()
    qr.print_ascii(out=out, invert=True)
    return out.getvalue()
