from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from core import secrets
from provisioning.inputs import reencrypt_all


class Command(BaseCommand):
    help = (
        "Re-encrypt every secret input with a new key. With the key file (GANGPLANK_DATA_DIR/"
        "encryption-keys): a new key is put first and the old ones kept, unless --drop-old. "
        "With GANGPLANK_ENCRYPTION_KEYS: everything is re-encrypted with its first key."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--drop-old",
            action="store_true",
            help="then keep only the newest key in the key file",
        )

    def handle(self, *args, drop_old: bool, **options):
        try:
            if secrets.keys_from_environment():
                self._from_environment(drop_old=drop_old)
            else:
                self._from_file(drop_old=drop_old)
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from None
        except secrets.UnreadableSecrets as exc:
            raise CommandError(
                f"Nothing was re-encrypted: {exc}. Put back the key it was encrypted with."
            ) from None

    def _from_file(self, *, drop_old: bool) -> None:
        count = secrets.add_key()
        self.stdout.write(f"Added a new key first in {secrets.key_file()} ({count} keys now).")
        self._report(reencrypt_all())
        if drop_old:
            dropped = secrets.drop_old_keys()
            self.stdout.write(f"Dropped {dropped} old key(s); only the newest is kept.")
        else:
            self.stdout.write(
                "The old keys are kept so that running workers still decrypt; run again with "
                "--drop-old once they have picked up the new one."
            )

    def _from_environment(self, *, drop_old: bool) -> None:
        if drop_old:
            raise CommandError(
                "The keys come from GANGPLANK_ENCRYPTION_KEYS, which this command cannot "
                "change: remove the old keys from the variable yourself, after a rotation."
            )
        secrets.fernet(fresh=True)  # refuses a broken key before anything changes
        self._report(reencrypt_all())
        self.stdout.write(
            "The keys come from GANGPLANK_ENCRYPTION_KEYS: everything is now encrypted with "
            "its first key. To rotate: put a new key first in the variable on every process, "
            "restart them, run this command, then remove the old keys and restart again."
        )

    def _report(self, counts: dict[str, int]) -> None:
        done = ", ".join(f"{count} {name}" for name, count in counts.items())
        self.stdout.write(f"Re-encrypted the secrets of {done}.")
