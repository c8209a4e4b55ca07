"""Every portal page in Debian's chromium, for a developer (a member of team alpha) and for a
platform engineer: axe-core finds no serious or critical violation, and the console shows no
error. The pages come from the URL configuration: a new route is either given the rows its
parameters name (PAGES) or left out with a reason (EXCLUDED), or this test fails.

On failure, every failing page view is listed with each violation's rule, impact, elements
and fix. A11Y_SHOTS=1 also saves a screenshot of every page as /tmp/a11y-<role>-<path>.png."""

import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from axe_playwright_python.base import AXE_SCRIPT
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from querycounts import route_key

from factories import make_events, make_service, newer_version
from testkit import REPORT_CSP_VIOLATIONS

pytestmark = [pytest.mark.browser]

DEVELOPER, PLATFORM = "developer", "platform engineer"
BOTH = (DEVELOPER, PLATFORM)

# Each page: who opens it, and the rows of `world` its parameters name. Pages for platform
# engineers only are refused to developers (tests/test_permission_matrix.py).
PAGES: dict[str, tuple[tuple[str, ...], dict[str, str]]] = {
    "/": (BOTH, {}),
    "/password/": (BOTH, {}),
    "/tokens/": (BOTH, {}),
    "/dora/": (BOTH, {}),
    "/catalog/": (BOTH, {}),
    "/catalog/-/status/": ((PLATFORM,), {}),
    "/catalog/-/sources/": ((PLATFORM,), {}),
    "/catalog/-/sources/new/": ((PLATFORM,), {}),
    "/catalog/-/sources/{pk}/": ((PLATFORM,), {"pk": "source"}),
    "/catalog/-/sources/{pk}/delete/": ((PLATFORM,), {"pk": "source"}),
    "/catalog/{slug}/": (BOTH, {"slug": "template"}),
    "/services/": (BOTH, {}),
    "/services/{pk}/": (BOTH, {"pk": "service"}),
    "/services/{pk}/update/": (BOTH, {"pk": "service"}),
    "/services/{pk}/upgrade/": (BOTH, {"pk": "service"}),
    "/services/{pk}/deprovision/": (BOTH, {"pk": "service"}),
    "/services/{pk}/extend/": (BOTH, {"pk": "expiring"}),
    "/services/{pk}/actions/{name}/": (BOTH, {"pk": "operable", "name": "action"}),
    "/runs/{pk}/": (BOTH, {"pk": "run"}),
    "/teams/": (BOTH, {}),
    "/teams/{slug}/": (BOTH, {"slug": "team"}),
    "/teams/{slug}/notifications/": (BOTH, {"slug": "team"}),
    "/approvals/": (BOTH, {}),
    "/approvals/{pk}/": (BOTH, {"pk": "approval"}),
    "/audit/": ((PLATFORM,), {}),
    "/credentials/": ((PLATFORM,), {}),
    "/credentials/new/": ((PLATFORM,), {}),
    "/credentials/{pk}/": ((PLATFORM,), {"pk": "credential"}),
    "/credentials/{pk}/delete/": ((PLATFORM,), {"pk": "credential"}),
    "/inventories/": ((PLATFORM,), {}),
    "/inventories/-/new/": ((PLATFORM,), {}),
    "/inventories/{name}/": ((PLATFORM,), {"name": "inventory"}),
    "/inventories/{name}/edit/": ((PLATFORM,), {"name": "inventory"}),
    "/inventories/{name}/delete/": ((PLATFORM,), {"name": "inventory"}),
    "/inventories/{name}/hosts/new/": ((PLATFORM,), {"name": "inventory"}),
    "/inventories/{name}/hosts/{host}/edit/": ((PLATFORM,), {"name": "inventory", "host": "host"}),
    "/inventories/{name}/hosts/{host}/remove/": (
        (PLATFORM,),
        {"name": "inventory", "host": "host"},
    ),
    # Django's admin: its index only (a platform engineer who is staff); see EXCLUDED.
    "/admin/": ((PLATFORM,), {}),
}

# More states of some pages (a route, with a query string or not), each opened by the roles
# of its route: path, rows, why.
VARIANTS = [
    ("/runs/{pk}/", {"pk": "running"}, "a run in progress, its log growing"),
    ("/runs/{pk}/", {"pk": "failed"}, "a failed run, with its error and a coloured log"),
    ("/services/{pk}/", {"pk": "gated"}, "a service waiting for an approval"),
    ("/services/{pk}/", {"pk": "broken"}, "a failed service, with its error"),
    ("/services/{pk}/", {"pk": "drifting"}, "a drifted service, with what changed"),
    ("/runs/{pk}/", {"pk": "preview"}, "a preview, with what it would change"),
    ("/dora/?days=90", {}, "14 weeks of charts, wider than their column: they scroll"),
]
# And the request form (/catalog/{slug}/) of every template of the catalogue: each its own.

