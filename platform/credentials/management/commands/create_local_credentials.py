import os
from urllib.parse import unquote, urlsplit

import psycopg
from django.core.management.base import BaseCommand, CommandError

from core.errors import InvalidRequest
from credentials import services
from credentials.models import Credential, CredentialType

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
NAME = "shared-postgres"


class Command(BaseCommand):
    help = (
        "Create or update the shared-postgres credential (the PostgreSQL database template's "
        "server) from GANGPLANK_POSTGRES_URL, when a server answers there."
    )

    def handle(self, *args, **options):
        url = os.environ.get("GANGPLANK_POSTGRES_URL") or DEFAULT_URL
        try:
            parts = urlsplit(url)
            shown = f"{parts.hostname or 'localhost'}:{parts.port or 5432}"
        except ValueError as exc:  # an unclosed [, a port that is not a number
            raise CommandError(f"GANGPLANK_POSTGRES_URL is not a URL: {exc}.") from None
        try:
            psycopg.connect(url, connect_timeout=3).close()
        except (psycopg.Error, ValueError):
            self.stdout.write(
                f"No PostgreSQL server answers at {shown} (GANGPLANK_POSTGRES_URL): the "
                f"PostgreSQL database template stays unavailable until a platform engineer "
                f"creates the credential {NAME} under Credentials."
            )
            return
        plain = {
            "PGHOST": parts.hostname or "127.0.0.1",
            "PGPORT": str(parts.port or 5432),
            "PGUSER": unquote(parts.username or "postgres"),
        }
        if parts.path.strip("/"):
            plain["PGDATABASE"] = unquote(parts.path.strip("/"))
        fields = {**plain}
        if parts.password:
            fields["PGPASSWORD"] = unquote(parts.password)
        existing = Credential.objects.filter(name=NAME).first()
        try:
            if existing is None:
                services.create_credential(
                    user=None,
                    name=NAME,
                    type=CredentialType.ENV,
                    fields=fields,
                    plain_variables=list(plain),
                    description="The PostgreSQL server the PostgreSQL database template uses.",
                )
            else:
                services.update_credential(
                    user=None, credential=existing, fields=fields, plain_variables=list(plain)
                )
        except InvalidRequest as exc:
            raise CommandError(f"{NAME}: {exc.errors}") from None
        verb = "created" if existing is None else "updated"
        self.stdout.write(f"Credential {NAME} {verb}: the PostgreSQL server at {shown}.")
