"""Lists you can work with and pages that say the right thing: named filter choices, the
deprovisioned kept out of the way, an audit trail that links and reads as before/after,
relative times, API page sizes, the navigation's sections, titled inputs, the favicon and the
DORA window as shown."""

import re
from datetime import timedelta

import pytest
from django.template import Context, Template
from django.utils import timezone

from factories import make_service
from provisioning.models import Run, Service

pytestmark = pytest.mark.django_db


def options(html: str, select_id: str) -> list[str]:
    """The labels of a <select>'s options."""
    select = re.search(rf'<select[^>]*id="{select_id}".*?</select>', html, re.S).group(0)
    return re.findall(r"<option[^>]*>([^<]*)</option>", select)


@pytest.fixture(autouse=True)
def fields_built_by_the_api_schema():
    """The API's schema builds form fields from each filterset class's own filters, and a
    suite may build it before any list page: the names must hold all the same."""
    from approvals.filtersets import ApprovalFilterSet
    from audit.filtersets import AuditEventFilterSet
    from provisioning.filtersets import ServiceFilterSet

    for filterset in (ApprovalFilterSet, AuditEventFilterSet, ServiceFilterSet):
        for filter_ in filterset.base_filters.values():
            assert filter_.field is not None


def test_it_names_every_filters_empty_choice_and_defaults_yes_no_to_any(signed_in, catalog):
    html = signed_in.get("/services/").content.decode()

    assert "---------" not in html and "Unknown" not in html
    assert options(html, "id_status")[0] == "Any status"
    assert options(html, "id_team")[0] == "Any team"
    assert options(html, "id_attention") == ["Any", "Yes", "No"]
    # "Last run" is a group of labelled checkboxes, not a list box cut off mid-item.
    assert '<legend class="form-label small mb-1">Last run' in html
    assert re.search(r'<input type="checkbox" name="run_status" value="failed"[^>]*>', html)
    assert "<select" not in html.split('id="id_run_status')[0][-200:]


def test_it_keeps_deprovisioned_services_out_of_the_lists_unless_asked(
    signed_in, api, catalog, teams, owner
):
    alpha = teams["alpha"]
    make_service(template=catalog["echo"], team=alpha, name="live", user=owner)
    gone = make_service(template=catalog["echo"], team=alpha, name="gone", user=owner)
    Service.objects.filter(pk=gone.pk).update(status="deprovisioned")

    def portal(**params):
        html = signed_in.get("/services/", params).content.decode()
        return {name for name in ("live", "gone") if f">{name}</a>" in html}

    def listed(**params):
        return {row["name"] for row in api.get("/api/services/", params).json()["results"]}

    assert portal() == listed() == {"live"}
    assert portal(include_deprovisioned="on") == listed(include_deprovisioned="true")
    assert listed(include_deprovisioned="true") == {"live", "gone"}
    assert portal(status="deprovisioned") == listed(status="deprovisioned") == {"gone"}
    assert listed(include_deprovisioned="false") == listed(include_deprovisioned="0") == {"live"}
    # A deprovisioned service's own address still answers.
    assert api.get(f"/api/services/{gone.pk}/").json()["status"] == "deprovisioned"
    html = signed_in.get("/services/", {"include_deprovisioned": "on"}).content.decode()
    assert re.search(r'name="include_deprovisioned"[^>]*checked', html)


def test_a_deprovisioned_services_page_says_its_outputs_are_gone(signed_in, catalog, teams, owner):
    service = make_service(template=catalog["echo"], team=teams["alpha"], name="old", user=owner)
    Service.objects.filter(pk=service.pk).update(status="deprovisioned")

    html = signed_in.get(f"/services/{service.pk}/").content.decode()

    assert 'data-output="echo"' not in html
    assert "Removed when the service was deprovisioned." in html


