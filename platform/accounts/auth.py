from knox.auth import TokenAuthentication

from audit import context as audit_context


class AuditedTokenAuthentication(TokenAuthentication):
    """knox's token authentication, noting the token on the audit events of the request."""

    def authenticate_credentials(self, token):
        user, auth_token = super().authenticate_credentials(token)
        audit_context.set_token(auth_token.token_key)
        return user, auth_token
