from core import permissions


def roles(request) -> dict:
    """The signed-in user's role across teams, for the navigation."""
    role = permissions.global_role(request.user) if hasattr(request, "user") else None
    return {"global_role": role, "is_platform_engineer": role == permissions.PLATFORM}
