"""Every page and endpoint costs at most its baseline in queries (tests/query_counts/), and no
more with 15 rows of everything than with 3: an N+1 shows as a count that grows."""

from datetime import timedelta
from functools import partial

import pytest
import querycounts
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from catalog.models import Template, TemplateVersion
from conftest import api_client_for
from factories import make_events, make_service, newer_version

pytestmark = pytest.mark.django_db

# Portal routes that only take a POST: writes, not pages.
WRITES = {
    "/logout/",
    "/tokens/revoke/",
    "/teams/{slug}/remove/",
    "/teams/{slug}/quota/",
    "/teams/{slug}/notifications/{pk}/remove/",
    "/teams/{slug}/notifications/{pk}/test/",
    "/services/{pk}/notes/",
    "/runs/{pk}/cancel/",
    "/runs/{pk}/retry/",
    "/services/{pk}/refresh/",
    "/runs/{pk}/apply/",
    "/catalog/-/sources/{pk}/sync/",
    "/catalog/-/sources/{pk}/promote/",
    "/catalog/-/sources/{pk}/rotate-secret/",
    "/api/catalog/sources/{pk}/webhook/",
}

MEMBER, PLATFORM, ANONYMOUS, PROMETHEUS = "member", "platform", "anonymous", "prometheus"

# Each page and endpoint: who asks (a member of team alpha, a platform engineer, no one, or
# Prometheus with its token), and the rows of `world` its parameters name.
REQUESTS = {
    "/": (MEMBER, {}),
    "/login/": (ANONYMOUS, {}),
    "/password/": (MEMBER, {}),
    "/healthz": (ANONYMOUS, {}),
    "/favicon.ico": (ANONYMOUS, {}),
    "/metrics": (PROMETHEUS, {}),
    "/dora/": (MEMBER, {}),
    "/tokens/": (MEMBER, {}),
    "/catalog/": (MEMBER, {}),
    "/catalog/-/status/": (PLATFORM, {}),
    "/catalog/{slug}/": (MEMBER, {"slug": "template"}),
    "/catalog/-/sources/": (PLATFORM, {}),
    "/catalog/-/sources/new/": (PLATFORM, {}),
    "/catalog/-/sources/{pk}/": (PLATFORM, {"pk": "source"}),
    "/catalog/-/sources/{pk}/delete/": (PLATFORM, {"pk": "source"}),
    "/services/": (MEMBER, {}),
    "/services/{pk}/": (MEMBER, {"pk": "service"}),
    "/services/{pk}/update/": (MEMBER, {"pk": "service"}),
    "/services/{pk}/upgrade/": (MEMBER, {"pk": "service"}),
    "/services/{pk}/deprovision/": (MEMBER, {"pk": "service"}),
    "/services/{pk}/extend/": (MEMBER, {"pk": "expiring"}),
    "/services/{pk}/actions/{name}/": (MEMBER, {"pk": "operable", "name": "action"}),
    "/runs/{pk}/": (MEMBER, {"pk": "run"}),
    "/runs/{pk}/log/": (MEMBER, {"pk": "run"}),
    "/runs/{pk}/status/": (MEMBER, {"pk": "run"}),
    "/runs/{pk}/log.txt": (MEMBER, {"pk": "run"}),
    "/runs/{pk}/download/": (MEMBER, {"pk": "run"}),
    "/teams/": (MEMBER, {}),
    "/teams/{slug}/": (MEMBER, {"slug": "team"}),
    "/teams/{slug}/notifications/": (MEMBER, {"slug": "team"}),
    "/approvals/": (MEMBER, {}),
    "/approvals/{pk}/": (MEMBER, {"pk": "approval"}),
    "/audit/": (PLATFORM, {}),
    "/audit/export/": (PLATFORM, {}),
    "/credentials/": (PLATFORM, {}),
    "/credentials/new/": (PLATFORM, {}),
    "/credentials/{pk}/": (PLATFORM, {"pk": "credential"}),
    "/credentials/{pk}/delete/": (PLATFORM, {"pk": "credential"}),
    "/inventories/": (PLATFORM, {}),
    "/inventories/-/new/": (PLATFORM, {}),
    "/inventories/{name}/": (PLATFORM, {"name": "inventory"}),
    "/inventories/{name}/edit/": (PLATFORM, {"name": "inventory"}),
    "/inventories/{name}/delete/": (PLATFORM, {"name": "inventory"}),
    "/inventories/{name}/hosts/new/": (PLATFORM, {"name": "inventory"}),
    "/inventories/{name}/hosts/{host}/edit/": (PLATFORM, {"name": "inventory", "host": "host"}),
    "/inventories/{name}/hosts/{host}/remove/": (
        PLATFORM,
        {"name": "inventory", "host": "host"},
    ),
    "/api/": (MEMBER, {}),
    "/api/schema/": (ANONYMOUS, {}),
    "/api/docs/": (ANONYMOUS, {}),
    "/api/metrics/dora/": (MEMBER, {}),
    "/api/templates/": (MEMBER, {}),
    "/api/templates/{slug}/": (MEMBER, {"slug": "template"}),
    "/api/catalog/sources/": (PLATFORM, {}),
    "/api/catalog/sources/{pk}/": (PLATFORM, {"pk": "source"}),
    "/api/teams/": (MEMBER, {}),
    "/api/teams/{slug}/": (MEMBER, {"slug": "team"}),
    "/api/teams/{team_slug}/destinations/": (MEMBER, {"team_slug": "team"}),
    "/api/teams/{team_slug}/destinations/{pk}/": (
        MEMBER,
        {"team_slug": "team", "pk": "destination"},
    ),
    "/api/teams/{team_slug}/destinations/{pk}/deliveries/": (
        MEMBER,
        {"team_slug": "team", "pk": "destination"},
    ),
    "/api/services/": (MEMBER, {}),
    "/api/services/{pk}/": (MEMBER, {"pk": "service"}),
    "/api/services/{pk}/runs/": (MEMBER, {"pk": "service"}),
    "/api/services/{pk}/notes/": (MEMBER, {"pk": "service"}),
    "/api/runs/": (MEMBER, {}),
    "/api/runs/{pk}/": (MEMBER, {"pk": "run"}),
    "/api/runs/{pk}/events/": (MEMBER, {"pk": "run"}),
    "/api/runs/{pk}/log/": (MEMBER, {"pk": "run"}),
    "/api/approvals/": (MEMBER, {}),
    "/api/approvals/{pk}/": (MEMBER, {"pk": "approval"}),
    "/api/audit/": (PLATFORM, {}),
    "/api/audit/{pk}/": (PLATFORM, {"pk": "audit"}),
    "/api/audit/export/": (PLATFORM, {}),
    "/api/credentials/": (PLATFORM, {}),
    "/api/credentials/{pk}/": (PLATFORM, {"pk": "credential"}),
    "/api/inventories/": (PLATFORM, {}),
    "/api/inventories/{name}/": (PLATFORM, {"name": "inventory"}),
}

