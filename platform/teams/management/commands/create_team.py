from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from core.commands import checked, field
from core.errors import InvalidRequest
from teams.models import Team
from teams.services import create_team


class Command(BaseCommand):
    help = "Create a team (or update its name) and add members to it."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--member", nargs="*", default=[], metavar="USERNAME")

    def handle(self, *args, slug, name, member, **options):
        slug = checked("slug", slug, field(Team, "slug"))
        name = checked("--name", name, field(Team, "name"))
        member = checked("--member", member, field(get_user_model(), "username"))
        try:
            team = create_team(slug=slug, name=name, usernames=member)
        except InvalidRequest as exc:
            raise CommandError(" ".join(exc.errors["member"])) from exc
        count = team.memberships.count()
        self.stdout.write(f"Team {team.slug} ({team.name}): {count} member(s).")
