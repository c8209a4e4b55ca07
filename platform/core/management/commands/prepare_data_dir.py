from django.core.management.base import BaseCommand

from core.datadir import prepare_data_dir


class Command(BaseCommand):
    help = (
        "Make the data dir's folders, and generate the secret key (unless SECRET_KEY is set) "
        "and the encryption key file (unless GANGPLANK_ENCRYPTION_KEYS is set) when missing. "
        "Run it before the other commands and processes: make run and the image's entrypoint do."
    )
    # Before anything exists: the checks would read the secret key it makes.
    requires_system_checks = []

    def handle(self, *args, **options):
        prepare_data_dir()