# Lists asked for filtered too: the same baseline holds.
FILTERED = {
    "/services/": ["?status=active&team=alpha", "?q=alpha"],
    "/api/services/": ["?template=echo", "?team=alpha&status=active"],
    "/api/runs/": ["?status=failed"],
    "/audit/": ["?action=credential.create"],
    "/api/audit/": ["?action=credential.create"],
    "/audit/export/": ["?as=jsonl"],
    "/dora/": ["?days=90&team=alpha"],
    "/api/metrics/dora/": ["?days=90"],
    "/approvals/": ["?status=pending"],
    "/api/approvals/": ["?status=pending"],
}

FEW, MORE = 3, 12
NOWHERE = "json://127.0.0.1:9/"
METRICS_TOKEN = "query-counts-scrape-token"
HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGjGMCI8ScN3iZeeEUTuMpBv4TK7r2f2MAT1IzOK/AFF"


def pages() -> set[str]:
    return {
        key
        for key, view in querycounts.routes().items()
        if key not in WRITES and querycounts.answers_get(view)
    }


def test_every_page_and_endpoint_has_a_baseline_and_a_request():
    assert pages() - set(querycounts.baselines()) == set(), "add their baselines"
    assert pages() - set(REQUESTS) == set(), "say how to request these in REQUESTS"
    assert set(querycounts.baselines()) - pages() == set(), "these routes are gone"
    assert set(REQUESTS) - pages() == set(), "these routes are gone"
    assert set(querycounts.routes()) >= WRITES, "these writes are gone"


