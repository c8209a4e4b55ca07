"""Every portal page and API endpoint, for every role: the exact answer each gets (the
status code an allowed caller gets, a 403 with a reason, a 404, the login page) and, for
every allowed write, its effect in the database (and none when refused). A route without a
row here fails the suite."""

from datetime import timedelta

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from rest_framework.test import APIClient

from conftest import api_client_for
from factories import make_service

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "member", "other", "admin", "platform", "auditor")
# Sent away: the portal redirects to the login page, the API answers 401.
OUT = "out"


def cells(code, **others) -> dict:
    """Every signed-in role gets `code`, but for `others`; anonymous callers are sent away."""
    return {**dict.fromkeys(ROLES, code), "anonymous": OUT, **others}


# Who gets what, by kind of route, each with the exact answer an allowed caller gets.
def public(code=200):
    return dict.fromkeys(ROLES, code)


def signed_in(code=200):
    return cells(code)


def platform_only(code=200):
    return cells(403, platform=code)


def team_view(code=200):
    return cells(code, other=404)


def team_change(code):
    return cells(code, other=404, auditor=403)


def team_manage(code):
    return cells(code, other=404, auditor=403, member=403)


def audit(code=200):
    return cells(code, member=403, other=403)


def approval_view(code=200):
    return cells(code)  # the requesting team and the approving team ("other", beta) see it


def decide(code):
    return cells(403, other=code, platform=code)


NOWHERE = "json://127.0.0.1:9/"
NEW_INPUTS = {"inputs": {"message": "changed"}}
HOST = {"name": "web-9", "address": "10.0.0.9", "port": "22", "host_key": "KEY", "groups": ""}

