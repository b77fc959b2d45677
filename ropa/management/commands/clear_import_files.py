import datetime

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from ropa.core.uploads import MAX_AGE, describe_storage, purge


class Command(BaseCommand):
    help = (
        "Remove the files uploaded to either admin import (the register's or a "
        "list's) whose preview was never confirmed."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--max-age",
            type=int,
            default=int(MAX_AGE.total_seconds() // 60),
            metavar="MINUTES",
            help="Remove files older than this (default: %(default)s minutes).",
        )

    def handle(self, *args, max_age, **options):
        if max_age < 0:
            raise CommandError("--max-age cannot be negative.")
        try:
            removed = purge(datetime.timedelta(minutes=max_age))
            where = describe_storage()
        except ImproperlyConfigured as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            f"Removed {removed} import file(s) older than {max_age} minutes "
            f"from {where}."
        )
