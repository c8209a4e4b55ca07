from knox.auth import TokenAuthentication
from rest_framework import exceptions
from rest_framework.authentication import get_authorization_header
from rest_framework.request import Request

from audit import context as audit_context

# The schemes a token may be sent with: knox's own ("Token <key>", as AUTH_HEADER_PREFIX
# says) and "Bearer <key>", which most HTTP clients and API tools send.
SCHEMES = (b"token", b"bearer")


class AuditedTokenAuthentication(TokenAuthentication):
    """knox's token authentication, also under the Bearer scheme, noting the token on the
    audit events of the request."""

    def authenticate(self, request: Request):
        header = get_authorization_header(request).split()
        if not header or header[0].lower() not in SCHEMES:
            return None  # another scheme: not ours to refuse (a proxy's Basic, say)
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                'Invalid Authorization header: send "Token <key>" (or "Bearer <key>").'
            )
        return self.authenticate_credentials(header[1])

    def authenticate_credentials(self, token):
        user, auth_token = super().authenticate_credentials(token)
        audit_context.set_token(auth_token.token_key)
        return user, auth_token