# route name -> (method, url kwargs from the fixtures, body, expectations, the effect of an
# allowed write: a check of the database, true once the write is done)
MATRIX = {
    "home": ("get", {}, None, signed_in()),
    "login": ("get", {}, None, {**public(302), "anonymous": 200}),  # signed in: to home
    "logout": ("post", {}, None, dict.fromkeys(ROLES, OUT)),  # to the login page; runs last
    "healthz": ("get", {}, None, public()),
    "favicon": ("get", {}, None, public()),
    "catalog:index": ("get", {}, None, signed_in()),
    "accounts:tokens": ("get", {}, None, signed_in()),
    "password": ("get", {}, None, signed_in()),
    "audit": ("get", {}, None, audit()),
    "audit-export": ("get", {}, None, audit()),
    "api:audit-list": ("get", {}, None, audit()),
    "api:audit-detail": ("get", {"pk": "audit"}, None, audit()),
    "api:audit-export": ("get", {}, None, audit()),
    "accounts:revoke": ("post", {}, "own_token", signed_in(302), "token_revoked"),
    "catalog:status": ("get", {}, None, platform_only()),
    "catalog:sources": ("get", {}, None, platform_only()),
    "catalog:source-new": ("get", {}, None, platform_only()),
    "catalog:source-new#post": (
        "post",
        {},
        {"name": "portal-source", "url": "https://git.example.com/p.git", "branch": "main"},
        platform_only(200),  # the page that shows the secret once
        "portal_source_made",
    ),
    "catalog:source-edit": ("get", {"pk": "source"}, None, platform_only()),
    "catalog:source-edit#post": (
        "post",
        {"pk": "source"},
        {"name": "source", "url": "https://git.example.com/s.git", "branch": "edited"},
        platform_only(302),
        "source_edited",
    ),
    "catalog:source-delete": ("get", {"pk": "source"}, None, platform_only()),
    "catalog:source-delete#post": (
        "post",
        {"pk": "doomed_source"},
        None,
        platform_only(302),
        "doomed_source_gone",
    ),
    "catalog:source-sync": ("post", {"pk": "source"}, None, platform_only(302)),
    "catalog:source-promote": (
        "post",
        {"pk": "preview_source"},
        None,
        platform_only(302),
        "source_promoted",
    ),
    "catalog:source-rotate": (
        "post",
        {"pk": "rotated_source"},
        None,
        platform_only(200),
        "source_rotated",
    ),
    "api:catalog-source-list": ("get", {}, None, platform_only()),
    "api:catalog-source-list#post": (
        "post",
        {},
        {"name": "api-source", "url": "https://git.example.com/a.git"},
        platform_only(201),
        "api_source_made",
    ),
    "api:catalog-source-detail": ("get", {"pk": "source"}, None, platform_only()),
    "api:catalog-source-detail#patch": (
        "patch",
        {"pk": "source"},
        {"branch": "api-edited"},
        platform_only(200),
        "api_source_changed",
    ),
    "api:catalog-source-detail#delete": (
        "delete",
        {"pk": "doomed_api_source"},
        None,
        platform_only(204),
        "doomed_api_source_gone",
    ),
    "api:catalog-source-sync": ("post", {"pk": "source"}, {}, platform_only(202)),
    "api:catalog-source-rotate-secret": (
        "post",
        {"pk": "api_rotated_source"},
        {},
        platform_only(200),
        "api_source_rotated",
    ),
    "api:catalog-source-promote": (
        "post",
        {"pk": "api_preview_source"},
        {},
        platform_only(200),
        "api_source_promoted",
    ),
    "teams:index": ("get", {}, None, signed_in()),
    "teams:detail": ("get", {"slug": "team"}, None, team_view()),
    "teams:detail#post": (
        "post",
        {"slug": "team"},
        {"username": "newcomer", "role": "member"},
        team_manage(302),
        "newcomer_added",
    ),
    "teams:remove": (
        "post",
        {"slug": "team"},
        {"username": "bystander"},
        team_manage(302),
        "bystander_removed",
    ),
    "teams:quota": (
        "post",
        {"slug": "team"},
        {"template": "failing", "max_services": "9"},  # not the template requested below
        {**team_manage(302), "admin": 403},
        "quota_set",
    ),
    "provisioning:request": ("get", {"slug": "template"}, None, signed_in()),
    "provisioning:services": ("get", {}, None, signed_in()),
    "provisioning:service": ("get", {"pk": "service"}, None, team_view()),
    "provisioning:update": ("get", {"pk": "service"}, None, team_change(200)),
    "provisioning:upgrade": ("get", {"pk": "service"}, None, team_change(200)),
    "provisioning:deprovision": ("get", {"pk": "service"}, None, team_change(200)),
    "provisioning:extend": ("get", {"pk": "expiring"}, None, team_change(200)),
    "provisioning:refresh": ("post", {"pk": "to_refresh"}, None, team_change(302), "refreshed"),
    "provisioning:action": (
        "get",
        {"pk": "operable", "name": "with_inputs"},
        None,
        team_change(200),
    ),
    "provisioning:action#post": (
        "post",
        {"pk": "to_act", "name": "without_inputs"},
        None,
        team_change(302),
        "portal_action_queued",
    ),
    "provisioning:run": ("get", {"pk": "run"}, None, team_view()),
    "provisioning:run-log": ("get", {"pk": "run"}, None, team_view()),
    "provisioning:run-status": ("get", {"pk": "run"}, None, team_view()),
    "provisioning:run-cancel": ("post", {"pk": "queued_b"}, None, team_change(302), "canceled_b"),
    "provisioning:run-retry": ("post", {"pk": "failed_b"}, None, team_change(302), "retried_b"),
    "provisioning:run-apply": ("post", {"pk": "preview_b"}, None, team_change(302), "applied_b"),
    "provisioning:run-log-text": ("get", {"pk": "run"}, None, team_view()),
    "provisioning:run-log-download": ("get", {"pk": "run"}, None, team_view()),
    "api:api-root": ("get", {}, None, signed_in()),
    "api:schema": ("get", {}, None, public()),
    "api:docs": ("get", {}, None, public()),
    "api:template-list": ("get", {}, None, signed_in()),
    # Unauthenticated: the forge's signature decides (here none: refused with the reason).
    "api:catalog-source-webhook": ("post", {"pk": "source"}, {}, public(403)),
    "api:template-detail": ("get", {"slug": "template"}, None, signed_in()),
    "api:team-list": ("get", {}, None, signed_in()),
    "api:team-detail": ("get", {"slug": "team"}, None, team_view()),
    "api:service-list": ("get", {}, None, signed_in()),
    # Another team's slug in a body is a field error, not a 404.
    "api:service-list#post": (
        "post",
        {},
        "request",
        {**team_change(201), "other": 400},
        "service_requested",
    ),
    "api:service-detail": ("get", {"pk": "service"}, None, team_view()),
    "api:service-runs": ("get", {"pk": "service"}, None, team_view()),
    "api:service-notes": ("get", {"pk": "service"}, None, team_view()),
    "api:service-notes#post": (
        "post",
        {"pk": "service"},
        {"body": "An API note."},
        team_change(201),
        "api_note",
    ),
    "notes:add": (
        "post",
        {"pk": "service"},
        {"body": "A portal note."},
        team_change(302),
        "portal_note",
    ),
    "api:service-update": (
        "post",
        {"pk": "to_update"},
        NEW_INPUTS,
        team_change(202),
        "update_queued",
    ),
    "api:service-preview": (
        "post",
        {"pk": "to_preview"},
        NEW_INPUTS,
        team_change(202),
        "preview_queued",
    ),
    "api:service-upgrade": (
        "post",
        {"pk": "to_upgrade"},
        {},
        team_change(202),
        "upgrade_queued",
    ),
    "api:service-deprovision": (
        "post",
        {"pk": "to_deprovision"},
        {},
        team_change(202),
        "deprovision_queued",
    ),
    "api:service-extend": ("post", {"pk": "expiring"}, "extend", team_change(200), "extended"),
    "api:service-action": (
        "post",
        {"pk": "to_act_api", "name": "with_inputs"},
        {"inputs": {"text": "hi"}},
        team_change(202),
        "action_queued",
    ),
    "api:run-list": ("get", {}, None, signed_in()),
    "api:run-detail": ("get", {"pk": "run"}, None, team_view()),
    "api:run-events": ("get", {"pk": "run"}, None, team_view()),
    "api:run-cancel": ("post", {"pk": "queued_a"}, None, team_change(202), "canceled_a"),
    "api:run-retry": ("post", {"pk": "failed_a"}, None, team_change(202), "retried_a"),
    "api:run-apply": ("post", {"pk": "preview_a"}, None, team_change(202), "applied_a"),
    "api:run-log": ("get", {"pk": "run"}, None, team_view()),
    "api:destination-list": ("get", {"team_slug": "team"}, None, team_view()),
    "api:destination-list#post": (
        "post",
        {"team_slug": "team"},
        "destination",
        team_manage(201),
        "destination_added",
    ),
    "api:destination-detail": (
        "get",
        {"team_slug": "team", "pk": "destination"},
        None,
        team_view(),
    ),
    "api:destination-detail#delete": (
        "delete",
        {"team_slug": "team", "pk": "doomed"},
        None,
        team_manage(204),
        "doomed_gone",
    ),
    "api:destination-test": (
        "post",
        {"team_slug": "team", "pk": "destination"},
        {},
        team_manage(202),
        "destination_tested",
    ),
    "api:destination-deliveries": (
        "get",
        {"team_slug": "team", "pk": "destination"},
        None,
        team_view(),
    ),
    "notifications:destinations": ("get", {"slug": "team"}, None, team_view()),
    "notifications:destinations#post": (
        "post",
        {"slug": "team"},
        {"name": "portal-chat", "url": NOWHERE, "events": ["run_failed"]},
        team_manage(302),
        "portal_destination_added",
    ),
    "notifications:remove": (
        "post",
        {"slug": "team", "pk": "doomed_too"},
        None,
        team_manage(302),
        "doomed_too_gone",
    ),
    "notifications:test": (
        "post",
        {"slug": "team", "pk": "tested"},
        None,
        team_manage(302),
        "portal_tested",
    ),
    "approvals:inbox": ("get", {}, None, signed_in()),
    "approvals:detail": ("get", {"pk": "approval"}, None, approval_view()),
    "approvals:detail#post": (
        "post",
        {"pk": "approval"},
        {"decision": "approve"},
        decide(302),
        "approved",
    ),
    "api:approval-list": ("get", {}, None, signed_in()),
    "api:approval-detail": ("get", {"pk": "approval"}, None, approval_view()),
    "api:approval-approve": ("post", {"pk": "approval_api"}, {}, decide(200), "approved_api"),
    "api:approval-reject": (
        "post",
        {"pk": "approval_rejected"},
        {"comment": "no"},
        decide(200),
        "rejected",
    ),
    "dora": ("get", {}, None, signed_in()),
    "api:metrics-dora": ("get", {}, None, signed_in()),
    # /metrics wants Prometheus's bearer token; no one's session or API token opens it.
    "metrics": ("get", {}, None, dict.fromkeys(ROLES, OUT)),
    "credentials:index": ("get", {}, None, platform_only()),
    "credentials:new": ("get", {}, None, platform_only()),
    "credentials:new#post": (
        "post",
        {},
        {"type": "token", "name": "portal-made", "token": "t"},
        platform_only(302),
        "portal_credential_made",
    ),
    "credentials:edit": ("get", {"pk": "credential"}, None, platform_only()),
    "credentials:edit#post": (
        "post",
        {"pk": "credential"},
        {"name": "credential", "description": "Edited.", "token": ""},
        platform_only(302),
        "credential_edited",
    ),
    "credentials:delete": ("get", {"pk": "credential"}, None, platform_only()),
    "credentials:delete#post": (
        "post",
        {"pk": "doomed_credential"},
        None,
        platform_only(302),
        "doomed_credential_gone",
    ),
    "api:credential-list": ("get", {}, None, platform_only()),
    "api:credential-list#post": (
        "post",
        {},
        {"name": "made", "type": "token", "fields": {"token": "t"}},
        platform_only(201),
        "credential_made",
    ),
    "api:credential-detail": ("get", {"pk": "credential"}, None, platform_only()),
    "api:credential-detail#patch": (
        "patch",
        {"pk": "credential"},
        {"description": "changed"},
        platform_only(200),
        "credential_changed",
    ),
    "api:credential-detail#delete": (
        "delete",
        {"pk": "doomed_credential_too"},
        None,
        platform_only(204),
        "doomed_credential_too_gone",
    ),
    "inventories:index": ("get", {}, None, platform_only()),
    "inventories:create": ("get", {}, None, platform_only()),
    "inventories:create#post": (
        "post",
        {},
        {"name": "portal-lab", "description": ""},
        platform_only(302),
        "portal_inventory_made",
    ),
    "inventories:detail": ("get", {"name": "inventory"}, None, platform_only()),
    "inventories:edit": ("get", {"name": "inventory"}, None, platform_only()),
    "inventories:edit#post": (
        "post",
        {"name": "inventory"},
        {"name": "inventory", "description": "Edited."},
        platform_only(302),
        "inventory_edited",
    ),
    "inventories:delete": ("get", {"name": "inventory"}, None, platform_only()),
    "inventories:delete#post": (
        "post",
        {"name": "doomed_inventory"},
        None,
        platform_only(302),
        "doomed_inventory_gone",
    ),
    "inventories:add-host": ("get", {"name": "inventory"}, None, platform_only()),
    "inventories:add-host#post": (
        "post",
        {"name": "inventory"},
        "host",
        platform_only(302),
        "host_added",
    ),
    "inventories:edit-host": ("get", {"name": "inventory", "host": "host"}, None, platform_only()),
    "inventories:remove-host": (
        "get",
        {"name": "inventory", "host": "host"},
        None,
        platform_only(),
    ),
    "inventories:remove-host#post": (
        "post",
        {"name": "inventory", "host": "doomed_host"},
        None,
        platform_only(302),
        "doomed_host_gone",
    ),
    "api:inventory-list": ("get", {}, None, platform_only()),
    "api:inventory-list#post": (
        "post",
        {},
        {"name": "lab", "hosts": []},
        platform_only(201),
        "inventory_made",
    ),
    "api:inventory-detail": ("get", {"name": "inventory"}, None, platform_only()),
    "api:inventory-detail#patch": (
        "patch",
        {"name": "inventory"},
        {"description": "Shared."},
        platform_only(200),
        "inventory_changed",
    ),
    "api:inventory-detail#delete": (
        "delete",
        {"name": "doomed_api_inventory"},
        None,
        platform_only(204),
        "doomed_api_inventory_gone",
    ),
}


