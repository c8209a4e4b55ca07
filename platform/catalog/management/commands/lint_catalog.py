from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from catalog.lint import lint
from catalog.lint_cli import add_arguments, options_from


class Command(BaseCommand):
    help = (
        "Check a catalogue folder without the database: manifests, playbooks' syntax, "
        "ansible-lint and the templates' fixtures (the same as gangplank-lint)."
    )
    # Nothing here reads the database: no system check that might.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):
        add_arguments(parser)

    def handle(self, *args, **options):
        report = lint(Path(options["directory"]), options=options_from(options))
        self.stdout.write(report.text())
        if not report.ok:
            raise CommandError(f"{len(report.errors)} error(s) in the catalogue")
