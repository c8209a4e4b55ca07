"""Reading credentials: the list platform engineers see (never a secret value) and what a
run is given (the worker's side, decrypted)."""

from collections.abc import Sequence

from django.db.models import QuerySet

from core import secrets
from core.access import Injection
from core.types import AnyUser
from credentials import types
from credentials.models import Credential, CredentialType
from teams import permissions


class UnknownCredential(Exception):
    """A template names a credential that does not exist."""


def injection_for(*, names: Sequence[str]) -> Injection:
    """What the named credentials give a run, merged in order (each decrypted once).

    Raises UnknownCredential naming the first credential that does not exist."""
    names = list(dict.fromkeys(names))
    found = {c.name: c for c in Credential.objects.filter(name__in=names)}
    for name in names:
        if name not in found:
            raise UnknownCredential(
                f"The template uses the credential {name!r}, which does not exist: a platform "
                "engineer creates it under Credentials."
            )
    total = Injection()
    for name in names:
        credential = found[name]
        total = total + types.injection(
            type=credential.type,
            name=credential.name,
            values=credential.values,
            secret=secrets.decrypt(token=credential.secrets),
        )
    return total


def credentials_for(*, user: AnyUser) -> QuerySet[Credential]:
    """The credentials the user may see (platform engineers: all), with their templates."""
    return permissions.restrict(
        Credential.objects.prefetch_related("templates").order_by("name"), user=user
    )


def fields_of(credential: Credential) -> dict[str, str]:
    """The credential's fields as shown: plain values, and PLACEHOLDER for each secret one
    that is set ("" when not); for `env`, its variables."""
    stored = secrets.decrypt(token=credential.secrets)
    shown = {**credential.values, **dict.fromkeys(stored, secrets.PLACEHOLDER)}
    kind = types.KINDS[credential.type]
    if kind.variables:
        return dict(sorted(shown.items()))
    return {field.name: shown.get(field.name, "") for field in kind.fields}


def plain_variables_of(credential: Credential) -> list[str]:
    """The variables of an `env` credential that are shown and not masked."""
    return sorted(credential.values) if credential.type == CredentialType.ENV else []


def template_names(credential: Credential) -> list[str]:
    """The names of the templates that use the credential (prefetched by credentials_for)."""
    return sorted(template.slug for template in credential.templates.all())
