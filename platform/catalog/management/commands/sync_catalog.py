from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from catalog.services import sync_catalog


class Command(BaseCommand):
    help = "Load the catalogue folder (GANGPLANK_CATALOG_DIR) into the database."

    def add_arguments(self, parser):
        parser.add_argument("--dir", type=Path, default=None, help="another catalogue folder")

    def handle(self, *args, dir=None, **options):
        directory = dir or settings.CATALOG_DIR
        try:
            report = sync_catalog(directory=directory)
        except (OSError, ValueError) as exc:  # missing, not a folder, unreadable, NUL in it
            raise CommandError(f"Cannot read the catalogue folder: {exc}") from None
        for label in ("created", "updated", "retired"):
            for slug in getattr(report, label):
                self.stdout.write(f"{label}: {slug}")
        for problem in report.problems:
            where = (
                f"{problem['file']}: {problem['field']}" if problem["field"] else problem["file"]
            )
            self.stderr.write(self.style.ERROR(f"error: {where}: {problem['message']}"))
        broken = len({p["file"].split("/")[0] for p in report.problems})
        self.stdout.write(
            f"Catalogue {directory} synced; {broken} template(s) with errors skipped."
        )
