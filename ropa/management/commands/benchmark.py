import os
import secrets
import warnings

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.test.utils import override_settings

from ropa.perf.benchmark import format_runs, measure

PLAIN_STATIC_FILES = {
    **settings.STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}


class Command(BaseCommand):
    help = (
        "Measure the admin, exports, import, yearly review and notice at N "
        "activities, each size in a scratch database of its own."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--activities",
            default="1000,10000",
            help="Comma-separated register sizes (default: 1000,10000).",
        )
        parser.add_argument(
            "--repeat",
            type=int,
            default=5,
            help="Runs of each admin page and the notice; the median is shown.",
        )

    def handle(self, *args, activities, repeat, verbosity, **options):
        try:
            sizes = [int(size) for size in activities.split(",")]
        except ValueError as error:
            raise CommandError("--activities takes numbers: 1000,10000") from error
        if not sizes or min(sizes) < 1 or repeat < 1:
            raise CommandError("Sizes and --repeat must be at least 1.")

        def progress(message):
            if verbosity:
                self.stderr.write(message)

        # The test client's host and a local mailbox, as the test runner
        # has, but not its test environment: that records every template
        # rendered with a copy of its context, which a production server does
        # not do (it doubled the change form's time). Sessions need a key: a
        # throwaway one where none is configured. The hashed static files
        # need collectstatic: the plain storage instead.
        if not os.environ.get("DJANGO_SECRET_KEY"):
            settings.SECRET_KEY = secrets.token_urlsafe(50)
        with (
            override_settings(
                STORAGES=PLAIN_STATIC_FILES,
                ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"],
                EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
            ),
            warnings.catch_warnings(),
        ):
            # whitenoise warns that the static files are not collected:
            # the pages are measured without them.
            warnings.filterwarnings("ignore", "No directory at", UserWarning)
            runs = [measure(size, repeat=repeat, progress=progress) for size in sizes]
        engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
        self.stdout.write(format_runs(runs, engine))
