from django.conf import settings

from teams import permissions


def roles(request) -> dict:
    """The signed-in user's role across teams, for the navigation; platform engineers are
    also told when runs are not sandboxed (GANGPLANK_SANDBOX=off)."""
    role = permissions.global_role(request.user) if hasattr(request, "user") else None
    is_platform_engineer = role == permissions.PLATFORM
    return {
        "global_role": role,
        "is_platform_engineer": is_platform_engineer,
        "unsandboxed": is_platform_engineer and not settings.GANGPLANK_SANDBOX,
    }
