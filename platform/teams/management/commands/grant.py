from django.core.management.base import BaseCommand, CommandError

from core.commands import checked
from core.errors import InvalidRequest
from teams.services import grant_role


class Command(BaseCommand):
    help = "Give a user a role: member or admin of a team (--team), or platform or auditor."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("role", help="member, admin, platform or auditor")
        parser.add_argument("--team", metavar="SLUG", help="the team, for member and admin")

    def handle(self, *args, username, role, team=None, **options):
        username, role = checked("username", username), checked("role", role)
        team = checked("--team", team)
        try:
            self.stdout.write(grant_role(username=username, role=role, team_slug=team))
        except InvalidRequest as exc:
            messages = [m for field_messages in exc.errors.values() for m in field_messages]
            raise CommandError(" ".join(messages)) from exc
