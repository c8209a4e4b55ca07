from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_slug

from core.errors import InvalidRequest
from teams.services import create_team


class Command(BaseCommand):
    help = "Create a team (or update its name) and add members to it."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--member", nargs="*", default=[], metavar="USERNAME")

    def handle(self, *args, slug, name, member, **options):
        try:
            validate_slug(slug)
        except ValidationError as exc:
            raise CommandError(f"Invalid slug {slug!r}: {exc.messages[0]}") from exc
        try:
            team = create_team(slug=slug, name=name, usernames=member)
        except InvalidRequest as exc:
            raise CommandError(" ".join(exc.errors["member"])) from exc
        count = team.memberships.count()
        self.stdout.write(f"Team {team.slug} ({team.name}): {count} member(s).")