class World:
    """Rows of everything each page lists, for a member of team alpha and a platform
    engineer, grown `more()` rows at a time: services of alpha and beta with runs, events,
    notes and status changes; approvals; templates; teams; tokens; destinations and their
    deliveries; credentials; inventories and their hosts; audit events."""

    def __init__(self, catalog, teams, owner, ops):
        from credentials.services import create_credential
        from inventories.services import create_inventory
        from notifications.services import add_destination

        self.catalog, self.teams, self.owner, self.ops = catalog, teams, owner, ops
        self.added = 0
        echo, drifty = catalog["echo"], catalog["drifty"]
        self.service = make_service(template=echo, team=teams["alpha"], name="main", user=owner)
        self.expiring = make_service(template=drifty, team=teams["alpha"], name="ends", user=owner)
        self.expiring.expires_at = timezone.now() + timedelta(days=2)
        self.expiring.save(update_fields=["expires_at"])
        type(self.service).objects.filter(pk=self.service.pk).update(dependency_changed=True)
        # With custom actions: the services' `actions` read the caller's teams once.
        self.operable = make_service(
            template=catalog["operable"], team=teams["alpha"], name="operable", user=owner
        )
        newer_version(echo)  # the main service has an upgrade available
        self.destination = add_destination(
            user=ops, team=teams["alpha"], name="chat", url=NOWHERE, events=["run_failed"]
        )
        self.credential = create_credential(
            user=ops, name="main-token", type="token", fields={"token": "t"}
        )
        self.inventory = create_inventory(actor=ops, name="lab", hosts=[host("web-0")])
        self.approval = self._request_gated("gated-main").last_run.approval
        self.source = add_source("main-source", self.teams["alpha"])
        self.grow(FEW)
        audit = api_client_for(ops).get("/api/audit/").json()["results"]
        self.objects = {
            "template": "echo",
            "team": "alpha",
            "service": self.service.pk,
            "expiring": self.expiring.pk,
            "operable": self.operable.pk,
            "action": "note",
            "run": self.service.last_run_id,
            "approval": self.approval.pk,
            "destination": self.destination.pk,
            "credential": self.credential.pk,
            "source": self.source.pk,
            "inventory": self.inventory.name,
            "host": "web-0",
            "audit": audit[0]["id"],
        }

    def _request_gated(self, name):
        from provisioning.services import request_service

        return request_service(user=self.owner, template=self.catalog["gated"],
                               team=self.teams["alpha"], name=name,
                               inputs={"message": "hi", "environment": "prod"})  # fmt: skip

    def grow(self, count: int) -> None:
        from accounts.services import create_token
        from credentials.services import create_credential
        from inventories.services import add_host, create_inventory
        from notes.services import add_note
        from notifications.models import Delivery
        from provisioning.models import Run, ServiceDependency, ServiceEvent
        from teams.models import Team

        start, self.added = self.added, self.added + count
        main = self.service
        for n in range(start, self.added):
            for team in ("alpha", "beta"):
                other = make_service(template=self.catalog["echo"], team=self.teams[team],
                                     name=f"{team}-{n}", user=self.owner)  # fmt: skip
                make_events(other.last_run, 2)
                # Services that use the main one (some of another team), and that it uses.
                ServiceDependency.objects.create(service=other, uses=main, input="db")
                ServiceDependency.objects.create(service=main, uses=other, input=f"{team}-{n}")
            self._request_gated(f"gated-{n}")
            operable = make_service(template=self.catalog["operable"], team=self.teams["alpha"],
                                    name=f"operable-{n}", user=self.owner)  # fmt: skip
            # A custom action in progress (the home page names it by its title).
            Run.objects.create(service=operable, action="note", status="running",
                               template_version=operable.template_version,
                               created_by=self.owner)  # fmt: skip
            Run.objects.create(service=self.operable, action="note", status="failed",
                               template_version=self.operable.template_version,
                               parameters={"text": str(n)}, created_by=self.owner)  # fmt: skip
            run = Run.objects.create(service=main, action="update", status="failed",
                                     template_version=main.template_version,
                                     inputs={"message": str(n)}, created_by=self.owner,
                                     error=f"failure {n}")  # fmt: skip
            ServiceEvent.objects.create(service=main, kind="status", run=run,
                                        from_status="active", to_status="updating",
                                        actor=self.owner, message=f"event {n}")  # fmt: skip
            add_note(user=self.owner, service=main, body=f"Note *{n}*.")
            add_template(n, source=add_source(f"source-{n}", self.teams["alpha"]))
            Team.objects.create(slug=f"team-{n}", name=f"Team {n}").members.add(self.owner)
            self.teams["alpha"].members.add(
                type(self.owner).objects.create_user(f"colleague-{n}", password="pw")
            )
            create_token(user=self.owner, name=f"token-{n}")
            create_credential(user=self.ops, name=f"token-{n}", type="token",
                              fields={"token": f"t{n}"})  # fmt: skip
            create_inventory(actor=self.ops, name=f"lab-{n}", hosts=[host("a"), host("b")])
            add_host(actor=self.ops, inventory=self.inventory, name=f"web-{n + 1}",
                     address="10.0.0.2", host_key=HOST_KEY)  # fmt: skip
            Delivery.objects.create(destination=self.destination, event="test", title="t",
                                    body=f"b{n}")  # fmt: skip
        make_events(main.last_run, count * 5, start=start * 5 + 1)


