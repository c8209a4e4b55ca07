"""Teams' notification destinations, and sending to them.

`notify` is called inside the transaction that makes the news (a run ending, a request
waiting): it records one delivery per interested destination, and the deliveries are sent
by a Celery task once that transaction commits. Sending is slow I/O: it happens outside
any transaction, and a failure is retried with backoff, each attempt recorded. A delivery
whose task was lost (the broker away at the commit, a worker killed mid-send) is sent again
by beat's `resend_lost_deliveries`.
"""

import logging
from collections.abc import Callable, Collection
from datetime import timedelta
from typing import Any, cast
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from audit import services as audit
from core import dispatch, masking, secrets, states
from core.errors import InvalidRequest
from core.types import AnyUser
from notifications import outbound
from notifications.models import TEST_EVENT, Delivery, Destination, Event
from notifications.states import DELIVERY_TRANSITIONS, DeliveryStatus
from provisioning.models import Service
from teams import permissions
from teams.models import Team

# The task (notifications.tasks) that makes a delivery's next attempt.
DELIVER_TASK = "notifications.deliver"

log = logging.getLogger(__name__)

FAILED = "Delivery failed."
REFUSED = "Delivery refused: notifications go only to public addresses and allowed services."
MIN_SECRET = 6
MAX_LOGGED = 2000


def add_destination(
    *, user: AnyUser, team: Team, name: str, url: str, events: Collection[str]
) -> Destination:
    """A new destination for the team (its admins and platform engineers add them)."""
    permissions.check(user, permissions.MANAGE, team)
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name or len(name) > 100:
        errors["name"] = ["Give the destination a name of at most 100 characters."]
    url = (url or "").strip()
    try:
        plugin = outbound.check(url, allowed=settings.GANGPLANK_NOTIFY_ALLOWED_NETWORKS)
    except outbound.Refused as exc:
        errors["url"] = [str(exc)]
    unknown = sorted(set(events or []) - set(Event.values))
    if not events or unknown:
        errors["events"] = [f"Choose among: {', '.join(Event.values)}."]
    if errors:
        raise InvalidRequest(errors)
    try:
        with transaction.atomic():
            destination = Destination.objects.create(
                team=team,
                name=name,
                secrets=secrets.encrypt(values={"url": url}),
                url_redacted=plugin.url(privacy=True)[:500],
                events=[e for e in Event.values if e in events],
                created_by=cast(User, user),
            )
            audit.record(
                action="destination.added",
                actor=user,
                obj=destination,
                team=team,
                changes={"events": [None, destination.events]},
            )
    except IntegrityError as exc:
        raise InvalidRequest({"name": [f"{team.slug} already has a destination {name}."]}) from exc
    return destination


def remove_destination(*, user: AnyUser, destination: Destination) -> None:
    permissions.check(user, permissions.MANAGE, destination.team)
    with transaction.atomic():
        audit.record(
            action="destination.removed", actor=user, obj=destination, team=destination.team
        )
        destination.delete()


def test_destination(*, user: AnyUser, destination: Destination) -> Delivery:
    """Send a test message to the destination now (after the commit)."""
    permissions.check(user, permissions.MANAGE, destination.team)
    with transaction.atomic():
        (delivery,) = _record(
            [destination],
            event=TEST_EVENT,
            title="Gangplank test message",
            body=f"{user.get_username()} tested the destination {destination.name} of "
            f"{destination.team.name}. If you read this, it works.",
        )
    return delivery


def notify(*, event: str, team: Team, title: str, body: str, service: Service | None = None) -> int:
    """Record a delivery for each of the team's destinations that want `event`; they are
    sent once the caller's transaction commits. Returns how many."""
    wanting = [d for d in team.destinations.all() if event in d.events]
    return len(_record(wanting, event=event, title=title, body=body, service=service))


def _record(
    destinations: Collection[Destination],
    *,
    event: str,
    title: str,
    body: str,
    service: Service | None = None,
) -> list[Delivery]:
    deliveries = Delivery.objects.bulk_create(
        Delivery(destination=d, event=event, service=service, title=title[:250], body=body)
        for d in destinations
    )
    for delivery in deliveries:
        delivery_id = delivery.pk
        # robust: a broker outage must not undo the news; the delivery stays pending and
        # resend_lost_deliveries sends it later.
        dispatch.send_on_commit(DELIVER_TASK, delivery_id, robust=True)
    return deliveries


