"""Re-encrypting every stored secret with the first key, for `rotate_encryption_keys`."""

from django.apps import apps
from django.db import models, transaction

from core.secrets import EncryptedField, UnreadableSecrets, rotate


def encrypted_fields() -> list[tuple[type[models.Model], list[str]]]:
    """Each model with an EncryptedField column, and the names of those columns."""
    found = []
    for model in apps.get_models():
        names = [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedField)]
        if names and not model._meta.proxy:
            found.append((model, names))
    return found


def reencrypt_all() -> dict[str, int]:
    """Every stored token re-encrypted with the first key, in one transaction (rows locked
    meanwhile); returns how many rows of each model (by its verbose plural name)."""
    counts: dict[str, int] = {}
    with transaction.atomic():
        for model, names in encrypted_fields():
            rows = list(
                model._default_manager.select_for_update()
                .exclude(**{name: "" for name in names})
                .only(*names)
            )
            for row in rows:
                for name in names:
                    try:
                        setattr(row, name, rotate(token=getattr(row, name)))
                    except UnreadableSecrets as exc:
                        label = model._meta.verbose_name
                        raise UnreadableSecrets(f"{label} {row.pk}: {exc}") from None
            model._default_manager.bulk_update(rows, names, batch_size=500)
            counts[str(model._meta.verbose_name_plural)] = len(rows)
    return counts
