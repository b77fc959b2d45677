from django.core.management.base import BaseCommand

from ropa import health


class Command(BaseCommand):
    help = (
        "Compute and keep the dashboard's health figures of the months that are "
        "over and not kept yet, rebuilt from the register's history."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--rebuild",
            action="store_true",
            help="Compute every month again, kept or not (after history was "
            "written with past dates, e.g. by generate_register).",
        )

    def handle(self, *args, rebuild, verbosity, **options):
        def progress(start, seconds):
            if verbosity > 1:
                self.stdout.write(f"{start:%Y-%m}: {seconds:.1f} s")

        done = health.fill(rebuild=rebuild, progress=progress)
        if verbosity:
            if done:
                months = ", ".join(f"{start:%Y-%m}" for start in sorted(done))
                self.stdout.write(f"Computed {len(done)} month(s): {months}.")
            else:
                self.stdout.write("Every month that is over is kept already.")
