"""Receiving a source's push webhook: checked (catalog.webhooks), recorded once, and the
sync sent to the worker once the delivery's row commits."""

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from audit import services as audit
from catalog import webhooks
from catalog.models import CatalogSource, SourceKind, WebhookDelivery
from catalog.sync import request_sync
from core import secrets

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Answer:
    status: int
    detail: str


def receive_webhook(*, source: CatalogSource, headers: Mapping[str, str], body: bytes) -> Answer:
    """Accept a push to the source's branch or tag (202, a sync requested), answer a ping or
    a push elsewhere (200, nothing done); raises webhooks.Refusal, nothing changed, for a bad
    signature or a body that is not a push (logged: anyone may send those, they are not
    audited) and for a replay of a signed delivery (audited)."""
    try:
        if source.kind != SourceKind.GIT:
            raise webhooks.Refusal("a folder source takes no webhooks", status=404)
        secret = secrets.decrypt(token=source.webhook_secret).get("secret", "")
        delivery = webhooks.verify(headers=headers, body=body, secret=secret)
    except webhooks.Refusal as refusal:
        logger.warning(
            "webhook to catalogue source %s refused (%s): %s",
            source.name,
            refusal.status,
            refusal.message,
        )
        raise
    if delivery.event == "ping":
        return Answer(200, "pong: the signature matches this source's secret")
    if not delivery.is_push:
        return Answer(200, f"ignored: {delivery.event!r} is not a push event")
    if not delivery.targets(source.branch):
        return Answer(
            200, f"ignored: a push to {delivery.ref!r}; this source reads {source.branch!r}"
        )
    try:
        _record(source, delivery)
    except webhooks.Refusal as refusal:
        audit.record(
            action="catalog.webhook_refused",
            obj=source,
            label=source.name,
            changes={"reason": [None, refusal.message]},
        )
        raise
    return Answer(202, f"accepted: delivery {delivery.delivery}; the source will be synced")


@transaction.atomic
def _record(source: CatalogSource, delivery: webhooks.Delivery) -> None:
    try:
        with transaction.atomic():
            WebhookDelivery.objects.create(
                source=source, delivery=delivery.delivery, commit=delivery.after
            )
    except IntegrityError:
        received = WebhookDelivery.objects.filter(source=source)
        if received.filter(delivery=delivery.delivery).exists():
            what = f"delivery {delivery.delivery}"
        else:
            what = f"commit {delivery.after}"
        raise webhooks.Refusal(
            f"{what} was already received (a replay); nothing done", status=409
        ) from None
    audit.record(
        action="catalog.webhook_received",
        obj=source,
        label=source.name,
        changes={"delivery": [None, delivery.delivery], "commit": [None, delivery.after]},
    )
    request_sync(source=source)
