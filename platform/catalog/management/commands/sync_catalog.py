from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from catalog import sync
from catalog.models import CatalogSource, CatalogSync, SourceKind
from catalog.services import LOCAL_SOURCE, local_source


class Command(BaseCommand):
    help = (
        "Sync the catalogue's sources (git repositories and the server's folder, "
        "GANGPLANK_CATALOG_DIR) into the database."
    )

    def add_arguments(self, parser):
        parser.add_argument("--source", default=None, help="only this source, by name")
        parser.add_argument(
            "--dir", type=Path, default=None, help="read another folder as the local source"
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="accept a git source's rewritten history (a force-push)",
        )

    def handle(self, *args, source=None, dir=None, force=False, **options):
        if dir is not None and source not in (None, LOCAL_SOURCE):
            raise CommandError("--dir reads a folder as the local source; not with --source")
        if dir is not None or source == LOCAL_SOURCE:
            sources = [local_source()]
        elif source is not None:
            found = CatalogSource.objects.select_related("credential").filter(name=source).first()
            if found is None:
                raise CommandError(f"Invalid --source: there is no catalogue source {source!r}")
            sources = [found]
        else:
            local_source()
            sources = list(CatalogSource.objects.select_related("credential").order_by("name"))
        failed = []
        for each in sources:
            try:
                report = sync.sync_source(source=each, force=force, directory=dir)
            except sync.SourceUnavailable as exc:
                where = "the catalogue folder" if each.kind == SourceKind.FOLDER else "source"
                failed.append(f"Cannot read {where} {each.name}: {exc}")
                continue
            if report is None:
                self.stdout.write(f"{each.name}: a sync is already running; skipped.")
                continue
            self._report(each, report)
        if failed:
            raise CommandError("\n".join(failed))

    def _report(self, source: CatalogSource, report: CatalogSync) -> None:
        for label in ("created", "updated", "retired"):
            for slug in getattr(report, label):
                self.stdout.write(f"{label}: {slug}")
        for problem in report.problems:
            where = (
                f"{problem['file']}: {problem['field']}" if problem["field"] else problem["file"]
            )
            self.stderr.write(self.style.ERROR(f"error: {where}: {problem['message']}"))
        broken = len({p["file"].split("/")[0] for p in report.problems})
        at = f" at {report.commit[:12]}" if report.commit else f" ({report.directory})"
        self.stdout.write(
            f"Catalogue source {source.name} synced{at}; {broken} template(s) with errors skipped."
        )