# Forms sent empty (past the browser's own checks), to check the page with their errors: the
# roles, the page, the form (a CSS selector).
SENT_EMPTY = [
    (BOTH, "/catalog/{slug}/", {"slug": "template"}, "main form.card"),
    (BOTH, "/password/", {}, "#password-change"),
    (BOTH, "/services/{pk}/deprovision/", {"pk": "service"}, "main form.border-danger"),
    ((PLATFORM,), "/credentials/new/?type=password", {}, "#credential-form"),
    ((PLATFORM,), "/inventories/-/new/", {}, "#inventory-form"),
    ((PLATFORM,), "/catalog/-/sources/new/", {}, "#source-form"),
    ((PLATFORM,), "/inventories/{name}/hosts/new/", {"name": "inventory"}, "main form.card"),
    ((PLATFORM,), "/teams/{slug}/", {"slug": "team"}, "#add-member"),
    ((PLATFORM,), "/teams/{slug}/notifications/", {"slug": "team"}, "#add-destination"),
]

# A log in Ansible's colours (ok, changed, skipping, failed, debug, verbose, warning).
ANSIBLE_COLOURS = [
    "\x1b[0;32mok: [localhost]\x1b[0m",
    "\x1b[0;33mchanged: [localhost]\x1b[0m",
    "\x1b[0;36mskipping: [localhost]\x1b[0m",
    "\x1b[0;31mfatal: [localhost]: FAILED! => disk full\x1b[0m",
    "\x1b[1;30mdebug: a dark grey line\x1b[0m",
    "\x1b[0;34mverbose: a blue line\x1b[0m",
    "\x1b[1;35m[WARNING]: a purple line\x1b[0m",
    "\x1b[0;91mbright red\x1b[0m \x1b[0;94mbright blue\x1b[0m \x1b[0;90mbright black\x1b[0m",
]

# A preview's diff, longer than its box shows: the box scrolls.
PREVIEW_DIFF = "--- before\n+++ after\n@@ -1 +1 @@\n-talker\n+maybe\n" + " line\n" * 40

POST_ONLY = "takes only a POST: an action of a page's form, not a page"
# Routes that are not pages: why each is left out.
EXCLUDED = {
    "/login/": "checked as anyone sees it, before each role signs in (Checker.sign_in)",
    "/logout/": POST_ONLY,
    "/tokens/revoke/": POST_ONLY,
    "/teams/{slug}/remove/": POST_ONLY,
    "/teams/{slug}/quota/": POST_ONLY,
    "/teams/{slug}/notifications/{pk}/remove/": POST_ONLY,
    "/teams/{slug}/notifications/{pk}/test/": POST_ONLY,
    "/services/{pk}/notes/": POST_ONLY,
    "/runs/{pk}/cancel/": POST_ONLY,
    "/runs/{pk}/retry/": POST_ONLY,
    "/services/{pk}/refresh/": POST_ONLY,
    "/runs/{pk}/apply/": POST_ONLY,
    "/catalog/-/sources/{pk}/sync/": POST_ONLY,
    "/catalog/-/sources/{pk}/promote/": POST_ONLY,
    "/catalog/-/sources/{pk}/rotate-secret/": POST_ONLY,
    "/runs/{pk}/log/": "an htmx fragment: the log lines of the run page, checked there",
    "/runs/{pk}/status/": "an htmx fragment: the run's status on its pages, checked there",
    "/runs/{pk}/log.txt": "the run's log as plain text",
    "/runs/{pk}/download/": "the run's log as a file to download",
    "/audit/export/": "a download (CSV or JSON lines)",
    "/metrics": "Prometheus' text format",
    "/healthz": "plain text, for load balancers",
    "/favicon.ico": "the icon (an image)",
    "/admin/password_change/": "a redirect to /password/",
}
# Whole families of routes, by prefix: why each is left out.
EXCLUDED_PREFIXES = {
    "/api/": "the REST API: JSON for programs (its Swagger page is drf-spectacular's)",
    "/admin/": "Django's admin internals (its index, /admin/, is checked)",
}

