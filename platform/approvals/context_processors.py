from approvals.selectors import pending_for_count


def pending(request) -> dict:
    """How many requests wait for the signed-in user's decision, for the navigation."""
    user = getattr(request, "user", None)
    return {"approvals_waiting": pending_for_count(user=user) if user is not None else 0}
