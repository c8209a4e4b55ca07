import getpass

from django.contrib.auth.management.commands import changepassword
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from accounts.services import set_password
from core.commands import checked

MAX_TRIES = 3


class Command(changepassword.Command):
    help = (
        "Change a user's password; this also ends their other sessions and revokes their "
        "API tokens."
    )

    def handle(self, *args, **options):
        username = checked("username", options["username"] or getpass.getuser())
        manager = changepassword.UserModel._default_manager.using(options["database"])
        user = manager.filter(**{changepassword.UserModel.USERNAME_FIELD: username}).first()
        if user is None:
            raise CommandError(f"user '{username}' does not exist")
        self.stdout.write(f"Changing password for user '{user}'")
        for _ in range(MAX_TRIES):
            first = self._get_pass()  # type: ignore[attr-defined]
            if first != self._get_pass("Password (again): "):  # type: ignore[attr-defined]
                self.stdout.write("Passwords do not match. Please try again.")
                continue
            try:
                validate_password(first, user)
            except ValidationError as err:
                self.stderr.write("\n".join(err.messages))
                continue
            revoked = set_password(user=user, password=first)
            return f"Password changed for user '{user}'; {revoked} API token(s) revoked"
        raise CommandError(f"Aborting password change for user '{user}' after {MAX_TRIES} attempts")
