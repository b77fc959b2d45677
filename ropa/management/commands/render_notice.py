from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.urls import NoReverseMatch, reverse

from ropa import notice


class Command(BaseCommand):
    help = "Render the public privacy notice from the register, as HTML or Markdown."

    def add_arguments(self, parser):
        parser.add_argument(
            "--format",
            choices=notice.NOTICE_FORMATS,
            default=notice.HTML,
            help="Output format (default: html).",
        )
        parser.add_argument(
            "--controller",
            metavar="SLUG",
            help="Render the notice of one company, by its slug.",
        )
        parser.add_argument(
            "--output",
            metavar="PATH",
            help="Write to this file instead of standard output.",
        )
        parser.add_argument(
            "--check",
            action="store_true",
            help="Render nothing; exit non-zero while the notice shows a sample "
            "value, so that a deployment can refuse to publish it.",
        )

    def handle(self, *args, **options):
        controller = self._controller(options["controller"])
        built = notice.build_notice(controller=controller)
        if options["check"]:
            self._check(built)
            return
        text = notice.render_notice(
            built, fmt=options["format"], notice_url=self._notice_url()
        )
        if not options["output"]:
            self.stdout.write(text, ending="")
            return
        path = Path(options["output"])
        try:
            path.write_text(text, encoding="utf-8")
        except OSError as error:
            raise CommandError(f"Cannot write {path}: {error.strerror}.") from error
        count = len(built.sections)
        purposes = "purpose" if count == 1 else "purposes"
        self.stdout.write(
            self.style.SUCCESS(
                f"Wrote the privacy notice ({count} {purposes}) to {path}."
            )
        )

    def _check(self, built):
        samples = built.sample_values
        if samples:
            purposes = len({where for _, where in samples})
            raise CommandError(
                f"The privacy notice shows {len(samples)} sample "
                f"value{'s' if len(samples) != 1 else ''}: "
                f"{built.sample_summary()} (under {purposes} heading"
                f"{'s' if purposes != 1 else ''}). Before publishing, confirm "
                "or replace each, then untick 'sample value' or delete its "
                "'Sample value' note."
            )
        self.stdout.write(
            self.style.SUCCESS("The privacy notice shows no sample value.")
        )

    def _controller(self, slug):
        if slug is None:
            return None
        controllers = notice.notice_controllers()
        found = controllers.select_related("dpo").filter(slug=slug).first()
        if found is None:
            slugs = ", ".join(controllers.values_list("slug", flat=True))
            raise CommandError(
                f"Unknown controller '{slug}'. Valid slugs: "
                f"{slugs or 'none (no purpose is published in the notice)'}."
            )
        return found

    def _notice_url(self):
        # Links to the per-company notices, where the public page is routed.
        try:
            return reverse("privacy-notice")
        except NoReverseMatch:
            return None
