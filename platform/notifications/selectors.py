from django.db.models import QuerySet

from core.types import AnyUser
from notifications.models import Delivery, Destination
from teams.models import Team

RECENT_DELIVERIES = 50


def destinations_of(*, user: AnyUser, team: Team) -> QuerySet[Destination]:
    return Destination.objects.restrict(user).filter(team=team).order_by("name")


def recent_deliveries(*, user: AnyUser, team: Team) -> QuerySet[Delivery]:
    return (
        Delivery.objects.restrict(user)
        .filter(destination__team=team)
        .select_related("destination", "service")
        .order_by("-created_at", "-pk")[:RECENT_DELIVERIES]
    )


def deliveries_of(*, user: AnyUser, destination: Destination) -> QuerySet[Delivery]:
    """The destination's deliveries, newest first, with what the API shows of them."""
    return (
        Delivery.objects.restrict(user)
        .filter(destination=destination)
        .select_related("destination")
        .order_by("-created_at", "-pk")
    )
