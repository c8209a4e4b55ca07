"""What the portal shows of services and runs: the buttons a page offers, the outputs with
their titles, and the service's timeline. Built from the selectors' reads and the rules; the
decisions are the rules', the labels are here."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from django.contrib import messages
from django.http import HttpResponse

from catalog.actions import Action
from catalog.models import TemplateVersion
from core import secrets
from core.durations import spoken
from core.titles import titled
from provisioning import inputs as inputs_
from provisioning import rules, selectors
from provisioning.models import Run, Service, ServiceEvent
from provisioning.states import RUN_IN_PROGRESS, RunAction, ServiceStatus, available_actions

# --- what the service page and the run page offer -------------------------------------------


@dataclass(frozen=True)
class ServiceActions:
    """Which of the service page's buttons show, and whether they can be pressed now."""

    in_progress: bool
    update: bool = False
    upgrade: TemplateVersion | None = None
    deprovision: bool = False
    # Deprovision of a service whose provision failed: removing what it left.
    cleanup: bool = False
    retry: Run | None = None
    cancel: Run | None = None
    extend: bool = False
    upgrade_available: TemplateVersion | None = None
    # The template's custom actions (catalog.actions) the service's status allows.
    custom: tuple[Action, ...] = ()

    @property
    def deprovision_label(self) -> str:
        return "Clean up" if self.cleanup else "Deprovision"

    @property
    def offered(self) -> bool:
        """Whether the page has any action to show at all."""
        return any(
            [
                self.update,
                self.upgrade,
                self.deprovision,
                self.retry,
                self.cancel,
                self.extend,
                self.custom,
            ]
        )


def service_actions(service: Service) -> ServiceActions:
    """The actions the service offers, from the one table in states.available_actions.

    While a run is in progress, the buttons are those of the status the run started from
    (shown disabled), and Cancel.
    """
    last = service.last_run
    in_progress = last is not None and last.status in RUN_IN_PROGRESS
    status = service.status
    if in_progress and last is not None and last.service_status_before:
        status = last.service_status_before
    # Waiting in a cascade, it runs nothing until its own deprovision (rules.action_refusal).
    waiting = service.deprovision_pending
    allowed = () if waiting else available_actions(status, service.failed_action)
    live = service.status != ServiceStatus.DEPROVISIONED
    target = rules.upgrade_target(service) if live else None
    retry = None
    if not in_progress and last is not None and rules.can_retry(run=last, service=service):
        retry = last
    # While a run goes on, those of the status it started from (custom actions never move
    # the service), shown disabled.
    custom = (
        []
        if waiting
        else rules.offered_actions(
            service.template_version, status=status, failed_action=service.failed_action
        )
    )
    return ServiceActions(
        in_progress=in_progress,
        update=RunAction.UPDATE in allowed,
        upgrade=target if RunAction.UPGRADE in allowed else None,
        deprovision=RunAction.DEPROVISION in allowed,
        cleanup=rules.is_cleanup(status=status, failed_action=service.failed_action),
        retry=retry,
        cancel=last if in_progress else None,
        extend=bool(service.expires_at) and live,
        upgrade_available=target,
        custom=tuple(custom),
    )


@dataclass(frozen=True)
class RunActions:
    cancel: bool
    retry: bool
    # A preview that can be applied: the action applying it runs ("update", "upgrade").
    apply: str = ""


def run_actions(run: Run) -> RunActions:
    """Cancel while the run is queued or running; retry as rules.retry_refusal allows; apply
    a preview as rules.apply_refusal allows."""
    service = run.service
    apply = ""
    if run.is_preview and rules.apply_refusal(run=run, service=service) is None:
        apply = rules.applied_action(run=run, service=service)
    return RunActions(
        cancel=run.status in RUN_IN_PROGRESS,
        retry=rules.can_retry(run=run, service=service),
        apply=apply,
    )


@dataclass(frozen=True)
class RunLive:
    """What a run's status fragment shows, polled while the run goes on: the run (its status),
    how long it has waited, run or taken, and its progress from its events."""

    run: Run
    elapsed: str
    progress: selectors.RunProgress


def run_live(run: Run, *, now: datetime) -> RunLive:
    """The run's status fragment as of `now`: "waiting for 3 s" until a worker takes it,
    "running for 12 s" on one, "took 4.2 s" once it has ended."""
    if run.is_finished:
        took = run.started_at and run.finished_at and (run.finished_at - run.started_at)
        elapsed = f"took {spoken(took.total_seconds())}" if took else ""
    elif run.started_at:
        elapsed = f"running for {spoken((now - run.started_at).total_seconds(), tenths=False)}"
    else:
        elapsed = f"waiting for {spoken((now - run.created_at).total_seconds(), tenths=False)}"
    return RunLive(run=run, elapsed=elapsed, progress=selectors.run_progress(run=run))


