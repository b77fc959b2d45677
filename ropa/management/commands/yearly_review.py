import datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from ropa.review import (
    DEFAULT_SYSTEM_USERNAME,
    RENDERERS,
    REPORT_FORMATS,
    TEXT,
    ReviewError,
    build_report,
    dpo_addresses,
    email_report,
    hold_review_run_lock,
    open_reviews,
    review_cycle,
    system_user,
)

# Exit statuses, for cron: 0 all in order (or no --check), 1 --check found
# something overdue or incomplete, 2 the command could not run as asked.
CHECK_FAILED = 1
USAGE_ERROR = 2


class Command(BaseCommand):
    help = (
        "Open the reviews that fall due in the review cycle and report what needs "
        "the DPO's attention; safe to run again, and twice at once (on "
        "PostgreSQL the second run waits for the first)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--year",
            type=int,
            help="The review cycle: the year of the as-of date (default) or the "
            "next one, to open its reviews ahead.",
        )
        parser.add_argument(
            "--as-of",
            metavar="YYYY-MM-DD",
            help="Run as on this day (default: today).",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Report what would be opened, and save nothing.",
        )
        parser.add_argument(
            "--check",
            action="store_true",
            help="Exit with status 1 when a review is due or overdue or the "
            "register is incomplete.",
        )
        parser.add_argument(
            "--format",
            dest="fmt",
            choices=REPORT_FORMATS,
            default=TEXT,
            help="The report's format on standard output (default: text).",
        )
        parser.add_argument(
            "--email",
            action="store_true",
            help="Also e-mail the report to the DPOs.",
        )
        parser.add_argument(
            "--system-user",
            metavar="USERNAME",
            help="The user the opened reviews are recorded under in the history "
            "(default: the ROPA_SYSTEM_USERNAME setting); created, unable to log "
            "in, if missing.",
        )

    def handle(self, *args, fmt=TEXT, **options):
        on = self._as_of(options["as_of"])
        try:
            cycle = review_cycle(on=on, year=options["year"])
            recipients = dpo_addresses() if options["email"] else []
            with transaction.atomic():
                user = None
                if not options["dry_run"]:
                    # A second run at once waits here for the first to end,
                    # then reports what the first opened (see the help).
                    hold_review_run_lock()
                    user = self._system_user(options)
                opened = open_reviews(
                    on=on, user=user, dry_run=options["dry_run"], cycle=cycle
                )
                report = build_report(
                    on=on, cycle=cycle, opened=opened, dry_run=options["dry_run"]
                )
        except ReviewError as error:
            raise CommandError(str(error), returncode=USAGE_ERROR) from error

        self.stdout.write(RENDERERS[fmt](report))
        if recipients:
            email_report(report, recipients=recipients)
        if options["check"] and not report.check.passed:
            # A plain message for cron's mail rather than "CommandError: ...".
            self.stderr.write("Check failed: " + "; ".join(report.check.failures) + ".")
            raise SystemExit(CHECK_FAILED)

    def _as_of(self, text):
        if not text:
            return timezone.localdate()
        try:
            return datetime.date.fromisoformat(text)
        except ValueError:
            raise CommandError(
                f"--as-of takes a date as YYYY-MM-DD, not '{text}'.",
                returncode=USAGE_ERROR,
            ) from None

    def _system_user(self, options):
        username = options["system_user"] or getattr(
            settings, "ROPA_SYSTEM_USERNAME", DEFAULT_SYSTEM_USERNAME
        )
        return system_user(username=username)
