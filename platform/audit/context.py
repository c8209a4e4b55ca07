"""Who and from where, for the events recorded while serving a request.

Set by `AuditContextMiddleware` and by the API's token authentication (`set_token`);
outside a request (beat, workers) nobody is known, and events are the system's unless the
caller names a user.
"""

import contextvars
from dataclasses import dataclass, replace

from core.addresses import client_address


@dataclass(frozen=True)
class Origin:
    address: str | None = None
    token: str = ""
    user: object = None


_origin: contextvars.ContextVar[Origin | None] = contextvars.ContextVar(
    "audit_origin", default=None
)
NOWHERE = Origin()


def current() -> Origin:
    """The origin of the request being served; NOWHERE outside a request."""
    return _origin.get() or NOWHERE


def set_token(token_key: str) -> None:
    _origin.set(replace(current(), token=token_key))


def request_user():
    """The signed-in user of the request being served, for forms that save without a view
    (Django's admin); None outside a request or when nobody is signed in."""
    user = current().user
    return user if user is not None and getattr(user, "is_authenticated", False) else None


class AuditContextMiddleware:
    """Notes the client's address (behind trusted proxies only, see core.addresses) and
    user for the events recorded while serving its request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        origin = Origin(address=client_address(request), user=getattr(request, "user", None))
        reset = _origin.set(origin)
        try:
            return self.get_response(request)
        finally:
            _origin.reset(reset)