SERIOUS = ("serious", "critical")
AXE_RUN = "axe.run({resultTypes: ['violations']})"
CHECK_VALIDITY = "document.querySelectorAll('form').forEach((form) => form.checkValidity())"
# The ids that labels and ARIA attributes name and the page lacks (axe only flags these as
# "needs review"): a help text or an error a screen reader never reads.
BROKEN_REFERENCES = """() => {
  const broken = [];
  const names = ["for", "aria-describedby", "aria-labelledby", "aria-controls", "list"];
  for (const element of document.querySelectorAll(names.map((name) => `[${name}]`).join())) {
    for (const name of names) {
      if (!element.hasAttribute(name) || (name === "for" && element.tagName !== "LABEL")) continue;
      const ids = element.getAttribute(name).split(/\\s+/).filter(Boolean);
      const missing = ids.length ? ids.filter((id) => !document.getElementById(id)) : ["(empty)"];
      const html = element.outerHTML.slice(0, 140);
      for (const id of missing) broken.push(`${name}="${id}" on ${html}`);
    }
  }
  return broken;
}"""
SEND = "(selector) => HTMLFormElement.prototype.submit.call(document.querySelector(selector))"


def portal_routes() -> set[str]:
    """Every route of the site (the admin's and the API's too), as route keys
    ("/services/{pk}/"), without the API's format suffixes."""

    def walk(patterns, prefix=""):
        for pattern in patterns:
            text = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, text)
            elif isinstance(pattern, URLPattern) and "format>" not in text:
                yield route_key(text)

    return set(walk(get_resolver().url_patterns))


def excluded(key: str) -> str | None:
    return EXCLUDED.get(key) or next(
        (why for prefix, why in EXCLUDED_PREFIXES.items() if key.startswith(prefix)), None
    )


def test_it_knows_every_route_as_a_page_or_as_left_out_for_a_reason():
    routes = portal_routes()
    unknown = sorted(key for key in routes if key not in PAGES and not excluded(key))
    assert unknown == [], (
        "routes neither checked nor left out: give each its rows in PAGES of "
        f"tests/test_accessibility.py, or a reason in EXCLUDED: {unknown}"
    )
    gone = sorted((set(PAGES) | set(EXCLUDED)) - routes)
    assert gone == [], f"routes gone: remove them from tests/test_accessibility.py: {gone}"


