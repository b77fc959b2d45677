import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

REGISTER_APPS = ("controllers", "subjects", "ropa")


class Command(BaseCommand):
    help = (
        "Create (or reset) the demo DPO login with a fresh random password and "
        "print it. Development only: refused unless DEBUG is on."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="dpo")

    @transaction.atomic
    def handle(self, *args, username, **options):
        if not settings.DEBUG:
            raise CommandError(
                "create_demo_user only runs with DJANGO_DEBUG=true. In production "
                "create accounts with 'manage.py createsuperuser' or the admin."
            )
        password = secrets.token_urlsafe(12)
        user, created = get_user_model().objects.get_or_create(
            username=username,
            defaults={"email": f"{username}@example.com", "is_staff": True},
        )
        user.is_staff = True
        user.is_active = True
        user.set_password(password)
        user.save()
        user.user_permissions.set(
            Permission.objects.filter(content_type__app_label__in=REGISTER_APPS)
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"{'Created' if created else 'Reset'} the demo DPO login:\n"
                f"  username: {username}\n  password: {password}"
            )
        )
