import getpass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from ropa.login.two_factor import must_use_two_factor, reset_two_factor
from ropa.review.services import DEFAULT_SYSTEM_USERNAME, system_user


def shell_user():
    """The account that runs the command on the server, as far as it is known."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name nor passwd entry (a container)
        return "unknown"


class Command(BaseCommand):
    help = (
        "Remove a user's two-factor devices (authenticator app and recovery "
        "codes) and end their sessions, so that they set two-factor "
        "authentication up again at their next login: for a lost phone."
    )

    def add_arguments(self, parser):
        parser.add_argument("username", help="The login whose devices go.")
        parser.add_argument(
            "--by",
            metavar="USERNAME",
            help="The staff login of the person who asked for the reset "
            "(recorded with it).",
        )

    @transaction.atomic
    def handle(self, *args, username, by=None, **options):
        user = self._user(username)
        # Recorded in the admin's history of the user, under the account the
        # register's commands act as, with who ran it: the server account
        # (whoever has a shell there) and the staff member named by --by.
        ran_by = f"server account {shell_user()}"
        if by:
            requester = self._user(by)
            if not (requester.is_active and requester.is_staff):
                raise CommandError(f"--by {by}: not an active staff login.")
            ran_by += f", for {requester.get_username()}"
        actor = system_user(
            username=getattr(settings, "ROPA_SYSTEM_USERNAME", DEFAULT_SYSTEM_USERNAME)
        )
        devices, sessions = reset_two_factor(user, actor=actor, ran_by=ran_by)
        if not devices:
            self.stdout.write(f"{username} had no two-factor device.")
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Removed the two-factor devices of {username}: "
                    f"{', '.join(devices)}."
                )
            )
        if sessions:
            self.stdout.write(f"Ended {sessions} open session(s) of {username}.")
        if must_use_two_factor(user):
            self.stdout.write(
                f"{username} sets two-factor authentication up again at their "
                "next login, before any other admin page."
            )

    def _user(self, username):
        """The user of ``username``, or an error naming it."""
        User = get_user_model()
        try:
            return User._default_manager.get_by_natural_key(username)
        except User.DoesNotExist:
            raise CommandError(
                f"There is no user '{username}'. Usernames are case-sensitive."
            ) from None
