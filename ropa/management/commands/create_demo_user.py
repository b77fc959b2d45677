import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from ropa.roles import AUDITOR, DPO, assign_role, setup_roles


class Command(BaseCommand):
    help = (
        "Create (or reset) the demo logins, a DPO and an auditor, with fresh "
        "random passwords, and print them. Development only: refused unless "
        "DEBUG is on."
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
