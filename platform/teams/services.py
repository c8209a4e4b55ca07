from django.contrib.auth import get_user_model
from django.db import transaction

from core.errors import InvalidRequest
from teams.models import Membership, Team


@transaction.atomic
def create_team(*, slug: str, name: str, usernames: list[str] = ()) -> Team:
    """Create a team (or rename an existing one) and add the named users as members."""
    users = list(get_user_model().objects.filter(username__in=usernames))
    missing = sorted(set(usernames) - {user.username for user in users})
    if missing:
        raise InvalidRequest({"member": [f"No such user: {', '.join(missing)}."]})
    team, _ = Team.objects.update_or_create(slug=slug, defaults={"name": name})
    for user in users:
        Membership.objects.get_or_create(team=team, user=user)
    return team