@pytest.fixture
def world(transactional_db, catalog, teams, owner, ops) -> dict[str, object]:
    """A row for every parameter, made (and committed) before the browser starts: services of
    team alpha with runs (running, failed, a preview), events and a note; one that expires,
    one on an old version, one failed, one drifted, one waiting for an approval; a
    destination, a credential, an inventory with a host."""
    from catalog.selectors import requestable_templates
    from credentials.services import create_credential
    from inventories.services import create_inventory
    from notes.services import add_note
    from notifications.services import add_destination
    from provisioning.models import Run, RunEvent, Service
    from provisioning.services import request_service

    ops.is_staff = ops.is_superuser = True  # the admin's index is one of the pages
    ops.save()
    alpha = teams["alpha"]
    echo, drifty = catalog["echo"], catalog["drifty"]
    service = make_service(template=echo, team=alpha, name="web", user=owner)
    make_events(service.last_run, 5)
    add_note(user=owner, service=service, body="Checked by **owner**.")
    newer_version(echo)  # the service has an upgrade available
    expiring = make_service(template=drifty, team=alpha, name="ends", user=owner)
    expiring.expires_at = timezone.now() + timedelta(days=2)
    expiring.save(update_fields=["expires_at"])
    running = Run.objects.create(
        service=expiring, action="update", status="running", created_by=owner,
        template_version=expiring.template_version, inputs=expiring.inputs,
        started_at=timezone.now(),
    )  # fmt: skip
    make_events(running, 60)  # more than the log box shows: it scrolls
    failed = Run.objects.create(
        service=service, action="update", status="failed", created_by=owner,
        template_version=service.template_version, inputs=service.inputs,
        error="The task 'write' failed: disk full.",
    )  # fmt: skip
    now = timezone.now()
    RunEvent.objects.bulk_create(
        RunEvent(run=failed, counter=n, event="runner_on_ok", stdout=line, created_at=now)
        for n, line in enumerate(ANSIBLE_COLOURS, start=1)
    )
    # On the home page too: a failed service, and one that drifted.
    broken = make_service(template=echo, team=alpha, name="broken", user=owner, status="failed")
    Run.objects.filter(pk=broken.last_run_id).update(error="The task 'write' failed.")
    drifting = make_service(template=echo, team=alpha, name="drifting", user=owner)
    drift = [{"task": "Write", "host": "localhost", "diff": "--- a\n+++ b\n-x\n+y\n"}]
    Service.objects.filter(pk=drifting.pk).update(
        drifted=True, drift=drift, drift_checked_at=timezone.now()
    )
    # The service uses one and another uses it; a service it uses changed its outputs.
    from provisioning.models import ServiceDependency

    ServiceDependency.objects.create(service=drifting, uses=service, input="upstream")
    ServiceDependency.objects.create(service=service, uses=broken, input="database")
    Service.objects.filter(pk=service.pk).update(dependency_changed=True)
    preview = Run.objects.create(
        service=service, action="preview", status="succeeded", created_by=owner,
        template_version=service.template_version, inputs={"message": "maybe"},
        changes=[{"task": "Write", "host": "localhost", "diff": PREVIEW_DIFF}],
    )  # fmt: skip
    gated = request_service(
        user=owner, template=catalog["gated"], team=alpha, name="guarded",
        inputs={"message": "hi", "environment": "prod"},
    )  # fmt: skip
    operable = make_service(template=catalog["operable"], team=alpha, name="ops", user=owner)
    destination = add_destination(
        user=ops, team=alpha, name="chat", url="json://127.0.0.1:9/", events=["run_failed"]
    )
    credential = create_credential(user=ops, name="main-token", type="token", fields={"token": "t"})
    host_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGjGMCI8ScN3iZeeEUTuMpBv4TK7r2f2MAT1IzOK/AFF"
    web = {"name": "web-0", "address": "10.0.0.1", "host_key": host_key}
    inventory = create_inventory(actor=ops, name="lab", hosts=[web])
    from catalog.sources import create_source

    source, _ = create_source(
        user=ops, name="edge", url="https://git.example.com/edge.git", preview=True, teams=[alpha]
    )
    return {
        "template": "echo",
        "templates": [t.slug for t in requestable_templates(user=ops)],
        "team": "alpha",
        "service": service.pk,
        "expiring": expiring.pk,
        "operable": operable.pk,
        "action": "note",
        "run": service.last_run_id,
        "running": running.pk,
        "failed": failed.pk,
        "preview": preview.pk,
        "broken": broken.pk,
        "drifting": drifting.pk,
        "gated": gated.pk,
        "approval": gated.last_run.approval.pk,
        "destination": destination.pk,
        "credential": credential.pk,
        "source": source.pk,
        "inventory": inventory.name,
        "host": "web-0",
    }


@dataclass
class Finding:
    """What one page showed one role: axe's serious and critical violations, console errors."""

    role: str
    url: str
    why: str
    status: int | None = None
    violations: list[dict] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [f"--- as the {self.role}: {self.url}  ({self.why}; HTTP {self.status})"]
        for violation in self.violations:
            lines.append(
                f"  [{violation['impact']}] {violation['id']}: {violation['help']}"
                f"  <{violation['helpUrl']}>"
            )
            for node in violation["nodes"][:8]:
                summary = " ".join((node.get("failureSummary") or "").split())
                lines.append(f"      at {' '.join(map(str, node['target']))}")
                lines.append(f"         {node['html'][:160]}")
                if summary:
                    lines.append(f"         {summary[:300]}")
            if len(violation["nodes"]) > 8:
                lines.append(f"      ... and {len(violation['nodes']) - 8} more elements")
        lines.extend(f"  broken reference: {reference}" for reference in self.references)
        lines.extend(f"  console error: {message}" for message in self.console)
        return "\n".join(lines)


def page_views(world: dict) -> list[tuple[tuple[str, ...], str, str]]:
    """Every page view of the test: the roles that open it, its path, why it is there."""

    def path(key: str, rows: dict[str, str]) -> str:
        return key.format(**{name: world[row] for name, row in rows.items()})

    request_form = "/catalog/{slug}/"
    views = [(roles, path(key, rows), f"route {key}") for key, (roles, rows) in PAGES.items()]
    views += [(PAGES[key.split("?")[0]][0], path(key, rows), why) for key, rows, why in VARIANTS]
    views += [
        (PAGES[request_form][0], request_form.format(slug=slug), f"the request form of {slug}")
        for slug in world["templates"]
        if slug != world["template"]
    ]
    return views


def sent_empty(world: dict) -> list[tuple[tuple[str, ...], str, str]]:
    """The forms of SENT_EMPTY: the roles that send them, the page, the form."""
    return [
        (roles, key.format(**{name: world[row] for name, row in rows.items()}), form)
        for roles, key, rows, form in SENT_EMPTY
    ]


