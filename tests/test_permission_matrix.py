"""Every portal page and API endpoint, for every role: who gets in, who gets a 403 with a
reason, who gets a 404. A route without a row here fails the suite."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from conftest import api_client_for
from factories import make_service

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "member", "other", "admin", "platform", "auditor")
OK = "ok"  # in: 2xx, a redirect other than to the login page, or 400/409 (allowed, bad request)

# Who gets what, by kind of route; anonymous callers are sent to log in (portal) or get 401.
PUBLIC = dict.fromkeys(ROLES, OK)
SIGNED_IN = {**dict.fromkeys(ROLES, OK), "anonymous": "out"}
PLATFORM_ONLY = {**dict.fromkeys(ROLES, 403), "anonymous": "out", "platform": OK}
TEAM_VIEW = {"anonymous": "out", "member": OK, "other": 404, "admin": OK, "platform": OK,
             "auditor": OK}  # fmt: skip
TEAM_CHANGE = {**TEAM_VIEW, "auditor": 403}
TEAM_MANAGE = {**TEAM_CHANGE, "member": 403}
REQUEST = {**TEAM_CHANGE, "other": 400}
# Approvals: the requesting team and the approving team ("other" is beta, the approvers).
APPROVAL_VIEW = {**TEAM_VIEW, "other": OK}
DECIDE = {**dict.fromkeys(ROLES, 403), "anonymous": "out", "other": OK, "platform": OK}
# /metrics wants Prometheus's bearer token; no one's session or API token opens it.
BEARER_ONLY = dict.fromkeys(ROLES, "out")
AUDIT = {"anonymous": "out", "member": 403, "other": 403, "admin": OK, "platform": OK,
         "auditor": OK}  # fmt: skip  # another team's slug in a body is a field error

# route name -> (method, url kwargs from the fixtures, body, expectations)
MATRIX = {
    "home": ("get", {}, None, SIGNED_IN),
    "login": ("get", {}, None, PUBLIC),
    "logout": ("post", {}, None, dict.fromkeys(ROLES, "out")),  # to the login page; runs last
    "healthz": ("get", {}, None, PUBLIC),
    "catalog:index": ("get", {}, None, SIGNED_IN),
    "accounts:tokens": ("get", {}, None, SIGNED_IN),
    "password": ("get", {}, None, SIGNED_IN),
    "audit": ("get", {}, None, AUDIT),
    "audit-export": ("get", {}, None, AUDIT),
    "api:audit-list": ("get", {}, None, AUDIT),
    "api:audit-detail": ("get", {"pk": "audit"}, None, AUDIT),
    "api:audit-export": ("get", {}, None, AUDIT),
    "accounts:revoke": ("post", {}, {"token_key": "nothing"}, SIGNED_IN),
    "catalog:status": ("get", {}, None, PLATFORM_ONLY),
    "teams:index": ("get", {}, None, SIGNED_IN),
    "teams:detail": ("get", {"slug": "team"}, None, TEAM_VIEW),
    "teams:detail#post": (
        "post",
        {"slug": "team"},
        {"username": "bystander", "role": "member"},
        TEAM_MANAGE,
    ),
    "teams:remove": ("post", {"slug": "team"}, {"username": "bystander"}, TEAM_MANAGE),
    "teams:quota": ("post", {"slug": "team"}, {"max_services": "9"}, {**TEAM_MANAGE, "admin": 403}),
    "provisioning:request": ("get", {"slug": "template"}, None, SIGNED_IN),
    "provisioning:services": ("get", {}, None, SIGNED_IN),
    "provisioning:service": ("get", {"pk": "service"}, None, TEAM_VIEW),
    "provisioning:update": ("get", {"pk": "service"}, None, TEAM_CHANGE),
    "provisioning:upgrade": ("get", {"pk": "service"}, None, TEAM_CHANGE),
    "provisioning:deprovision": ("get", {"pk": "service"}, None, TEAM_CHANGE),
    "provisioning:extend": ("get", {"pk": "service"}, None, TEAM_CHANGE),
    "provisioning:run": ("get", {"pk": "run"}, None, TEAM_VIEW),
    "provisioning:run-log": ("get", {"pk": "run"}, None, TEAM_VIEW),
    "provisioning:run-cancel": ("post", {"pk": "run"}, None, TEAM_CHANGE),
    "provisioning:run-retry": ("post", {"pk": "run"}, None, TEAM_CHANGE),
    "api:api-root": ("get", {}, None, SIGNED_IN),
    "api:schema": ("get", {}, None, PUBLIC),
    "api:docs": ("get", {}, None, PUBLIC),
    "api:template-list": ("get", {}, None, SIGNED_IN),
    "api:template-detail": ("get", {"slug": "template"}, None, SIGNED_IN),
    "api:team-list": ("get", {}, None, SIGNED_IN),
    "api:team-detail": ("get", {"slug": "team"}, None, TEAM_VIEW),
    "api:service-list": ("get", {}, None, SIGNED_IN),
    "api:service-list#post": ("post", {}, "request", REQUEST),
    "api:service-detail": ("get", {"pk": "service"}, None, TEAM_VIEW),
    "api:service-runs": ("get", {"pk": "service"}, None, TEAM_VIEW),
    "api:service-notes": ("get", {"pk": "service"}, None, TEAM_VIEW),
    "api:service-notes#post": ("post", {"pk": "service"}, {"body": "A note."}, TEAM_CHANGE),
    "notes:add": ("post", {"pk": "service"}, {"body": "A note."}, TEAM_CHANGE),
    "api:service-update": ("post", {"pk": "service"}, {"inputs": {}}, TEAM_CHANGE),
    "api:service-preview": ("post", {"pk": "service"}, {"inputs": {}}, TEAM_CHANGE),
    "api:service-upgrade": ("post", {"pk": "service"}, {}, TEAM_CHANGE),
    "api:service-deprovision": ("post", {"pk": "service"}, {}, TEAM_CHANGE),
    "api:service-extend": (
        "post",
        {"pk": "service"},
        {"expires_at": "2099-01-01T00:00Z"},
        TEAM_CHANGE,
    ),
    "api:run-list": ("get", {}, None, SIGNED_IN),
    "api:run-detail": ("get", {"pk": "run"}, None, TEAM_VIEW),
    "api:run-events": ("get", {"pk": "run"}, None, TEAM_VIEW),
    "api:run-cancel": ("post", {"pk": "run"}, None, TEAM_CHANGE),
    "api:run-retry": ("post", {"pk": "run"}, None, TEAM_CHANGE),
    "api:destination-list": ("get", {"team_slug": "team"}, None, TEAM_VIEW),
    "api:destination-list#post": ("post", {"team_slug": "team"}, "destination", TEAM_MANAGE),
    "api:destination-detail": ("get", {"team_slug": "team", "pk": "destination"}, None, TEAM_VIEW),
    "api:destination-detail#delete": (
        "delete",
        {"team_slug": "team", "pk": "doomed"},
        None,
        TEAM_MANAGE,
    ),
    "api:destination-test": ("post", {"team_slug": "team", "pk": "destination"}, {}, TEAM_MANAGE),
    "api:destination-deliveries": (
        "get",
        {"team_slug": "team", "pk": "destination"},
        None,
        TEAM_VIEW,
    ),
    "notifications:destinations": ("get", {"slug": "team"}, None, TEAM_VIEW),
    "notifications:destinations#post": ("post", {"slug": "team"}, {"name": ""}, TEAM_MANAGE),
    "notifications:remove": ("post", {"slug": "team", "pk": "doomed_too"}, None, TEAM_MANAGE),
    "notifications:test": ("post", {"slug": "team", "pk": "destination"}, None, TEAM_MANAGE),
    "approvals:inbox": ("get", {}, None, SIGNED_IN),
    "approvals:detail": ("get", {"pk": "approval"}, None, APPROVAL_VIEW),
    "approvals:detail#post": ("post", {"pk": "approval"}, {"decision": "approve"}, DECIDE),
    "api:approval-list": ("get", {}, None, SIGNED_IN),
    "api:approval-detail": ("get", {"pk": "approval"}, None, APPROVAL_VIEW),
    "api:approval-approve": ("post", {"pk": "approval"}, {}, DECIDE),
    "api:approval-reject": ("post", {"pk": "approval"}, {"comment": "no"}, DECIDE),
    "dora": ("get", {}, None, SIGNED_IN),
    "api:metrics-dora": ("get", {}, None, SIGNED_IN),
    "metrics": ("get", {}, None, BEARER_ONLY),
    "credentials:index": ("get", {}, None, PLATFORM_ONLY),
    "credentials:new": ("get", {}, None, PLATFORM_ONLY),
    "credentials:new#post": ("post", {}, {"type": "token", "name": "", "token": ""}, PLATFORM_ONLY),
    "credentials:edit": ("get", {"pk": "credential"}, None, PLATFORM_ONLY),
    "credentials:edit#post": ("post", {"pk": "credential"}, {"token": ""}, PLATFORM_ONLY),
    "credentials:delete": ("get", {"pk": "credential"}, None, PLATFORM_ONLY),
    "credentials:delete#post": ("post", {"pk": "doomed_credential"}, None, PLATFORM_ONLY),
    "api:credential-list": ("get", {}, None, PLATFORM_ONLY),
    "api:credential-list#post": (
        "post",
        {},
        {"name": "made", "type": "token", "fields": {"token": "t"}},
        PLATFORM_ONLY,
    ),
    "api:credential-detail": ("get", {"pk": "credential"}, None, PLATFORM_ONLY),
    "api:credential-detail#patch": (
        "patch",
        {"pk": "credential"},
        {"description": "changed"},
        PLATFORM_ONLY,
    ),
    "api:credential-detail#delete": (
        "delete",
        {"pk": "doomed_credential_too"},
        None,
        PLATFORM_ONLY,
    ),
    "inventories:index": ("get", {}, None, PLATFORM_ONLY),
    "inventories:create": ("get", {}, None, PLATFORM_ONLY),
    "inventories:create#post": ("post", {}, {"name": ""}, PLATFORM_ONLY),
    "inventories:detail": ("get", {"name": "inventory"}, None, PLATFORM_ONLY),
    "inventories:edit": ("get", {"name": "inventory"}, None, PLATFORM_ONLY),
    "inventories:edit#post": ("post", {"name": "inventory"}, {"name": ""}, PLATFORM_ONLY),
    "inventories:delete": ("get", {"name": "inventory"}, None, PLATFORM_ONLY),
    "inventories:delete#post": ("post", {"name": "doomed_inventory"}, None, PLATFORM_ONLY),
    "inventories:add-host": ("get", {"name": "inventory"}, None, PLATFORM_ONLY),
    "inventories:add-host#post": ("post", {"name": "inventory"}, {"name": ""}, PLATFORM_ONLY),
    "inventories:edit-host": ("get", {"name": "inventory", "host": "host"}, None, PLATFORM_ONLY),
    "inventories:remove-host": ("get", {"name": "inventory", "host": "host"}, None, PLATFORM_ONLY),
    "inventories:remove-host#post": (
        "post",
        {"name": "inventory", "host": "doomed_host"},
        None,
        PLATFORM_ONLY,
    ),
    "api:inventory-list": ("get", {}, None, PLATFORM_ONLY),
    "api:inventory-list#post": ("post", {}, {"name": "lab", "hosts": []}, PLATFORM_ONLY),
    "api:inventory-detail": ("get", {"name": "inventory"}, None, PLATFORM_ONLY),
    "api:inventory-detail#patch": (
        "patch",
        {"name": "inventory"},
        {"description": "Shared."},
        PLATFORM_ONLY,
    ),
    "api:inventory-detail#delete": (
        "delete",
        {"name": "doomed_api_inventory"},
        None,
        PLATFORM_ONLY,
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
    settings.GANGPLANK_METRICS_TOKEN = "matrix-scrape-token"
    bystander = django_user_model.objects.create_user("bystander", password="pw-bystander")
    teams["alpha"].members.add(bystander)
    service = make_service(template=catalog["echo"], team=teams["alpha"], name="svc", user=owner)
    users = {"member": owner, "other": outsider, "admin": team_admin, "platform": ops,
             "auditor": auditor}  # fmt: skip
    from audit import services as audit
    from provisioning.services import request_service

    event = audit.record(action="test.made", actor=owner, obj=service)
    gated = request_service(
        user=bystander,
        template=catalog["gated"],
        team=teams["alpha"],
        name="gated",
        inputs={"message": "hi", "environment": "prod"},
    )
    objects = {
        "team": "alpha",
        "template": "echo",
        "service": service.pk,
        "run": service.last_run_id,
        "audit": event.pk,
        "approval": gated.last_run.approval.pk,
    }
    from notifications.services import add_destination

    for name in ("destination", "doomed", "doomed_too"):
        objects[name] = add_destination(
            user=ops,
            team=teams["alpha"],
            name=name,
            url="json://127.0.0.1:9/",
            events=["run_failed"],
        ).pk
    from credentials.services import create_credential

    for name in ("credential", "doomed_credential", "doomed_credential_too"):
        objects[name] = create_credential(
            user=ops, name=name.replace("_", "-"), type="token", fields={"token": "t"}
        ).pk
    from inventories.services import create_inventory

    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGjGMCI8ScN3iZeeEUTuMpBv4TK7r2f2MAT1IzOK/AFF"
    hosts = [{"name": n, "address": "10.0.0.1", "host_key": key} for n in ("web-1", "web-2")]
    for name in ("inventory", "doomed_inventory", "doomed_api_inventory"):
        objects[name] = create_inventory(actor=ops, name=name.replace("_", "-"), hosts=hosts).name
    objects.update(host="web-1", doomed_host="web-2")
    return users, objects


def outcome(response) -> str | int:
    code = response.status_code
    if code == 302 and "/login/" in response["Location"]:
        return "out"
    if code == 401:
        return "out"
    if code in (403, 404):
        return code
    if code == 400 and response.get("Content-Type", "").startswith("application/json"):
        body = response.json()
        if "team" in body and "does not exist" in str(body["team"]):
            return 400
    assert code < 500, response.content[:500]
    return OK


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_the_answer_the_matrix_says(world, client, role):
    users, objects = world
    user = users.get(role)
    if user:
        client.force_login(user)
    api = api_client_for(user) if user else APIClient()
    wrong = []
    for key, (method, kwargs, body, expected) in sorted(
        MATRIX.items(), key=lambda i: i[0] == "logout"
    ):
        name = key.split("#")[0]
        url = reverse(name, kwargs={k: objects[v] for k, v in kwargs.items()})
        if body == "request":
            body = {"template": "echo", "team": "alpha", "name": f"by-{role}",
                    "inputs": {"message": "hi"}}  # fmt: skip
        elif body == "destination":
            body = {"name": "chat", "url": "json://127.0.0.1:9/", "events": ["run_failed"]}
        caller = api if name.startswith("api:") else client
        response = (
            getattr(caller, method)(url, body or {}, format="json")
            if caller is api
            else (getattr(caller, method)(url, body or {}))
        )
        if outcome(response) != expected[role]:
            wrong.append((key, expected[role], response.status_code))
    assert wrong == [], f"{role}: (route, expected, got) {wrong}"


def test_a_403_says_why(world, client):
    users, objects = world
    api = api_client_for(users["auditor"])

    response = api.post(
        f"/api/services/{objects['service']}/update/", {"inputs": {}}, format="json"
    )

    assert response.status_code == 403
    assert response.json()["detail"] == "Auditors can see everything but change nothing."
