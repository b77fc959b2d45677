from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from ropa.sample import (
    CREATED,
    SAMPLE_REASON,
    UNCHANGED,
    UPDATED,
    SampleRegisterError,
    load_sample_register,
)


class Command(BaseCommand):
    help = (
        "Load the sample register, the 26 purposes of the Infobric group's "
        "privacy notice as processing activities; running it again changes "
        "nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Report what would change, and save nothing.",
        )
        parser.add_argument(
            "--user",
            help="Username recorded in the history as having made the changes.",
        )

    def handle(self, *args, dry_run=False, user=None, verbosity=1, **options):
        try:
            report = load_sample_register(
                user=self._user(user) if user else None,
                reason=SAMPLE_REASON,
                dry_run=dry_run,
            )
        except SampleRegisterError as error:
            raise CommandError(str(error)) from error

        if verbosity >= 1:
            for line in report.lines():
                self.stdout.write(f"  {line}")
        counts = (
            f"{report.total(CREATED)} created, {report.total(UPDATED)} updated, "
            f"{report.total(UNCHANGED)} unchanged"
        )
        if dry_run:
            message = f"Dry run, nothing saved. A load would give: {counts}."
        elif report.changed:
            message = f"{SAMPLE_REASON}: {counts}."
        else:
            message = f"The sample register is already loaded: {counts}."
        self.stdout.write(self.style.SUCCESS(message))

    def _user(self, username):
        model = get_user_model()
        try:
            return model._default_manager.get_by_natural_key(username)
        except model.DoesNotExist:
            raise CommandError(f"No user with the username '{username}'.") from None
