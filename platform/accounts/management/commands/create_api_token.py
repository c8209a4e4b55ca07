from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts.models import ApiToken
from accounts.services import create_token
from core.commands import checked, field
from core.errors import InvalidRequest


class Command(BaseCommand):
    help = "Create a named API token for a user and print its key (shown this once)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", required=True)

    def handle(self, *args, username, name, **options):
        username = checked("username", username)
        name = checked("--name", name, field(ApiToken, "name"))
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No such user: {username}.")
        try:
            _, key = create_token(user=user, name=name)
        except InvalidRequest as exc:
            raise CommandError(" ".join(exc.errors["name"])) from exc
        self.stdout.write(key)
