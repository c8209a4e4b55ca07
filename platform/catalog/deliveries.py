"""Receiving a source's push webhook: checked (catalog.webhooks), recorded once, and the
sync sent to the worker once the delivery's row commits."""

from collections.abc import Mapping
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from audit import services as audit
from catalog import webhooks
from catalog.models import CatalogSource, SourceKind, WebhookDelivery
from catalog.sync import request_sync
from core import secrets


@dataclass(frozen=True)
class Answer:
    status: int
    detail: str


def receive_webhook(*, source: CatalogSource, headers: Mapping[str, str], body: bytes) -> Answer:
    """Accept a push to the source's branch or tag (202, a sync requested), answer a ping or
    a push elsewhere (200, nothing done); raises webhooks.Refusal (audited, nothing else
    changed) for a bad signature, a replayed delivery or a body that is not a push."""
    try:
        if source.kind != SourceKind.GIT:
            raise webhooks.Refusal("a folder source takes no webhooks", status=404)
        secret = secrets.decrypt(token=source.webhook_secret).get("secret", "")
        delivery = webhooks.verify(headers=headers, body=body, secret=secret)
        if delivery.event == "ping":
            return Answer(200, "pong: the signature matches this source's secret")
        if not delivery.is_push:
            return Answer(200, f"ignored: {delivery.event!r} is not a push event")
        if not delivery.targets(source.branch):
            return Answer(
                200, f"ignored: a push to {delivery.ref!r}; this source reads {source.branch!r}"
            )
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
        raise webhooks.Refusal(
            f"delivery {delivery.delivery} was already received (a replay); nothing done",
            status=409,
        ) from None
    audit.record(
        action="catalog.webhook_received",
        obj=source,
        label=source.name,
        changes={"delivery": [None, delivery.delivery], "commit": [None, delivery.after]},
    )
    request_sync(source=source)
