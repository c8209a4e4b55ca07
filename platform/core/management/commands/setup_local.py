import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles.finders import get_finders
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

STATE_FILE = "setup-local.json"


class Command(BaseCommand):
    help = (
        "Set up what `make run` starts, in one process: the data dir, the database, the "
        "static files, the local credentials, the catalogue, the admin user and the demo "
        "team. What a former start did and nothing has changed since is skipped."
    )
    # The data dir (with the secret key the checks read) comes first; the checks run then.
    requires_system_checks = []

    def handle(self, *args, **options):
        call_command("prepare_data_dir")
        self.check()
        state_path = Path(settings.DATA_DIR) / STATE_FILE
        try:
            done = json.loads(state_path.read_text())
        except (OSError, ValueError):
            done = {}
        # What was done is only known for the database it was done in.
        database = connection.settings_dict
        key = f"{connection.vendor}:{database['HOST']}:{database['PORT']}:{database['NAME']}"
        if done.get("database") != key:
            done = {"database": key}

        migrated = self.migrate()
        static = fingerprint(finder_files())
        collected = (Path(settings.STATIC_ROOT) / "staticfiles.json").exists()
        if not collected or done.get("static") != static:
            call_command("collectstatic", interactive=False, verbosity=0)
            self.stdout.write(f"Static files collected in {settings.STATIC_ROOT}.")
            done["static"] = static
        else:
            self.stdout.write("Static files unchanged since they were collected.")
        call_command("create_local_credentials")
        catalogue = fingerprint(folder_files(Path(settings.CATALOG_DIR)))
        if migrated or done.get("catalog") != catalogue:
            call_command("sync_catalog")
            done["catalog"] = catalogue
        else:
            self.stdout.write(f"Catalogue {settings.CATALOG_DIR} unchanged since the last sync.")
        call_command("create_admin")
        call_command("create_team", "demo", name="Demo team", member=["admin"])
        state_path.write_text(json.dumps(done, indent=2) + "\n")

    def migrate(self) -> bool:
        """Apply the pending migrations; False when there were none (a quick check, where
        `migrate` itself would also refresh every content type and permission)."""
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if not plan:
            self.stdout.write("Database up to date.")
            return False
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write(f"Database migrated: {len(plan)} migration(s) applied.")
        return True


def finder_files() -> Iterable[Path]:
    """Every file collectstatic would collect."""
    for finder in get_finders():
        for name, storage in finder.list(["CVS", ".*", "*~"]):  # collectstatic's ignores
            yield Path(storage.path(name))


def folder_files(folder: Path) -> Iterable[Path]:
    return (path for path in folder.rglob("*") if path.is_file())


def fingerprint(paths: Iterable[Path]) -> str:
    """Changes when a file is added, removed, or written (its size or time)."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        stat = path.stat()
        digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()
