"""Secret values at rest: a Fernet token of a JSON object, made with the configured keys
(`core.keys`). Masking them in what is shown is `core.masking`; re-encrypting every stored
token with a new key is `core.reencryption`."""

import json

from cryptography.fernet import InvalidToken
from django.db import models

from core.keys import fernet
from core.masking import MASK

PLACEHOLDER = "$encrypted$"


class UnreadableSecrets(Exception):
    """A token that none of the keys decrypts."""


class EncryptedField(models.TextField):
    """A column holding a token made by `encrypt` ("" when there is nothing to hide): key
    rotation re-encrypts every such column (`core.reencryption`)."""

    def deconstruct(self):
        # The column is a plain text column: migrations know it as a TextField.
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.TextField", args, kwargs


def encrypt(*, values: dict) -> str:
    """A token holding `values` (a JSON object); "" when there is nothing to hide."""
    if not values:
        return ""
    return fernet().encrypt(json.dumps(values, sort_keys=True).encode()).decode()


def decrypt(*, token: str) -> dict:
    """The values a token holds; {} for "". Raises UnreadableSecrets when no key fits."""
    if not token:
        return {}
    try:
        return json.loads(fernet().decrypt(token.encode()))
    except InvalidToken:
        pass
    # Keys may have been rotated since they were read (a file changed within the stat's
    # granularity): read them again before giving up.
    try:
        return json.loads(fernet(fresh=True).decrypt(token.encode()))
    except InvalidToken:
        raise UnreadableSecrets("none of the encryption keys decrypts these secrets") from None


def rotate(*, token: str) -> str:
    """The token re-encrypted with the first of the configured keys."""
    if not token:
        return ""
    try:
        return fernet().rotate(token.encode()).decode()
    except InvalidToken:
        raise UnreadableSecrets("none of the encryption keys decrypts these secrets") from None


def differences(*, before: str, after: str) -> dict[str, list]:
    """The values that differ between two tokens, by name, each as [MASK or None, MASK or
    None] (None on the side it is missing from): what changed, never what it is."""
    if before == after:
        return {}
    old, new = decrypt(token=before), decrypt(token=after)
    return {
        name: [MASK if name in old else None, MASK if name in new else None]
        for name in sorted(set(old) | set(new))
        if old.get(name) != new.get(name)
    }