def test_it_shows_inputs_and_outputs_under_their_titles_with_copy_buttons(
    signed_in, catalog, teams, owner
):
    service = make_service(template=catalog["echo"], team=teams["alpha"], name="titled", user=owner)

    Run.objects.filter(pk=service.last_run_id).update(outputs=service.outputs)

    html = signed_in.get(f"/services/{service.pk}/").content.decode()
    run_html = signed_in.get(f"/runs/{service.last_run_id}/").content.decode()

    assert '<dt class="col-sm-4" title="message">Message</dt>' in html
    assert '<span data-input="message" data-copy-source>titled</span>' in html
    assert 'aria-label="Copy Echo"' in html and 'aria-label="Copy Echo"' in run_html
    assert ">message</dt>" not in html + run_html


def test_secret_inputs_stay_masked_under_their_titles(signed_in, catalog, teams, owner):
    from core.secrets import PLACEHOLDER

    service = make_service(template=catalog["leaky"], team=teams["alpha"], name="shh", user=owner)
    Service.objects.filter(pk=service.pk).update(
        inputs={"label": "l", "password": PLACEHOLDER}, secrets="unreadable"
    )

    html = signed_in.get(f"/services/{service.pk}/").content.decode()

    assert ">Password</dt>" in html and f">{PLACEHOLDER}</span>" in html


def test_the_audit_trail_links_what_still_exists_and_the_viewer_may_see(
    client, catalog, teams, owner, ops, auditor
):
    from audit import services as audit
    from credentials.services import create_credential
    from inventories.services import create_inventory, delete_inventory

    service = make_service(template=catalog["echo"], team=teams["alpha"], name="linked", user=owner)
    audit.record(action="test.service", obj=service, changes={"size": ["small", "large"]})
    gone = create_inventory(actor=ops, name="gone")
    audit.record(action="test.gone", obj=gone, changes={"names": [["a", "b"], []]})
    delete_inventory(actor=ops, inventory=gone)
    credential = create_credential(user=ops, name="tok", type="token", fields={"token": "t-1234"})
    audit.record(action="test.team", obj=teams["beta"], changes={"flag": [None, True]})

    client.force_login(ops)
    html = client.get("/audit/", {"action": "test."}).content.decode()
    assert f'<a href="/services/{service.pk}/">alpha/linked</a>' in html
    assert f'<a href="/teams/beta/">{teams["beta"]}</a>' in html
    assert ">gone</a>" not in html and "<td>gone</td>" in html
    assert "['a', 'b']" not in html and '<del class="before">a, b</del>' in html
    assert '<del class="before">small</del>' in html and '<ins class="after">large</ins>' in html
    assert '<ins class="after">yes</ins>' in html

    html = client.get("/audit/", {"action": "credential."}).content.decode()
    assert f'<a href="/credentials/{credential.pk}/">' in html
    client.force_login(auditor)  # reads the trail, but credentials are platform engineers'
    html = client.get("/audit/", {"action": "credential."}).content.decode()
    assert 'data-action="credential.created"' in html and "/credentials/" not in html


def test_the_audit_object_type_is_a_choice_of_known_types(client, ops):
    from django.apps import apps
    from django.urls import reverse

    from audit.objects import TYPES

    for kind in TYPES:  # every type named is a model, and its page reverses
        assert apps.get_model(kind.label)._meta.label_lower == kind.label
        if kind.url_name:
            reverse(kind.url_name, kwargs={kind.url_field: "1"})
    client.force_login(ops)
    html = client.get("/audit/").content.decode()
    assert options(html, "id_object_type")[:3] == ["Any object type", "Approval", "Catalogue sync"]
    refused = client.get("/api/audit/", {"object_type": "nope.nope"})
    assert refused.status_code == 400 and "object_type" in refused.json()


