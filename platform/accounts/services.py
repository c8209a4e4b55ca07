from datetime import datetime
from typing import cast

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from accounts.models import ApiToken
from audit import services as audit
from core.errors import InvalidRequest
from core.types import AnyUser

# What the admin may change of a user that says who they are and what they may do.
AUDITED_FIELDS = ("username", "email", "first_name", "last_name", "is_active", "is_staff",
                  "is_superuser")  # fmt: skip


@transaction.atomic
def create_token(
    *, user: AnyUser, name: str, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """A new token for `user`; the key is returned once and only its hash is kept."""
    name = (name or "").strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = ["Give the token a name, to know it again."]
    if expires_at is not None and expires_at <= timezone.now():
        errors["expires_at"] = ["Must be in the future."]
    if errors:
        raise InvalidRequest(errors)
    expiry = expires_at - timezone.now() if expires_at else None
    token, key = ApiToken.objects.create(user=user, expiry=expiry, name=name)
    audit.record(action="token.created", actor=user, obj=cast(User, user),
                 changes={"token": [None, f"{name} ({token.token_key}…)"]})  # fmt: skip
    return token, key


@transaction.atomic
def revoke_token(*, user: AnyUser, token_key: str) -> int:
    """Delete the user's tokens with that key (its first characters); return how many."""
    tokens = ApiToken.objects.filter(user=user, token_key=token_key)
    names = [f"{t.name} ({t.token_key}…)" for t in tokens]
    deleted, _ = tokens.delete()
    for name in names:
        audit.record(
            action="token.revoked",
            actor=user,
            obj=cast(User, user),
            changes={"token": [name, None]},
        )
    return deleted


@transaction.atomic
def set_password(*, user: User, password: str | None, actor: AnyUser | None = None) -> int:
    """The one way a password changes (portal, admin, `changepassword`): set it (None makes
    it unusable), revoke every API token of the user, and record it; return the tokens
    revoked. The user's other sessions end by themselves: Django checks each session's
    stored hash of the password on every request. The caller keeps its own session with
    `update_session_auth_hash`."""
    if password is None:
        user.set_unusable_password()
    else:
        user.set_password(password)
    user.save(update_fields=["password"])
    tokens = ApiToken.objects.filter(user=user)
    names = [f"{t.name} ({t.token_key}…)" for t in tokens]
    revoked, _ = tokens.delete()
    audit.record(action="auth.password_changed", actor=actor, obj=user,
                 changes={"tokens": [names, []]} if names else {})  # fmt: skip
    return revoked


@transaction.atomic
def save_user(*, user: User, actor: AnyUser, created: bool) -> None:
    """Save a user edited in Django's admin and record what changed of `AUDITED_FIELDS`
    (the admin has no other way to change a user's flags)."""
    before: dict[str, object] = {}
    if not created:
        before = User.objects.filter(pk=user.pk).values(*AUDITED_FIELDS).first() or {}
    user.save()
    changes = audit.diff(before, {field: getattr(user, field) for field in AUDITED_FIELDS})
    if changes:
        action = "user.created" if created else "user.changed"
        audit.record(action=action, actor=actor, obj=user, changes=changes)
