from drf_spectacular.extensions import OpenApiAuthenticationExtension


class TokenScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI schema describes the API's tokens: one key, sent under either scheme
    (accounts.auth.SCHEMES)."""

    target_class = "accounts.auth.AuditedTokenAuthentication"
    name = ["tokenAuth", "bearerAuth"]

    def get_security_definition(self, auto_schema):
        return [
            {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": 'A personal API token, sent as "Token <key>".',
            },
            {
                "type": "http",
                "scheme": "bearer",
                "description": 'The same API token, sent as "Bearer <key>".',
            },
        ]

    def get_security_requirement(self, auto_schema):
        return [{"tokenAuth": []}, {"bearerAuth": []}]
