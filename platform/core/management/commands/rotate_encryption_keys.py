from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from core import keys, reencryption, secrets

TWO_RUNS = (
    "A rotation takes two runs: `rotate_encryption_keys` adds a new key and re-encrypts; "
    "once every process has picked up the new key, `rotate_encryption_keys --drop-old` "
    "re-encrypts again and drops the old keys."
)


class Command(BaseCommand):
    help = (
        "Re-encrypt every secret input with a new key. With the key file (GANGPLANK_DATA_DIR/"
        "encryption-keys): a new key is put first and the old ones kept; in a later run, once "
        "every process has the new key, --drop-old re-encrypts with it and drops the old ones. "
        "With GANGPLANK_ENCRYPTION_KEYS: everything is re-encrypted with its first key."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--drop-old",
            action="store_true",
            help="add no key: re-encrypt with the newest one, then drop the others from the "
            "key file (run it after a rotation, once every process has the new key)",
        )

    def handle(self, *args, drop_old: bool, **options):
        try:
            if keys.keys_from_environment():
                self._from_environment(drop_old=drop_old)
            elif drop_old:
                self._drop_old()
            else:
                self._add_key()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from None
        except secrets.UnreadableSecrets as exc:
            raise CommandError(
                f"Nothing was re-encrypted: {exc}. Put back the key it was encrypted with."
            ) from None

    def _add_key(self) -> None:
        count = keys.add_key()
        self.stdout.write(f"Added a new key first in {keys.key_file()} ({count} keys now).")
        self._report(reencryption.reencrypt_all())
        self.stdout.write(
            "The old keys are kept so that running processes still decrypt, and so that what "
            "one encrypted with an old key just before is still read. Once every process has "
            "picked up the new key, run again with --drop-old."
        )

    def _drop_old(self) -> None:
        # Never in the same run as adding a key: a process that encrypted with the old key
        # before the new one was added, and committed after the re-encryption read its rows,
        # leaves an old-key token behind. By a later run every process has the new key, so
        # re-encrypting now catches such tokens before their key goes.
        if len(keys.file_keys()) < 2:
            raise CommandError(f"{keys.key_file()} holds one key: nothing to drop. {TWO_RUNS}")
        self._report(reencryption.reencrypt_all())
        dropped = keys.drop_old_keys()
        self.stdout.write(f"Dropped {dropped} old key(s); only the newest is kept.")

    def _from_environment(self, *, drop_old: bool) -> None:
        if drop_old:
            raise CommandError(
                "The keys come from GANGPLANK_ENCRYPTION_KEYS, which this command cannot "
                "change: remove the old keys from the variable yourself, after a rotation."
            )
        keys.fernet(fresh=True)  # refuses a broken key before anything changes
        self._report(reencryption.reencrypt_all())
        self.stdout.write(
            "The keys come from GANGPLANK_ENCRYPTION_KEYS: everything is now encrypted with "
            "its first key. To rotate: put a new key first in the variable on every process, "
            "restart them, run this command, then remove the old keys and restart again."
        )

    def _report(self, counts: dict[str, int]) -> None:
        done = ", ".join(f"{count} {name}" for name, count in counts.items())
        self.stdout.write(f"Re-encrypted the secrets of {done}.")
