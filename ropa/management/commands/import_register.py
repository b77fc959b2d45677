import argparse
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from controllers.models import Organisation
from ropa.core.progress import progress_bars
from ropa.core.rows import NEW
from ropa.exchange.apply import apply_plan
from ropa.exchange.imports import plan_import
from ropa.exchange.plan import ICO, OURS, ImportAborted, import_reason
from ropa.exchange.workbook import ImportFileError

PURGE_STALE_GONE = (
    "--purge-stale is gone: run 'manage.py clear_import_files', which removes "
    "the abandoned uploads of every admin import."
)
DELETES_REFUSED = (
    "The file would delete {counts}: rows of its activities that are no longer "
    "in the file. Nothing was imported. To delete them, run the import again "
    "with --allow-deletes; to keep them, put their rows back in the file."
)


class Command(BaseCommand):
    help = (
        "Import a register from our own XLSX export, or migrate one from a filled "
        "UK ICO controller template; all rows or none."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", help="The .xlsx workbook to import.")
        parser.add_argument(
            "--format",
            choices=(OURS, ICO),
            default=OURS,
            help="'ours' for a register exported by this application (the "
            "default), 'ico' for the ICO documentation template for controllers.",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Validate and report what would change; write nothing.",
        )
        parser.add_argument(
            "--allow-deletes",
            action="store_true",
            help="Delete the lawful bases, transfers and retention rules of the "
            "file's activities that are no longer in the file. Without it, an "
            "import that would delete any is refused.",
        )
        parser.add_argument(
            "--controller",
            help="With --format ico: the slug of the organisation responsible for "
            "the template's activities, instead of the controller its header "
            "block names.",
        )
        parser.add_argument(
            "--user",
            help="The username recorded in the history as having made the changes.",
        )
        # Gone: kept only to point a cron line that still runs it to the one
        # command that purges the uploads of every admin import.
        parser.add_argument(
            "--purge-stale", action="store_true", help=argparse.SUPPRESS
        )

    def handle(self, *args, **options):
        if options["purge_stale"]:
            raise CommandError(PURGE_STALE_GONE)
        if not options["file"]:
            raise CommandError("Name the file to import.")
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No file '{path}'.")
        controller = self._controller(options["controller"], options["format"])
        user = self._user(options["user"]) if options["user"] else None
        # On a terminal only: a cron job's log gets the report, no bars.
        bars = progress_bars(self.stderr, enabled=options["verbosity"] > 0)
        try:
            plan = plan_import(
                path,
                file_name=path.name,
                format=options["format"],
                controller=controller,
                progress=bars,
            )
        except ImportFileError as error:
            raise CommandError(str(error)) from error

        self._report(plan, dry_run=options["dry_run"], verbosity=options["verbosity"])
        if plan.has_errors:
            raise CommandError(
                f"{len(plan.errors)} error(s): nothing was imported. Correct the "
                "file and import it again."
            )
        deletions = plan.deletions()
        if deletions and not options["allow_deletes"]:
            # Rows a file leaves out may have been cut by mistake: deleting
            # them from cron, unseen, takes the operator's word for it.
            raise CommandError(
                DELETES_REFUSED.format(
                    counts=", ".join(
                        f"{count} row{'s' if count != 1 else ''} of '{sheet}'"
                        for sheet, count in deletions.items()
                    )
                )
            )
        if options["dry_run"]:
            self.stdout.write(self.style.SUCCESS("Dry run: nothing was written."))
            return
        if not plan.has_writes:
            self.stdout.write(self.style.SUCCESS("Nothing to change."))
            return
        try:
            apply_plan(plan, user=user, progress=bars)
        except ImportAborted as error:
            raise CommandError(f"{error}. Nothing was imported.") from error
        self.stdout.write(self.style.SUCCESS(f"{import_reason(plan.file_name)}."))

    def _report(self, plan, *, dry_run, verbosity):
        for line in plan.count_lines():
            self.stdout.write(line)
        for line in plan.created_lines(done=not dry_run):
            self.stdout.write(line)
        for line in plan.review_lines(done=not dry_run):
            self.stdout.write(line)
        for line in plan.kept_lines():
            self.stdout.write(line)
        if verbosity >= 1:
            for row in plan.rows:
                if row.operation is None:
                    continue
                where = f" (sheet '{row.sheet}', row {row.row})" if row.row else ""
                columns = ", ".join(change.column for change in row.changes)
                detail = f": {columns}" if columns and row.action != NEW else ""
                self.stdout.write(f"  {row.action} {row.key}{where}{detail}")
        for note in plan.notes:
            self.stdout.write(note)
        for error in plan.errors:
            self.stderr.write(str(error))

    def _controller(self, slug, format):
        if format != ICO:
            if slug:
                raise CommandError("--controller applies to --format ico only.")
            return None
        if not slug:
            # The template's header block names the controller.
            return None
        try:
            return Organisation.objects.get(slug=slug)
        except Organisation.DoesNotExist:
            slugs = ", ".join(Organisation.objects.values_list("slug", flat=True))
            raise CommandError(
                f"No organisation with the slug '{slug}' (one of: "
                f"{slugs or 'no organisation yet'})."
            ) from None

    def _user(self, username):
        model = get_user_model()
        try:
            return model._default_manager.get_by_natural_key(username)
        except model.DoesNotExist:
            raise CommandError(f"No user with the username '{username}'.") from None
