"""Checking a forge's push webhook: who sent it (GitHub, GitLab, Gitea or Forgejo), that it
carries the source's secret, and what it says was pushed.

Pure: headers and body in, a Delivery or a Refusal out; no Django.
"""

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass

MAX_BODY = 1024 * 1024


class Refusal(Exception):
    """A delivery that is not accepted: `status` is the HTTP answer, the message the reason."""

    def __init__(self, message: str, status: int = 403):
        super().__init__(message)
        self.message, self.status = message, status


@dataclass(frozen=True)
class Delivery:
    forge: str
    delivery: str  # the forge's id of this delivery: the same id again is a replay
    event: str  # "push", "ping", or another the forge names
    ref: str = ""  # refs/heads/<branch> or refs/tags/<tag>
    after: str = ""  # the commit pushed

    @property
    def is_push(self) -> bool:
        return self.event in ("push", "Push Hook", "Tag Push Hook", "tag_push")

    def targets(self, branch: str) -> bool:
        return self.ref in (f"refs/heads/{branch}", f"refs/tags/{branch}")


def verify(*, headers: Mapping[str, str], body: bytes, secret: str) -> Delivery:
    """The delivery, if it carries `secret` as its forge does; else raises Refusal.

    `headers` are looked up case-insensitively (give them lower-cased keys)."""
    if len(body) > MAX_BODY:
        raise Refusal(f"the body is larger than {MAX_BODY} bytes", status=413)
    if not secret:
        raise Refusal("this source has no webhook secret; set one to accept pushes")
    given = {key.lower(): value for key, value in headers.items()}
    if "x-hub-signature-256" in given or "x-github-event" in given:
        forge = "github"
        _check_hmac(given.get("x-hub-signature-256", ""), body, secret, prefix="sha256=")
        delivery, event = given.get("x-github-delivery", ""), given.get("x-github-event", "")
    elif "x-gitlab-token" in given or "x-gitlab-event" in given:
        forge = "gitlab"
        if not hmac.compare_digest(given.get("x-gitlab-token", "").encode(), secret.encode()):
            raise Refusal("the X-Gitlab-Token header does not match the source's secret")
        delivery = given.get("x-gitlab-event-uuid", "") or given.get("idempotency-key", "")
        event = given.get("x-gitlab-event", "")
    elif any(name in given for name in ("x-gitea-signature", "x-forgejo-signature")):
        forge = "forgejo" if "x-forgejo-signature" in given else "gitea"
        signature = given.get("x-forgejo-signature") or given.get("x-gitea-signature", "")
        _check_hmac(signature, body, secret, prefix="")
        delivery = given.get("x-forgejo-delivery") or given.get("x-gitea-delivery", "")
        event = given.get("x-forgejo-event") or given.get("x-gitea-event", "push")
    else:
        raise Refusal(
            "no signature: expected X-Hub-Signature-256 (GitHub), X-Gitlab-Token (GitLab) "
            "or X-Gitea-Signature / X-Forgejo-Signature (Gitea, Forgejo)"
        )
    if not delivery.strip():
        raise Refusal(f"the {forge} delivery has no delivery id", status=400)
    if len(delivery) > 200:
        raise Refusal("the delivery id is longer than 200 characters", status=400)
    if event == "ping":
        return Delivery(forge=forge, delivery=delivery, event=event)
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Refusal("the body is not JSON", status=400) from None
    if not isinstance(payload, dict):
        raise Refusal("the body is not a JSON object", status=400)
    ref, after = payload.get("ref", ""), payload.get("after", "")
    if not isinstance(ref, str) or not isinstance(after, str):
        raise Refusal("`ref` and `after` must be strings", status=400)
    return Delivery(forge=forge, delivery=delivery, event=event, ref=ref, after=after[:40])


def sign(*, body: bytes, secret: str) -> str:
    """The hex HMAC-SHA256 of `body` with `secret`, as GitHub (after "sha256=") and Gitea send."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _check_hmac(signature: str, body: bytes, secret: str, *, prefix: str) -> None:
    if not signature:
        raise Refusal("the signature header is missing")
    if prefix and not signature.startswith(prefix):
        raise Refusal(f"the signature does not start with {prefix!r}")
    expected = prefix + sign(body=body, secret=secret)
    if not hmac.compare_digest(signature.strip().encode(), expected.encode()):
        raise Refusal("the signature does not match the body signed with the source's secret")
