from django.core.management.base import BaseCommand, CommandError

from core.commands import checked
from core.database_roles import RoleProblem, grant_runtime_role


class Command(BaseCommand):
    help = (
        "Run as the tables' owner after `migrate`: let ROLE (which web, worker and beat connect "
        "as) read and write rows of every table, also of tables later migrations make, but "
        "not alter tables, disable triggers, truncate, nor change the audit trail."
    )

    def add_arguments(self, parser):
        parser.add_argument("role", help="the runtime role; it must exist and not own the tables")

    def handle(self, *args, role: str, **options):
        role = checked("role", role)
        try:
            protected = grant_runtime_role(role=role)
        except RoleProblem as exc:
            raise CommandError(str(exc)) from None
        withheld = "; ".join(f"{table}: no {', '.join(ops)}" for table, ops in protected.items())
        self.stdout.write(f"{role} may read and write rows ({withheld}).")
