from django.apps import AppConfig
from django.core import checks


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Gangplank core"

    def ready(self):
        from core.checks import check_keys, check_visibility_timeout

        checks.register(check_keys)
        checks.register(check_visibility_timeout)
