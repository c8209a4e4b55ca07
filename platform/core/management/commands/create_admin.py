import os
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from core.commands import checked, field


class Command(BaseCommand):
    help = (
        "Create the superuser (default 'admin') with a generated password, printed once and "
        "kept in the data dir; do nothing if the user exists."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username, **options):
        # The username's validator also keeps the password file's name inside the data dir.
        username = checked("--username", username, field(get_user_model(), "username"))
        path = settings.DATA_DIR / f"{username}-password"
        User = get_user_model()
        if User.objects.filter(username=username).exists():
            self.stdout.write(f"User {username} exists; its first password is kept in {path}.")
            return
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser(username=username, email="", password=password)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(password + "\n")
        self.stdout.write(f"Created superuser {username} with password: {password}")
        self.stdout.write(f"(kept in {path})")
