"""What a template gives and asks before anyone requests it: its lifetime, its approval rule
and who decides, the credentials and hosts its runs use, its version, changelog and icon.

`template_summaries` is the one place that builds this: the template's page (the request
form), the catalogue's cards and `/api/templates/` all show what it returns.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from catalog import changelog, channels, icons, selectors, uses
from catalog.approval import ACTIONS, PLATFORM
from catalog.changelog import Entry
from catalog.choice_specs import choice_sources
from catalog.models import Template, TemplateVersion
from core.types import AnyUser

_UNITS = (
    (timedelta(days=1), "day"),
    (timedelta(hours=1), "hour"),
    (timedelta(minutes=1), "minute"),
    (timedelta(seconds=1), "second"),
)


def spoken(duration: timedelta) -> str:
    """'14 days', '1 hour', '90 seconds': a duration in the largest whole unit."""
    for unit, name in _UNITS:
        if duration % unit == timedelta(0):
            count = duration // unit
            return f"{count} {name}{'' if count == 1 else 's'}"
    return str(duration)


def _word(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _either(words: list[str]) -> str:
    """'a', 'a or b', 'a, b or c'."""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


@dataclass(frozen=True)
class Lifetime:
    default: str  # as the manifest declares them: 14d, 90d
    max: str
    default_duration: timedelta
    max_duration: timedelta

    @property
    def default_words(self) -> str:
        return spoken(self.default_duration)

    @property
    def max_words(self) -> str:
        return spoken(self.max_duration)

    @property
    def default_seconds(self) -> int:
        return int(self.default_duration.total_seconds())

    @property
    def max_seconds(self) -> int:
        return int(self.max_duration.total_seconds())

    @property
    def text(self) -> str:
        return (
            f"A service expires {spoken(self.default_duration)} after it is requested and is "
            f"then deprovisioned; its team can extend it to at most "
            f"{spoken(self.max_duration)} from its creation."
        )


@dataclass(frozen=True)
class Condition:
    input: str
    title: str
    values: tuple


@dataclass(frozen=True)
class ApprovalNeed:
    approvers: str  # "platform" or a team's slug, as the manifest declares it
    approvers_label: str
    actions: tuple[str, ...]
    conditions: tuple[Condition, ...]
    expires: timedelta

    @property
    def always(self) -> bool:
        return not self.conditions

    @property
    def expires_seconds(self) -> int:
        return int(self.expires.total_seconds())

    @property
    def expires_words(self) -> str:
        return spoken(self.expires)

    @property
    def for_requests(self) -> bool:
        """Whether a new service's provision may wait (the request form's question)."""
        return "provision" in self.actions

    @property
    def text(self) -> str:
        when = " and ".join(
            f"{c.title} is {_either([_word(v) for v in c.values])}" for c in self.conditions
        )
        actions = _either(list(self.actions))
        return (
            f"Requests to {actions} wait for approval by {self.approvers_label}"
            f"{f' when {when}' if when else ''}; undecided ones lapse after "
            f"{spoken(self.expires)}."
        )


@dataclass(frozen=True)
class UsedCredential:
    name: str
    type: str
    type_label: str


@dataclass(frozen=True)
class HostChoice:
    input: str
    title: str
    inventory: str
    group: str


@dataclass(frozen=True)
class TemplateSummary:
    version: str
    icon: str
    lifetime: Lifetime | None
    approval: ApprovalNeed | None
    credentials: tuple[UsedCredential, ...]
    targets: dict | None  # {inventory, group}: every host of it, on every run
    host_choices: tuple[HostChoice, ...]
    changelog: tuple[Entry, ...]
    # The version summarized is the template's preview (shown to its audience only).
    preview: bool = False


def _lifetime(version: TemplateVersion) -> Lifetime | None:
    declared = version.manifest.get("lifetime")
    if not declared or version.lifetime_default is None or version.lifetime_max is None:
        return None
    return Lifetime(
        default=declared["default"],
        max=declared["max"],
        default_duration=version.lifetime_default,
        max_duration=version.lifetime_max,
    )


def _approval(version: TemplateVersion, team_names: dict[str, str]) -> ApprovalNeed | None:
    rule = version.approval_rule
    if rule is None:
        return None
    if rule.by_platform:
        label = "platform engineers"
    else:
        label = f"{team_names.get(rule.approvers, rule.approvers)} or platform engineers"
    properties = version.inputs_schema.get("properties") or {}
    return ApprovalNeed(
        approvers=rule.approvers,
        approvers_label=label,
        actions=tuple(action for action in ACTIONS if action in rule.actions),
        conditions=tuple(
            Condition(
                input=name,
                title=(properties.get(name) or {}).get("title") or name,
                values=tuple(expected if isinstance(expected, list) else [expected]),
            )
            for name, expected in rule.when.items()
        ),
        expires=rule.expires,
    )


def _host_choices(version: TemplateVersion) -> tuple[HostChoice, ...]:
    properties = version.inputs_schema.get("properties") or {}
    return tuple(
        HostChoice(
            input=name,
            title=properties[name].get("title") or name,
            inventory=source["inventory"],
            group=source["group"],
        )
        for name, source in choice_sources(version.inputs_schema, "inventory").items()
    )


def summarize(
    template: Template, *, team_names: dict[str, str], version: TemplateVersion | None = None
) -> TemplateSummary | None:
    """The summary of `version` of a template (by default its current version, else its
    preview), None when none has loaded. Its credentials are those of
    `template.credentials.all()` (prefetch them for a list) that this version names: during
    a preview the template holds its preview's too, which are its audience's to see."""
    version = version or template.current_version or template.preview_version
    if version is None:
        return None
    manifest = version.manifest
    named = set(uses.credential_names(manifest))
    return TemplateSummary(
        version=version.version,
        icon=icons.icon_for(manifest=manifest, category=template.category),
        lifetime=_lifetime(version),
        approval=_approval(version, team_names),
        credentials=tuple(
            UsedCredential(name=c.name, type=c.type, type_label=c.get_type_display())
            for c in template.credentials.all()
            if c.name in named
        ),
        targets=manifest.get("targets"),
        host_choices=_host_choices(version),
        changelog=tuple(changelog.entries(manifest.get("changelog"))),
        preview=version.pk == template.preview_version_id,
    )


def template_summaries(
    templates: Iterable[Template], *, user: AnyUser | None = None
) -> dict[int, TemplateSummary]:
    """Each template's summary by its pk, in one query for all the approving teams' names
    (besides the credentials, which the caller prefetches). With `user`: of the version
    shown to them (catalog.channels.offered_to_user: a preview for its audience)."""
    templates = list(templates)
    shown = {
        t.pk: channels.offered_to_user(template=t, user=user) if user is not None else None
        for t in templates
    }
    versions = [
        version
        for t in templates
        if (version := shown[t.pk] or t.current_version or t.preview_version) is not None
    ]
    slugs = {
        v.manifest["approval"].get("approvers", PLATFORM)
        for v in versions
        if "approval" in v.manifest
    } - {PLATFORM}
    names = selectors.team_names(slugs=slugs)
    return {
        t.pk: summary
        for t in templates
        if (summary := summarize(t, team_names=names, version=shown[t.pk])) is not None
    }