def deliver(*, delivery_id: int) -> float | None:
    """Make the next attempt of a pending delivery; the seconds to wait before the attempt
    after it, or None when there is none (sent, given up, or nothing to do).

    The attempt is claimed with a conditional update on the attempts the row records, so no
    two messages (a retry, a re-send, a redelivery) make the same attempt, and none touches
    a delivery already sent or failed.
    """
    made = (
        Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING)
        .values_list("attempts", flat=True)
        .first()
    )
    if made is None:
        return None
    claimed = Delivery.objects.filter(
        pk=delivery_id, status=DeliveryStatus.PENDING, attempts=made
    ).update(attempts=F("attempts") + 1, last_attempt_at=timezone.now())
    if not claimed:
        return None
    attempt = made + 1
    delivery = Delivery.objects.select_related("destination").get(pk=delivery_id)
    url = secrets.decrypt(token=delivery.destination.secrets)["url"]
    error = _send(url, title=delivery.title, body=delivery.body, delivery_id=delivery_id)
    if not error:
        _finish(delivery, to=DeliveryStatus.SENT, sent_at=timezone.now(), error="")
        return None
    if attempt >= settings.GANGPLANK_NOTIFY_ATTEMPTS:
        _finish(delivery, to=DeliveryStatus.FAILED, error=error)
        return None
    Delivery.objects.filter(pk=delivery_id).update(error=error)
    # Exponential backoff: 1, 2, 4, ... times the base between attempts.
    return settings.GANGPLANK_NOTIFY_BACKOFF_SECONDS * 2 ** (attempt - 1)


def resend_after() -> timedelta:
    """How long a pending delivery may go without news (recorded, tried, re-sent) before its
    task counts as lost: four times the longest backoff, and at least ten minutes, so that
    neither a retry still waiting nor a send in progress is doubled."""
    longest = settings.GANGPLANK_NOTIFY_BACKOFF_SECONDS * 2 ** max(
        settings.GANGPLANK_NOTIFY_ATTEMPTS - 2, 0
    )
    return max(timedelta(minutes=10), timedelta(seconds=4 * longest))


def resend_lost_deliveries() -> int:
    """Send again the deliveries left pending without news for `resend_after`: their task was
    lost. Safe to run twice: a re-sent delivery waits that long again, and the claim makes a
    duplicate message send nothing."""
    limit = timezone.now() - resend_after()
    lost = Delivery.objects.filter(
        Q(last_attempt_at__isnull=True) | Q(last_attempt_at__lt=limit),
        Q(resent_at__isnull=True) | Q(resent_at__lt=limit),
        status=DeliveryStatus.PENDING,
        created_at__lt=limit,
    )
    sent = 0
    for delivery_id in lost.values_list("pk", flat=True):
        try:
            dispatch.send(DELIVER_TASK, delivery_id)
        except Exception:  # the broker is still away; the next round tries again
            log.warning("could not re-send delivery %s; will retry", delivery_id, exc_info=True)
            break
        Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING).update(
            resent_at=timezone.now()
        )
        sent += 1
    return sent


def _finish(delivery: Delivery, *, to: str, **fields: Any) -> None:
    states.move(
        Delivery.objects.filter(pk=delivery.pk), table=DELIVERY_TRANSITIONS, to=to, **fields
    )


def _send(url: str, *, title: str, body: str, delivery_id: int) -> str:
    """Send; "" on success, else the error recorded for the team. It is one of two generic
    messages: it must not tell a refused connection from an HTTP status, or a destination
    would scan ports and services. The details go to the server log, credentials masked
    (the URL itself never reaches the log)."""
    try:
        outbound.send(
            url, title=title, body=body, allowed=settings.GANGPLANK_NOTIFY_ALLOWED_NETWORKS
        )
    except outbound.Refused as exc:
        error, detail = REFUSED, str(exc)
    except outbound.Failed as exc:
        error, detail = FAILED, str(exc)
    else:
        return ""
    detail = _credentials_masker(url)(detail)[:MAX_LOGGED]
    log.warning("delivery %s: %s (%s)", delivery_id, error, detail)
    return error


def _credentials_masker(url: str) -> Callable[[str], str]:
    """A masker of the URL and of its parts that may be credentials: what is not the host
    name in its address (user, password, a token in the port's place, as telegram's), every
    path segment (Slack's, Discord's, Teams' webhook tokens), every query value. Parts
    shorter than MIN_SECRET (a format, a flag) are left: they give nothing away."""
    parts = urlsplit(url)
    userinfo, _, hostport = parts.netloc.rpartition("@")
    candidates = [
        url,
        *userinfo.split(":"),
        hostport.rpartition(":")[2] if ":" in hostport else "",
        *parts.path.split("/"),
        *(pair.partition("=")[2] for pair in parts.query.split("&")),
    ]
    return masking.masker(
        variant
        for candidate in candidates
        for variant in {candidate, unquote(candidate)}
        if len(variant) >= MIN_SECRET
    )
