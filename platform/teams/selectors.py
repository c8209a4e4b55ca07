from django.db.models import QuerySet

from core.types import AnyUser
from teams import permissions
from teams.models import Team


def teams_to_request_for(*, user: AnyUser) -> QuerySet[Team]:
    """The teams `user` may request services for: the portal's form and the API's body offer
    these alike (a team seen but not theirs is refused with a 403 before either is read)."""
    return Team.objects.restrict(user, permissions.CHANGE)
