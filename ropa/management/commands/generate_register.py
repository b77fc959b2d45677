from django.core.management.base import BaseCommand, CommandError

from ropa.core.progress import Progress
from ropa.perf.generate import Sizes, generate_register


class Command(BaseCommand):
    help = (
        "Add a deterministic synthetic register (organisations, categories, "
        "activities with their links, child rows and history) for benchmarks."
    )

    def add_arguments(self, parser):
        parser.add_argument("--activities", type=int, default=1000)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--versions",
            type=int,
            default=5,
            help="History versions per activity (default 5).",
        )

    def handle(self, *args, activities, seed, versions, verbosity, **options):
        if activities < 1:
            raise CommandError("--activities must be at least 1.")
        if not 1 <= versions <= 50:
            raise CommandError("--versions must be between 1 and 50.")
        progress = Progress(
            self.stderr, activities, "Generating", enabled=verbosity > 0
        )
        try:
            with progress:
                result = generate_register(
                    sizes=Sizes(activities=activities, versions=versions),
                    seed=seed,
                    progress=progress,
                )
        except ValueError as error:
            raise CommandError(str(error)) from error
        if verbosity:
            for label, count in result.created.items():
                self.stdout.write(f"{count:>9,} {label}")
            self.stdout.write(self.style.SUCCESS("Synthetic register generated."))
