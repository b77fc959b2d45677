import datetime
import re
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from controllers.models import Organisation
from ropa.core.progress import progress_bars
from ropa.exchange.export import (
    DOCUMENT_FORMATS,
    EXPORT_FORMATS,
    FORMATS,
    XLSX,
    ExportError,
    default_filename,
    export_register,
)

STDOUT = "-"
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class Command(BaseCommand):
    help = (
        "Export the Art. 30 register (XLSX, a zip of CSV files, a regulator's "
        "layout, or a PDF or Word document), as it stands or as it stood at the "
        "end of a past day."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--controller",
            metavar="SLUG",
            help="Only the activities of this organisation (its slug).",
        )
        parser.add_argument(
            "--format",
            dest="fmt",
            choices=EXPORT_FORMATS,
            default=XLSX,
            help="; ".join(
                f"{code}: {fmt.label}" + (" (default)" if code == XLSX else "")
                for code, fmt in FORMATS.items()
            )
            + ".",
        )
        parser.add_argument(
            "--output",
            metavar="PATH",
            help="The file to write; '-' writes the file's bytes to standard "
            "output, for a pipe (never to a terminal). Default: "
            "ropa-register-<controller|all>-<date>[-<format>].<xlsx|zip|pdf|docx> "
            "here.",
        )
        parser.add_argument(
            "--as-of",
            metavar="YYYY-MM-DD",
            help="The register as it stood at the end of this day, rebuilt from "
            "its history.",
        )
        for option, status in (("drafts", "draft"), ("retired", "retired")):
            parser.add_argument(
                f"--include-{option}",
                action="store_true",
                help=f"With --format {' or '.join(DOCUMENT_FORMATS)}: the {status} "
                "activities too (the document holds the active ones).",
            )

    def handle(self, *args, controller=None, fmt=XLSX, output=None, **options):
        organisation = self._controller(controller) if controller else None
        as_of = self._date(options["as_of"]) if options["as_of"] else None
        export = {"fmt": fmt, "controller": organisation, "as_of": as_of}
        statuses = {
            "drafts": options["include_drafts"],
            "retired": options["include_retired"],
        }
        # On a terminal only: a cron job's log gets the summary, no bar.
        progress = progress_bars(self.stderr, enabled=options["verbosity"] > 0)
        if output == STDOUT:
            stream = self._binary_stdout()
            summary = self._export(out=stream, progress=progress, **export, **statuses)
            stream.flush()
            # Standard output carries the file: the summary goes to stderr.
            self.stderr.write(summary.line(), style_func=self.style.SUCCESS)
            return
        path = Path(output or default_filename(**export))
        if not path.parent.is_dir():
            raise CommandError(f"No directory '{path.parent}' to write '{path.name}'.")
        # Written beside the target and renamed once complete: a failed export
        # leaves neither a half-written file nor a clobbered earlier one.
        with tempfile.NamedTemporaryFile(
            dir=path.parent, prefix=f".{path.name}.", suffix=".part", delete=False
        ) as out:
            partial = Path(out.name)
            try:
                summary = self._export(out=out, progress=progress, **export, **statuses)
            except BaseException:
                out.close()
                partial.unlink()
                raise
        partial.replace(path)
        self.stdout.write(self.style.SUCCESS(f"{summary.line()} Written to {path}."))

    def _export(self, **export):
        try:
            return export_register(**export)
        except ExportError as error:
            raise CommandError(str(error)) from error

    def _controller(self, slug):
        try:
            return Organisation.objects.get(slug=slug)
        except Organisation.DoesNotExist:
            slugs = ", ".join(
                Organisation.objects.order_by("slug").values_list("slug", flat=True)
            )
            raise CommandError(
                f"No organisation with the slug '{slug}'. "
                f"Valid slugs: {slugs or 'none (the register has no organisations)'}."
            ) from None

    def _date(self, text):
        try:
            if not ISO_DATE.fullmatch(text):
                raise ValueError(text)
            day = datetime.date.fromisoformat(text)
        except ValueError:
            raise CommandError(
                f"--as-of '{text}' is not a date: use YYYY-MM-DD, e.g. 2024-12-31."
            ) from None
        if day > timezone.localdate():
            raise CommandError(
                f"--as-of {text} is in the future: the register's history ends today."
            )
        return day

    def _binary_stdout(self):
        stream = getattr(self.stdout, "buffer", None)
        if stream is None:
            raise CommandError("Standard output does not accept binary data.")
        if self.stdout.isatty():
            raise CommandError(
                "Refusing to write a binary file to a terminal: redirect standard "
                "output to a file or a pipe, or give --output PATH."
            )
        return stream