def routes() -> set[str]:
    """Every named route of the site, outside Django's admin."""

    def walk(patterns, namespace=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.namespace == "admin":
                    continue
                inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                yield from walk(pattern.url_patterns, inner)
            elif isinstance(pattern, URLPattern) and pattern.name:
                yield f"{namespace}{pattern.name}"

    return set(walk(get_resolver().url_patterns))


def test_every_route_has_a_row_in_the_matrix():
    covered = {name.split("#")[0] for name in MATRIX}
    assert routes() - covered == set(), "add these routes to the permission matrix"


@pytest.fixture
def world(catalog, teams, owner, outsider, team_admin, ops, auditor, django_user_model, settings):
    from accounts.services import create_token
    from credentials.services import create_credential
    from inventories.services import create_inventory
    from notifications.services import add_destination
    from provisioning.models import Run, Service
    from provisioning.services import request_service

    settings.GANGPLANK_METRICS_TOKEN = "matrix-scrape-token"
    bystander = django_user_model.objects.create_user("bystander", password="pw-bystander")
    teams["alpha"].members.add(bystander)
    django_user_model.objects.create_user("newcomer", password="pw-newcomer")
    users = {"member": owner, "other": outsider, "admin": team_admin, "platform": ops,
             "auditor": auditor}  # fmt: skip

    def service(name, template="echo", **changes):
        made = make_service(template=catalog[template], team=teams["alpha"], name=name, user=owner)
        Service.objects.filter(pk=made.pk).update(**changes)
        return made

    main = service("svc")
    objects = {"team": "alpha", "template": "echo", "service": main.pk, "run": main.last_run_id}
    for name in ("to_update", "to_preview", "to_deprovision", "to_refresh"):
        objects[name] = service(name.replace("_", "-")).pk
    for name in ("operable", "to_act", "to_act_api"):
        objects[name] = service(name.replace("_", "-"), template="operable").pk
    objects.update(with_inputs="note", without_inputs="reset")  # custom actions of operable
    objects["expiring"] = service(
        "ends", template="drifty", expires_at=timezone.now() + timedelta(days=2)
    ).pk
    for suffix in ("a", "b"):
        queued = service(f"queued-{suffix}", status="updating")
        objects[f"queued_{suffix}"] = Run.objects.create(
            service=queued, action="update", status="queued", created_by=owner,
            template_version=queued.template_version, inputs=queued.inputs,
        ).pk  # fmt: skip
        failed = service(f"failed-{suffix}", status="failed", failed_action="provision")
        Run.objects.filter(pk=failed.last_run_id).update(status="failed")
        objects[f"failed_{suffix}"] = failed.last_run_id
        previewed = service(f"previewed-{suffix}")
        objects[f"preview_{suffix}"] = Run.objects.create(
            service=previewed, action="preview", status="succeeded", created_by=owner,
            template_version=previewed.template_version, inputs={"message": "changed"},
        ).pk  # fmt: skip
        Service.objects.filter(pk=previewed.pk).update(last_run_id=objects[f"preview_{suffix}"])
    objects["to_upgrade"] = service("to-upgrade").pk
    newer_version(catalog["echo"])  # every echo service above can be upgraded
    for name in ("approval", "approval_api", "approval_rejected"):
        gated = request_service(user=bystander, template=catalog["gated"], team=teams["alpha"],
                                name=name.replace("_", "-"),
                                inputs={"message": "hi", "environment": "prod"})  # fmt: skip
        objects[name] = gated.last_run.approval.pk
    for name in ("destination", "doomed", "doomed_too", "tested"):
        objects[name] = add_destination(
            user=ops, team=teams["alpha"], name=name, url=NOWHERE, events=["run_failed"]
        ).pk
    for name in ("credential", "doomed_credential", "doomed_credential_too"):
        objects[name] = create_credential(
            user=ops, name=name.replace("_", "-"), type="token", fields={"token": "t"}
        ).pk
    from catalog.sources import create_source

    for name in (
        "source",
        "doomed_source",
        "doomed_api_source",
        "rotated_source",
        "api_rotated_source",
        "preview_source",
        "api_preview_source",
    ):
        made, _ = create_source(user=ops, name=name.replace("_", "-"),
                                url=f"https://git.example.com/{name}.git",
                                preview=name.endswith("preview_source"))  # fmt: skip
        objects[name] = made.pk
        objects[f"{name}_token"] = made.webhook_secret
    from catalog.models import CatalogSource

    for name in ("preview_source", "api_preview_source"):  # synced once: promotable
        CatalogSource.objects.filter(pk=objects[name]).update(commit="a" * 40)
    hosts = [{"name": n, "address": "10.0.0.1", "host_key": KEY} for n in ("web-1", "web-2")]
    for name in ("inventory", "doomed_inventory", "doomed_api_inventory"):
        objects[name] = create_inventory(actor=ops, name=name.replace("_", "-"), hosts=hosts).name
    objects.update(host="web-1", doomed_host="web-2")
    # Each user's token to revoke, and an audit event (the api token made for the request).
    objects["own_token"] = {
        role: create_token(user=user, name="to-revoke")[0].token_key for role, user in users.items()
    }
    from audit import services as audit

    objects["audit"] = audit.record(action="test.made", actor=owner, obj=main).pk
    return users, objects


KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGjGMCI8ScN3iZeeEUTuMpBv4TK7r2f2MAT1IzOK/AFF"


def newer_version(template) -> None:
    from catalog.models import Template, TemplateVersion

    current = template.current_version
    version = TemplateVersion.objects.create(
        template=template, version="9.0.0", digest="newer", files=current.files,
        manifest={**current.manifest, "version": "9.0.0"},
    )  # fmt: skip
    Template.objects.filter(pk=template.pk).update(current_version=version)


def body_for(body, role: str, objects: dict):
    if body == "request":
        return {"template": "echo", "team": "alpha", "name": f"by-{role}",
                "inputs": {"message": "hi"}}  # fmt: skip
    if body == "destination":
        return {"name": "chat", "url": NOWHERE, "events": ["run_failed"]}
    if body == "extend":
        return {"expires_at": (timezone.now() + timedelta(days=10)).isoformat()}
    if body == "host":
        return {**HOST, "host_key": KEY}
    if body == "own_token":
        return {"token_key": objects["own_token"].get(role, "nothing")}
    return body or {}


def effects(role: str, objects: dict) -> dict:
    """What each allowed write changes: a check, true once it has."""
    from accounts.models import ApiToken
    from approvals.models import Approval
    from catalog.models import CatalogSource
    from credentials.models import Credential
    from inventories.models import Host, Inventory
    from notes.models import ServiceNote
    from notifications.models import Delivery, Destination
    from provisioning.models import Run, Service
    from teams.models import Membership, Team

    def queued(service, action):
        return Run.objects.filter(service_id=objects[service], action=action,
                                  status="queued").exists()  # fmt: skip

    def run_status(run, status):
        return Run.objects.get(pk=objects[run]).status == status

    def gone(model, **lookup):
        return not model.objects.filter(**lookup).exists()

    alpha = Team.objects.get(slug="alpha")

    def source(name):
        return CatalogSource.objects.get(pk=objects[name])

    def rotated(name):
        return source(name).webhook_secret != objects[f"{name}_token"]

    return {
        "portal_source_made": lambda: CatalogSource.objects.filter(name="portal-source").exists(),
        "source_edited": lambda: source("source").branch == "edited",
        "doomed_source_gone": lambda: gone(CatalogSource, pk=objects["doomed_source"]),
        "source_promoted": lambda: source("preview_source").promoted_at is not None,
        "source_rotated": lambda: rotated("rotated_source"),
        "api_source_made": lambda: CatalogSource.objects.filter(name="api-source").exists(),
        "api_source_changed": lambda: source("source").branch == "api-edited",
        "doomed_api_source_gone": lambda: gone(CatalogSource, pk=objects["doomed_api_source"]),
        "api_source_rotated": lambda: rotated("api_rotated_source"),
        "api_source_promoted": lambda: source("api_preview_source").promoted_at is not None,
        "token_revoked": lambda: (
            role in objects["own_token"] and gone(ApiToken, token_key=objects["own_token"][role])
        ),
        "newcomer_added": lambda: alpha.members.filter(username="newcomer").exists(),
        "bystander_removed": lambda: gone(Membership, team=alpha, user__username="bystander"),
        "quota_set": lambda: alpha.quotas.filter(max_services=9).exists(),
        "canceled_a": lambda: run_status("queued_a", "canceled"),
        "canceled_b": lambda: run_status("queued_b", "canceled"),
        "retried_a": lambda: Run.objects.filter(retry_of_id=objects["failed_a"]).exists(),
        "retried_b": lambda: Run.objects.filter(retry_of_id=objects["failed_b"]).exists(),
        "applied_a": lambda: Run.objects.filter(preview_id=objects["preview_a"]).exists(),
        "applied_b": lambda: Run.objects.filter(preview_id=objects["preview_b"]).exists(),
        "service_requested": lambda: Service.objects.filter(name=f"by-{role}").exists(),
        "api_note": lambda: ServiceNote.objects.filter(body="An API note.").exists(),
        "portal_note": lambda: ServiceNote.objects.filter(body="A portal note.").exists(),
        "update_queued": lambda: queued("to_update", "update"),
        "preview_queued": lambda: queued("to_preview", "preview"),
        "upgrade_queued": lambda: queued("to_upgrade", "upgrade"),
        "deprovision_queued": lambda: queued("to_deprovision", "deprovision"),
        "refreshed": lambda: queued("to_refresh", "update"),
        "portal_action_queued": lambda: queued("to_act", "reset"),
        "action_queued": lambda: queued("to_act_api", "note"),
        "extended": lambda: (
            Service.objects.get(pk=objects["expiring"]).expires_at
            > timezone.now() + timedelta(days=9)
        ),
        "destination_added": lambda: Destination.objects.filter(name="chat").exists(),
        "doomed_gone": lambda: gone(Destination, pk=objects["doomed"]),
        "destination_tested": lambda: Delivery.objects.filter(
            destination_id=objects["destination"]
        ).exists(),
        "portal_destination_added": lambda: Destination.objects.filter(name="portal-chat").exists(),
        "doomed_too_gone": lambda: gone(Destination, pk=objects["doomed_too"]),
        "portal_tested": lambda: Delivery.objects.filter(destination_id=objects["tested"]).exists(),
        "approved": lambda: Approval.objects.get(pk=objects["approval"]).status == "approved",
        "approved_api": lambda: (
            Approval.objects.get(pk=objects["approval_api"]).status == "approved"
        ),
        "rejected": lambda: (
            Approval.objects.get(pk=objects["approval_rejected"]).status == "rejected"
        ),
        "portal_credential_made": lambda: Credential.objects.filter(name="portal-made").exists(),
        "credential_edited": lambda: Credential.objects.filter(description="Edited.").exists(),
        "doomed_credential_gone": lambda: gone(Credential, pk=objects["doomed_credential"]),
        "credential_made": lambda: Credential.objects.filter(name="made").exists(),
        "credential_changed": lambda: Credential.objects.filter(description="changed").exists(),
        "doomed_credential_too_gone": lambda: gone(Credential, pk=objects["doomed_credential_too"]),
        "portal_inventory_made": lambda: Inventory.objects.filter(name="portal-lab").exists(),
        "inventory_edited": lambda: Inventory.objects.filter(description="Edited.").exists(),
        "doomed_inventory_gone": lambda: gone(Inventory, name="doomed-inventory"),
        "host_added": lambda: Host.objects.filter(name="web-9").exists(),
        "doomed_host_gone": lambda: gone(Host, inventory__name="inventory", name="web-2"),
        "inventory_made": lambda: Inventory.objects.filter(name="lab").exists(),
        "inventory_changed": lambda: Inventory.objects.filter(description="Shared.").exists(),
        "doomed_api_inventory_gone": lambda: gone(Inventory, name="doomed-api-inventory"),
    }


def outcome(response, *, api: bool) -> str | int:
    """The status code, or OUT: the portal's redirect to the login page, the API's 401."""
    code = response.status_code
    assert code < 500, response.content[:500]
    if code == 302 and "/login/" in response["Location"]:
        return OUT
    if code == 401 and (api or response.request["PATH_INFO"] == "/metrics"):
        return OUT
    return code


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_the_answer_the_matrix_says(world, client, role):
    users, objects = world
    user = users.get(role)
    if user:
        client.force_login(user)
    api = api_client_for(user) if user else APIClient()
    done = effects(role, objects)
    assert set(done) == {row[4] for row in MATRIX.values() if len(row) > 4}
    wrong = []
    for key, (method, kwargs, body, expected, *effect) in sorted(
        MATRIX.items(), key=lambda i: i[0] == "logout"
    ):
        name = key.split("#")[0]
        url = reverse(name, kwargs={k: objects[v] for k, v in kwargs.items()})
        body = body_for(body, role, objects)
        if name.startswith("api:"):
            response = getattr(api, method)(url, body, format="json")
        else:
            response = getattr(client, method)(url, body)
        got = outcome(response, api=name.startswith("api:"))
        if got != expected[role]:
            wrong.append((key, expected[role], got, response.content[:300]))
        elif effect and done[effect[0]]() != (allowed := isinstance(got, int) and got < 400):
            wrong.append((key, got, "allowed but nothing changed" if allowed else "changed"))
    assert wrong == [], f"{role}: (route, expected, got) {wrong}"


def test_a_403_says_why(world, client):
    users, objects = world
    api = api_client_for(users["auditor"])

    response = api.post(
        f"/api/services/{objects['service']}/update/", {"inputs": {}}, format="json"
    )

    assert response.status_code == 403
    assert response.json()["detail"] == "Auditors can see everything but change nothing."