def test_relative_times_say_just_now_with_the_exact_time_on_hover(signed_in, catalog, teams, owner):
    now = timezone.now()

    def ago(moment) -> str:
        return Template("{% load gangplank %}{{ moment|ago }}").render(Context({"moment": moment}))

    assert ">just now</time>" in ago(now - timedelta(seconds=20))
    assert ">3\xa0minutes ago</time>" in ago(now - timedelta(minutes=3, seconds=5))
    assert ">in 2\xa0days</time>" in ago(now + timedelta(days=2, minutes=1))
    exact = now.replace(microsecond=0)
    assert f'title="{exact:%Y-%m-%d %H:%M:%S} UTC"' in ago(exact)

    make_service(template=catalog["echo"], team=teams["alpha"], name="fresh", user=owner)
    html = signed_in.get("/services/").content.decode()
    assert ">just now</time> by owner" in html and "0\xa0minutes" not in html


def test_the_api_pages_by_page_size_up_to_its_documented_maximum(api, catalog, teams, owner):
    for n in range(3):
        make_service(template=catalog["echo"], team=teams["alpha"], name=f"s{n}", user=owner)

    two = api.get("/api/services/", {"page_size": 2}).json()
    assert len(two["results"]) == 2 and two["count"] == 3 and "page_size=2" in two["next"]
    assert len(api.get("/api/services/").json()["results"]) == 3
    for wrong in ("0", "201", "many", "-1"):
        answer = api.get("/api/services/", {"page_size": wrong})
        assert answer.status_code == 400, wrong
        assert answer.json() == {"page_size": ["A whole number from 1 to 200."]}
    assert api.get("/api/services/", {"page_size": 200}).status_code == 200

    schema = api.get("/api/schema/", {"format": "json"}).json()
    parameters = schema["paths"]["/api/services/"]["get"]["parameters"]
    page_size = next(p for p in parameters if p["name"] == "page_size")
    assert page_size["schema"] == {"type": "integer", "minimum": 1, "maximum": 200}
    assert "1 to 200" in page_size["description"]


@pytest.mark.parametrize(
    ("path", "current"),
    [
        ("/catalog/", "Catalogue"),
        ("/catalog/echo/", "Catalogue"),
        ("/services/", "Services"),
        ("/services/{service}/", "Services"),
        ("/services/{service}/update/", "Services"),
        ("/services/{service}/deprovision/", "Services"),
        ("/runs/{run}/", "Services"),
        ("/teams/", "Teams"),
        ("/teams/alpha/", "Teams"),
        ("/approvals/", "Approvals"),
        ("/dora/", "DORA"),
        ("/credentials/", "Credentials"),
        ("/audit/", "Audit"),
        ("/tokens/", "API tokens"),
        ("/", None),
    ],
)
def test_the_navigation_marks_the_pages_section_and_only_it(
    client, catalog, teams, ops, path, current
):
    teams["alpha"].members.add(ops)
    service = make_service(template=catalog["echo"], team=teams["alpha"], name="nav", user=ops)
    client.force_login(ops)

    html = client.get(path.format(service=service.pk, run=service.last_run_id)).content.decode()

    nav = html[html.index('id="main-nav"') : html.index("</nav>")]
    marked = re.findall(r'active" aria-current="page"[^>]*>([^<]+)<', nav)
    assert marked == ([current] if current else [])
    operations = current in ("Credentials", "Audit")
    assert ('dropdown-toggle active" type="button" data-bs-toggle="dropdown" aria-expanded="false">'
            "Operations<" in nav) == operations  # fmt: skip


def test_it_has_a_favicon_at_its_usual_address(client, owner):
    answer = client.get("/favicon.ico")

    assert answer.status_code == 200 and answer["Content-Type"] == "image/svg+xml"
    assert answer.content.startswith(b"<svg")
    client.force_login(owner)
    assert 'rel="icon" href="/static/favicon' in client.get("/").content.decode()


def test_the_dora_window_shows_the_figures_window(signed_in, teams):
    html = signed_in.get("/dora/").content.decode()
    selected = re.search(r'<select[^>]*id="id_days".*?</select>', html, re.S).group(0)

    assert re.search(r'<option value="30" selected>30 days</option>', selected)
    assert signed_in.get("/dora/", {"days": "7"}).context["report"].days == 7
    assert signed_in.get("/dora/").context["report"].days == 30