def add_source(name: str, team):
    """A preview source listing `team`, with a sync that found a problem."""
    from catalog.models import CatalogSource, CatalogSync

    source = CatalogSource.objects.create(
        name=name, url=f"https://git.example.com/{name}.git", preview=True, commit="a" * 40
    )
    source.teams.add(team)
    problem = {"file": "x/template.yml", "field": "slug", "message": "offered twice"}
    CatalogSync.objects.create(directory=name, source=source, problems=[problem])
    return source


def add_template(n: int, source=None) -> None:
    template = Template.objects.create(
        slug=f"t-{n}", name=f"T {n}", category=f"c{n % 3}", source=source
    )
    version = TemplateVersion.objects.create(
        template=template,
        source=source,
        commit="b" * 40 if source else "",
        version="1.0.0",
        digest="x",
        files={},
        manifest={
            "name": "T",
            "version": "1.0.0",
            "inputs": {"type": "object"},
            "playbooks": {},
            "outputs": {"o": {"title": "O"}},
        },
    )
    # A preview source's templates have a preview version (its listed team sees it), some
    # nothing else yet.
    preview = None
    if source is not None:
        manifest = {**version.manifest, "version": "1.1.0"}
        preview = TemplateVersion.objects.create(template=template, source=source,
                                                 commit="c" * 40, version="1.1.0", digest="y",
                                                 files={}, manifest=manifest)  # fmt: skip
    Template.objects.filter(pk=template.pk).update(
        current_version=None if preview and n % 3 == 2 else version,
        preview_version=preview,
        errors=[{"file": "f", "field": "", "message": "m"}] if n % 2 else [],
    )


def host(name: str) -> dict:
    return {"name": name, "address": "10.0.0.1", "host_key": HOST_KEY}


@pytest.fixture
def world(catalog, teams, owner, ops, settings) -> World:
    settings.GANGPLANK_METRICS_TOKEN = METRICS_TOKEN
    return World(catalog, teams, owner, ops)


def caller(world: World, who: str, path: str):
    """What asks for `path` as `who`: the API client with a token, or the portal's client."""
    if who == PROMETHEUS:
        return partial(Client().get, HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")
    user = {MEMBER: world.owner, PLATFORM: world.ops}.get(who)
    if path.startswith("/api/"):
        return (api_client_for(user) if user else APIClient()).get
    client = Client()
    if user:
        client.force_login(user)
    return client.get


def cost(fetch, urls: list[str]) -> int:
    """The most queries any of `urls` costs."""
    counts = []
    for url in urls:
        with CaptureQueriesContext(connection) as queries:
            response = fetch(url)
            if response.streaming:
                b"".join(response.streaming_content)
        assert response.status_code == 200, (url, response.status_code)
        counts.append(len(queries))
    return max(counts)


@pytest.mark.parametrize("app", sorted(querycounts.files()))
def test_each_page_costs_at_most_its_baseline_whatever_the_rows(world, app):
    """An app's pages and endpoints (its file's), each asked for with 3 rows of everything,
    then with 15."""
    keys = sorted(querycounts.files()[app])
    if querycounts.UPDATE:  # and the new pages of this app, which have no baseline yet
        views = querycounts.routes()
        new = set(REQUESTS) - set(querycounts.baselines())
        keys += sorted(key for key in new if views[key].__module__.split(".")[0] == app)
    fetches = {key: request_for(world, key) for key in keys}
    for fetch, urls in fetches.values():
        fetch(urls[0])  # what a process reads once (content types, the catalogue's files)
    few = {key: cost(*fetches[key]) for key in keys}
    world.grow(MORE)
    many = {key: cost(*fetches[key]) for key in keys}

    if querycounts.UPDATE:
        for key in keys:
            querycounts.record(key, max(few[key], many[key]), app=app)
    over = {key: (few[key], many[key], querycounts.budget(key)) for key in keys
            if not few[key] == many[key] <= querycounts.budget(key)}  # fmt: skip
    assert over == {}, "(with 3 rows, with 15, baseline): grows with rows or over baseline"


def request_for(world: World, key: str) -> tuple:
    """How to ask for the route `key`, and its URLs: plain, then filtered (FILTERED)."""
    who, parameters = REQUESTS[key]
    url = key.format(**{name: world.objects[row] for name, row in parameters.items()})
    return caller(world, who, key), [url, *(url + query for query in FILTERED.get(key, ()))]
