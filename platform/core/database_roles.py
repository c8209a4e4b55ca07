"""The runtime database role: web, worker and beat read and write rows as a role that does
not own the tables, so it cannot alter them, disable their triggers or change
`session_replication_role`; only migrations run as the owner."""

import pgtrigger
from django.db import connection, transaction
from psycopg import sql

ROW_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE")
# What a protecting trigger refuses the runtime role is refused as a privilege too: pgtrigger
# lets any session skip its triggers (SET pgtrigger.ignore), a missing privilege cannot be.
REVOCABLE = frozenset({"INSERT", "UPDATE", "DELETE"})


class RoleProblem(Exception):
    """The role cannot be the runtime role: what is wrong with it, readably."""


def protected_tables() -> dict[str, list[str]]:
    """Each table that a pgtrigger Protect trigger guards -> the operations it refuses."""
    protected: dict[str, set[str]] = {}
    for model, trigger in pgtrigger.registered():
        if isinstance(trigger, pgtrigger.Protect):
            operations = set(str(trigger.operation).split(" OR ")) & REVOCABLE
            protected.setdefault(model._meta.db_table, set()).update(operations)
    return {table: sorted(operations) for table, operations in protected.items()}


def _problem(role: str) -> str | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rolsuper, rolbypassrls, rolcreaterole,"
            " pg_has_role(rolname, current_user, 'MEMBER'), rolname = current_user"
            " FROM pg_roles WHERE rolname = %s",
            [role],
        )
        found = cursor.fetchone()
    if found is None:
        return f"There is no role {role}: create it first (CREATE ROLE {role} LOGIN PASSWORD ...)."
    superuser, bypass_rls, create_role, member, itself = found
    if superuser or bypass_rls or create_role:
        return f"{role} is a superuser, bypasses row security or creates roles: use a plain role."
    if itself or member:
        return f"{role} is the tables' owner (or a member of it): give the runtime another role."
    return None


def grant_runtime_role(*, role: str) -> dict[str, list[str]]:
    """Let `role` read and write the rows of every table in the current schema, now and
    those later migrations create (as the connected user, the owner), and nothing else;
    on the tables a Protect trigger guards, not what the trigger refuses. Idempotent.
    Returns the protected tables and what was withheld on each."""
    if connection.vendor != "postgresql":
        raise RoleProblem("Database roles need PostgreSQL.")
    if problem := _problem(role):
        raise RoleProblem(problem)
    protected = protected_tables()
    values = {
        "role": sql.Identifier(role),
        "privileges": sql.SQL(", ").join(map(sql.SQL, ROW_PRIVILEGES)),
    }
    statements = [
        "GRANT USAGE ON SCHEMA {schema} TO {role}",
        "GRANT {privileges} ON ALL TABLES IN SCHEMA {schema} TO {role}",
        "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {role}",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT {privileges} ON TABLES TO {role}",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT USAGE, SELECT ON SEQUENCES TO {role}",
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        values["schema"] = sql.Identifier(cursor.fetchone()[0])
        queries = [sql.SQL(statement).format(**values) for statement in statements]
        queries += [
            sql.SQL("REVOKE {operations} ON {table} FROM {role}").format(
                operations=sql.SQL(", ").join(map(sql.SQL, operations)),
                table=sql.Identifier(table),
                role=values["role"],
            )
            for table, operations in protected.items()
            if operations
        ]
        for query in queries:
            cursor.execute(query.as_string(connection.connection))
    return protected