class Checker:
    """One browser context for one role: opens pages in it, runs axe, keeps what it found."""

    def __init__(self, browser, base_url: str, role: str):
        self.base_url, self.role = base_url, role
        # The width the portal's navigation is laid out for (issue 14): a common laptop's.
        self.context = browser.new_context(viewport={"width": 1366, "height": 768})
        self.context.add_init_script(REPORT_CSP_VIOLATIONS)
        # axe-core as the package bundles it, in every page as it loads: twice as fast as
        # sending it to each page after (half a megabyte of script).
        self.context.add_init_script(AXE_SCRIPT)
        self.page = self.context.new_page()
        self.page.set_default_timeout(30_000)
        self.errors: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        self.findings: list[Finding] = []
        self.checked = 0

    def _console(self, message) -> None:
        if message.type == "error":
            where = message.location.get("url", "")
            self.errors.append(f"{message.text}  ({where})" if where else message.text)

    def check(self, path: str, why: str, *, send: str = "") -> None:
        """Open `path` (and send its form `send` empty), run axe on it, keep what fails."""
        self.errors.clear()
        response = self.page.goto(self.base_url + path)
        expected = 200
        if send and self.page.locator(send).count() != 1:
            finding = Finding(self.role, path, why, status=response.status if response else None)
            finding.console.append(f"no form {send!r} here to send: fix SENT_EMPTY")
            self.findings.append(finding)
            return
        if send:
            expected = 400
            with self.page.expect_navigation() as sent:
                self.page.evaluate(SEND, send)
            response = sent.value
        finding = Finding(self.role, path, why, status=response.status if response else None)
        if finding.status != expected:
            finding.console.append(f"expected a {expected}, got {finding.status}")
        # What submitting does first: the browser compiles each `pattern` (an invalid one is a
        # console error) and checks every field.
        self.page.evaluate(CHECK_VALIDITY)
        results = self.page.evaluate(AXE_RUN)
        if os.environ.get("A11Y_SHOTS"):  # see the module's docstring
            name = (path.strip("/").replace("/", "_") or "home") + ("-sent" if send else "")
            self.page.screenshot(path=f"/tmp/a11y-{self.role}-{name}.png", full_page=True)
        finding.violations = [v for v in results["violations"] if v.get("impact") in SERIOUS]
        finding.references = self.page.evaluate(BROKEN_REFERENCES)
        refused = f"status of {expected} "  # the 400 of a form sent empty is no error
        finding.console += [error for error in self.errors if refused not in error]
        self.checked += 1
        if finding.violations or finding.console or finding.references:
            self.findings.append(finding)

    def sign_in(self, username: str) -> None:
        """The login page is checked as anyone sees it, then the role signs in through it."""
        self.check("/login/", "the login page, before signing in")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", f"pw-{username}")
        self.page.click("button[type=submit]")
        self.page.wait_for_url(f"{self.base_url}/")

    def close(self) -> None:
        self.context.close()


def test_it_shows_every_page_to_developers_and_platform_engineers_without_serious_barriers(
    world, live_server, browser_page
):
    """Each page of PAGES and VARIANTS, opened by each role it names (the login page by both,
    before they sign in through it): axe-core finds no serious or critical violation, the
    console shows no error, and the page answers 200. All failures are reported at once."""
    page, _ = browser_page
    users = {DEVELOPER: "owner", PLATFORM: "ops"}
    findings: list[Finding] = []
    checked = 0
    views, forms = page_views(world), sent_empty(world)
    for role, username in users.items():
        checker = Checker(page.context.browser, live_server.url, role)
        checker.sign_in(username)
        for roles, path, why in views:
            if role in roles:
                checker.check(path, why)
        for roles, path, form in forms:
            if role in roles:
                checker.check(path, f"{form} sent empty", send=form)
        findings += checker.findings
        checked += checker.checked
        checker.close()

    if findings:
        rules = Counter(v["id"] for finding in findings for v in finding.violations)
        rules.update("console error" for finding in findings if finding.console)
        rules.update("broken reference" for finding in findings if finding.references)
        summary = ", ".join(f"{rule} on {count}" for rule, count in rules.most_common())
        pytest.fail(
            f"{len(findings)} of {checked} page views fail (axe-core's serious or critical "
            f"violations, or console errors): {summary}\n" + "\n".join(map(str, findings)),
            pytrace=False,
        )
    listed = sum(len(roles) for roles, _, _ in views + forms) + len(users)  # and /login/
    assert checked == listed, f"{checked} page views checked, {listed} listed"