def titled_outputs(service: Service) -> list[tuple[str, str, object]]:
    """The service's outputs as (key, title, value): declared ones first, in manifest order.
    None once deprovisioned: what they named is gone."""
    if service.status == ServiceStatus.DEPROVISIONED:
        return []
    return titled(service.outputs, service.template_version.outputs)


# --- the service's timeline -----------------------------------------------------------------

TIMELINE_LIMIT = 100
# Actions whose inputs are shown against those the service had (set by DEPLOY_ACTIONS).
INPUT_CHANGING_ACTIONS = (RunAction.UPDATE, RunAction.UPGRADE, RunAction.PREVIEW)
# Of entries at the same moment, the higher rank shows first: a run's status change above the
# run (they share a transaction), and what other apps add (notes) above both.
RUN_RANK, EVENT_RANK, ADDED_RANK = 0, 1, 2


class InputChange(NamedTuple):
    name: str
    before: object
    after: object
    added: bool = False
    removed: bool = False


@dataclass
class TimelineEntry:
    """One line of a service's timeline: a run, an event (status change, extension, drift),
    or an entry another app adds (a note), shown by its own `template`."""

    at: datetime
    who: str
    kind: str  # "run", "event", or the kind another app adds ("note")
    item: Any  # the run, the event, the note
    rank: int = ADDED_RANK
    template: str = ""
    # For runs that change inputs: what they change against the inputs the service had.
    changed: list[InputChange] = field(default_factory=list)

    @property
    def run(self) -> Run | None:
        return self.item if self.kind == "run" else None

    @property
    def event(self) -> ServiceEvent | None:
        return self.item if self.kind == "event" else None


def timeline(service: Service, *, limit: int = TIMELINE_LIMIT) -> list[TimelineEntry]:
    """The service's runs and events merged, newest first, at most `limit` of them (other
    apps add theirs with `merged`).

    Three queries whatever the service's history: the newest runs and events, and the
    inputs of the runs that set inputs (for the "size: small → large" lines).
    """
    baseline = selectors.input_baselines(service)
    entries = [
        TimelineEntry(
            at=run.created_at,
            who=run.created_by.get_username() if run.created_by else _system(run),
            kind="run",
            item=run,
            rank=RUN_RANK,
            changed=_input_changes(baseline(run.pk), (run.inputs, run.secrets))
            if run.action in INPUT_CHANGING_ACTIONS
            else [],
        )
        for run in selectors.timeline_runs(service, limit=limit)
    ]
    entries += [
        TimelineEntry(
            at=event.created_at,
            who=event.actor.get_username() if event.actor else "system",
            kind="event",
            item=event,
            rank=EVENT_RANK,
        )
        for event in selectors.timeline_events(service, limit=limit)
    ]
    return merged(entries, [], limit=limit)


def merged(
    entries: Iterable[TimelineEntry], more: Iterable[TimelineEntry], *, limit: int = TIMELINE_LIMIT
) -> list[TimelineEntry]:
    """`entries` and `more`, newest first, at most `limit` of them."""
    everything = [*entries, *more]
    everything.sort(key=lambda e: (e.at, e.rank, e.item.pk), reverse=True)
    return everything[:limit]


def _system(run: Run) -> str:
    return f"system ({run.get_trigger_display().lower()})"


def _input_changes(before: tuple[dict, str] | None, after: tuple[dict, str]) -> list[InputChange]:
    """What changed between two (inputs, encrypted secrets); a secret as ******** -> ********
    (inputs.changes masks it: its value never reaches the page)."""
    if before is None:
        return []
    (before_inputs, before_token), (after_inputs, after_token) = before, after
    try:
        changes = inputs_.changes(
            before=before_inputs,
            after=after_inputs,
            before_secrets=before_token,
            after_secrets=after_token,
        )
    except secrets.UnreadableSecrets:
        # No key reads them any more: only the placeholders tell (a secret added or removed).
        changes = inputs_.changes(
            before=before_inputs, after=after_inputs, before_secrets="", after_secrets=""
        )
    return [
        InputChange(
            name, old, new, added=name not in before_inputs, removed=name not in after_inputs
        )
        for name, (old, new) in changes.items()
    ]


def announcement(run: Run, *, queued: str) -> tuple[int, str]:
    """What to tell whoever queued `run` (a message level and text): `queued`, or whom it
    waits for when its template wants an approval."""
    if run.is_awaiting_approval:
        who = run.approval.approvers_label
        return messages.INFO, f"{run.action_label} requested: it waits for {who}."
    return messages.SUCCESS, queued


# --- the raw log, for the portal and the API ------------------------------------------------

LOG_ARCHIVED_HEADER = "X-Gangplank-Log-Archived"


def log_text_response(run: Run) -> HttpResponse:
    """The run's whole log as plain text; an archived one says so in a header (its time, or
    "missing" when its file is gone: the text then says why it cannot be shown)."""
    response = HttpResponse(selectors.log_text(run=run), content_type="text/plain; charset=utf-8")
    if run.log_archived_at is not None:
        response[LOG_ARCHIVED_HEADER] = run.log_archived_at.isoformat()
    return response
