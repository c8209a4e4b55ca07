"""Inputs whose choices the platform feeds (`x-gangplank-choices`): one of the team's services
of a template, or the items of a list fetched from a URL. The form lists them, and every
request, portal or API, is checked against the same choices (provisioning.choices).

The lists come from a real HTTP server on 127.0.0.1, which the suite allows (conftest's
local_notification_receivers); 127.0.0.1 stands for an internal address where a test takes
that allowance away.
"""

import html
import re
import time
from datetime import UTC, timedelta

import pytest
from django.utils import timezone
from pytest_httpserver import HTTPServer

from catalog.models import ChoiceList, Template
from catalog.services import sync_catalog
from conftest import api_client_for, request_via_api
from credentials.services import create_credential
from factories import make_service
from testkit import write_template

pytestmark = pytest.mark.django_db

REGIONS = {"data": [{"id": "eu-1", "name": "Europe"}, {"id": "us-2", "name": "America"}]}


def options(page: str, name: str) -> list[tuple[str, str]]:
    """The (value, label) of the options of the select named inputs-<name>, blank left out."""
    select = re.search(rf'<select name="inputs-{name}".*?</select>', page, re.S)
    assert select is not None, page
    found = re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select.group(0))
    return [(html.unescape(v), html.unescape(label)) for v, label in found if v]


def post_request(api, template: str, inputs: dict, name: str = "s1", team: str = "alpha"):
    return api.post(
        "/api/services/",
        {"template": template, "team": team, "name": name, "inputs": inputs},
        format="json",
    )


# Checked at sync


def _sync_one(tmp_path, source: dict) -> Template:
    write_template(
        tmp_path, "picky", properties={"pick": {"type": "string", "x-gangplank-choices": source}}
    )
    sync_catalog(directory=tmp_path)
    return Template.objects.get(slug="picky")


URL_SOURCE = {"url": "https://lists.example.com/r", "items": "$.data[*]", "value": "$.id",
              "label": "$.name"}  # fmt: skip
WHERE = "inputs.properties.pick.x-gangplank-choices"


def test_it_refuses_at_sync_a_jsonpath_that_does_not_parse(tmp_path):
    template = _sync_one(tmp_path, {**URL_SOURCE, "items": "$.data[*"})

    assert [(e["field"], "is not a JSONPath" in e["message"]) for e in template.errors] == [
        (f"{WHERE}.items", True)
    ]
    assert template.current_version is None


def test_it_refuses_at_sync_an_unknown_credential_and_one_that_cannot_fetch(tmp_path):
    unknown = _sync_one(tmp_path, {**URL_SOURCE, "credential": "nowhere"})
    assert [(e["field"], e["message"][:28]) for e in unknown.errors] == [
        (f"{WHERE}.credential", "unknown credential 'nowhere'")
    ]

    create_credential(user=None, name="a-file", type="file", fields={"content": "x"})
    wrong = _sync_one(tmp_path, {**URL_SOURCE, "credential": "a-file"})
    assert [(e["field"], "is of type file" in e["message"]) for e in wrong.errors] == [
        (f"{WHERE}.credential", True)
    ]


def test_a_list_may_not_depend_on_a_secret_input():
    from catalog.schema import schema_problems

    source = {**URL_SOURCE, "url": "https://lists.example.com/r?key={key}", "depends_on": "key"}
    properties = {"key": {"type": "string", "format": "password"},
                  "pick": {"type": "string", "x-gangplank-choices": source}}  # fmt: skip

    problems = schema_problems({"type": "object", "properties": properties})

    assert problems == [("properties.pick.x-gangplank-choices.depends_on", "must not be a secret")]


def test_a_credential_that_fetches_a_list_is_linked_and_cannot_be_deleted(tmp_path):
    from core.errors import Conflict
    from credentials.services import delete_credential

    token = create_credential(user=None, name="lists", type="token", fields={"token": "t"})
    template = _sync_one(tmp_path, {**URL_SOURCE, "credential": "lists"})

    assert template.errors == [] and list(template.credentials.all()) == [token]
    with pytest.raises(Conflict):
        delete_credential(user=None, credential=token)


# Another service of the team


@pytest.fixture
def databases(catalog, teams, owner):
    postgres = catalog["postgres-database"]
    return {
        "orders": make_service(template=postgres, team=teams["alpha"], name="orders-db"),
        "billing": make_service(template=postgres, team=teams["alpha"], name="billing-db"),
        "gone": make_service(
            template=postgres, team=teams["alpha"], name="gone-db", status="deprovisioned"
        ),
        "theirs": make_service(template=postgres, team=teams["beta"], name="beta-db"),
        "echo": make_service(template=catalog["echo"], team=teams["alpha"], name="an-echo"),
    }


def test_the_form_lists_the_teams_active_services_of_the_template_by_name(signed_in, databases):
    page = signed_in.get("/catalog/db-consumer/").content.decode()

    assert options(page, "database") == [
        (str(databases["billing"].pk), "billing-db"),
        (str(databases["orders"].pk), "orders-db"),
    ]


def test_the_form_lists_the_services_of_the_team_posted(signed_in, databases, owner, teams):
    teams["beta"].members.add(owner)

    unchosen = signed_in.get("/catalog/db-consumer/").content.decode()
    posted = signed_in.post("/catalog/db-consumer/", {"team": "beta"}).content.decode()

    assert options(unchosen, "database") == [] and "Choose the team first." in unchosen
    assert options(posted, "database") == [(str(databases["theirs"].pk), "beta-db")]


def test_choosing_the_team_refreshes_the_services_offered(signed_in, databases, owner, teams):
    teams["beta"].members.add(owner)

    page = signed_in.get("/catalog/db-consumer/").content.decode()
    team_select = page.split('<select name="team"')[1].split(">")[0]
    refreshed = signed_in.post("/catalog/db-consumer/", {"team": "beta", "_refresh": "1"})

    assert 'hx-post=""' in team_select and 'hx-trigger="change"' in team_select
    assert refreshed.status_code == 200 and "invalid-feedback" not in refreshed.content.decode()
    assert options(refreshed.content.decode(), "database") == [
        (str(databases["theirs"].pk), "beta-db")
    ]


def test_the_api_takes_a_services_id_and_refuses_any_other_value(databases, owner):
    api = api_client_for(owner)

    for value in (databases["theirs"].pk, databases["gone"].pk, databases["echo"].pk, "x", 9):
        refused = post_request(api, "db-consumer", {"database": str(value)})
        assert refused.status_code == 400, value
        assert refused.json() == {
            "inputs": {"database": ["Not one of the team's active postgres-database services."]}
        }

    orders = str(databases["orders"].pk)
    created = request_via_api(api, "db-consumer", "uses-orders", {"database": orders})
    assert created["inputs"] == {"database": orders}


def test_a_change_keeps_a_service_that_is_updating_and_refuses_one_deprovisioned(databases, owner):
    from core.errors import InvalidRequest
    from provisioning.models import Run, Service
    from provisioning.services import update_service

    orders = databases["orders"]
    consumer = make_service(
        template=Template.objects.get(slug="db-consumer"),
        team=orders.team,
        name="consumer",
    )
    Service.objects.filter(pk=consumer.pk).update(inputs={"database": str(orders.pk)})
    consumer.refresh_from_db()
    Service.objects.filter(pk=orders.pk).update(status="updating")

    run = update_service(user=owner, service=consumer, inputs={})
    assert run.inputs == {"database": str(orders.pk)}

    Run.objects.filter(pk=run.pk).update(status="succeeded")
    Service.objects.filter(pk=consumer.pk).update(status="active")
    consumer.refresh_from_db()
    Service.objects.filter(pk=orders.pk).update(status="deprovisioned")
    with pytest.raises(InvalidRequest) as refused:
        update_service(user=owner, service=consumer, inputs={})
    assert list(refused.value.errors["inputs"]) == ["database"]


def test_the_update_form_lists_the_service_it_uses_while_that_one_is_updating(databases, signed_in):
    from provisioning.models import Service

    orders, billing = databases["orders"], databases["billing"]
    consumer = make_service(
        template=Template.objects.get(slug="db-consumer"), team=orders.team, name="consumer"
    )
    Service.objects.filter(pk=consumer.pk).update(inputs={"database": str(orders.pk)})
    Service.objects.filter(pk=orders.pk).update(status="updating")

    page = signed_in.get(f"/services/{consumer.pk}/update/").content.decode()

    listed = [(str(billing.pk), "billing-db"), (str(orders.pk), "orders-db")]
    assert options(page, "database") == listed
    assert re.search(rf'<option value="{orders.pk}" selected>', page)


# A list fetched from a URL


@pytest.fixture
def lists():
    server = HTTPServer(host="127.0.0.1")
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


def url_template(tmp_path, server: HTTPServer, path: str = "/regions", **source) -> Template:
    """The template `regional`, whose input `region` lists the items at `path`."""
    choices = {"url": server.url_for(path), "items": "$.data[*]", "value": "$.id",
               "label": "$.name", **source}  # fmt: skip
    properties = {
        "cloud": {"type": "string", "title": "Cloud"},
        "region": {"type": "string", "title": "Region", "x-gangplank-choices": choices},
    }
    write_template(tmp_path, "regional", properties=properties)
    sync_catalog(directory=tmp_path)
    template = Template.objects.get(slug="regional")
    assert template.errors == []
    return template


def test_the_form_lists_the_fetched_items_and_the_api_takes_only_those(
    tmp_path, lists, signed_in, owner, teams
):
    lists.expect_request("/regions").respond_with_json(REGIONS)
    url_template(tmp_path, lists)

    page = signed_in.get("/catalog/regional/").content.decode()
    assert options(page, "region") == [("eu-1", "Europe"), ("us-2", "America")]

    api = api_client_for(owner)
    refused = post_request(api, "regional", {"region": "mars-1"})
    assert refused.status_code == 400
    assert refused.json() == {"inputs": {"region": ["Not one of the choices."]}}
    posted = {"team": "alpha", "name": "r0", "inputs-region": "mars-1"}
    in_portal = signed_in.post("/catalog/regional/", posted)
    assert in_portal.status_code == 400
    assert 'data-field-error="inputs-region">Not one of the choices.<' in in_portal.content.decode()
    assert request_via_api(api, "regional", "r1", {"region": "us-2"})["inputs"] == {
        "region": "us-2"
    }


def test_a_list_is_fetched_once_within_its_cache_time_and_again_after(
    tmp_path, lists, signed_in, owner
):
    lists.expect_request("/regions").respond_with_json(REGIONS)
    url_template(tmp_path, lists, cache="10m")
    api = api_client_for(owner)

    signed_in.get("/catalog/regional/")
    signed_in.get("/catalog/regional/")
    request_via_api(api, "regional", "r1", {"region": "eu-1"})
    assert len(lists.log) == 1
    cached = ChoiceList.objects.get()
    assert cached.fresh_until - cached.fetched_at == timedelta(minutes=10)

    ChoiceList.objects.update(fresh_until=timezone.now())  # the cache time has passed
    signed_in.get("/catalog/regional/")
    assert len(lists.log) == 2

    ChoiceList.objects.create(
        key="unused", host="old", fresh_until=timezone.now() - timedelta(days=2)
    )
    ChoiceList.objects.filter(host="127.0.0.1").update(fresh_until=timezone.now())
    signed_in.get("/catalog/regional/")
    assert list(ChoiceList.objects.values_list("host", flat=True)) == ["127.0.0.1"]


def test_the_credentials_token_reaches_the_list_and_nowhere_else(tmp_path, lists, signed_in):
    create_credential(user=None, name="lists-token", type="token", fields={"token": "tk-4242"})
    lists.expect_request("/regions", headers={"Authorization": "Bearer tk-4242"}).respond_with_json(
        REGIONS
    )
    url_template(tmp_path, lists, credential="lists-token")

    page = signed_in.get("/catalog/regional/").content.decode()

    assert options(page, "region") == [("eu-1", "Europe"), ("us-2", "America")]
    assert "tk-4242" not in page and "tk-4242" not in str(ChoiceList.objects.get().__dict__)


def test_a_password_credential_is_sent_as_basic_auth(tmp_path, lists, signed_in):
    create_credential(
        user=None, name="lists-login", type="password", fields={"username": "u", "password": "p"}
    )
    lists.expect_request("/regions", headers={"Authorization": "Basic dTpw"}).respond_with_json(
        REGIONS
    )
    url_template(tmp_path, lists, credential="lists-login")

    page = signed_in.get("/catalog/regional/").content.decode()

    assert options(page, "region") == [("eu-1", "Europe"), ("us-2", "America")]


def test_an_internal_address_is_refused_unless_the_deployment_allows_it(
    tmp_path, lists, signed_in, owner, settings
):
    settings.GANGPLANK_LISTS_ALLOWED_NETWORKS = ()
    lists.expect_request("/regions").respond_with_json(REGIONS)
    url_template(tmp_path, lists)

    page = html.unescape(signed_in.get("/catalog/regional/").content.decode())
    refused = post_request(api_client_for(owner), "regional", {"region": "eu-1"})

    assert "Could not load the list from 127.0.0.1: 127.0.0.1 is not a public address" in page
    assert options(page, "region") == []
    assert refused.status_code == 400 and list(refused.json()["inputs"]) == ["region"]
    assert len(lists.log) == 0


def test_when_the_source_is_down_the_form_says_so_and_keeps_the_last_known_values(
    tmp_path, lists, signed_in, owner
):
    lists.expect_request("/regions").respond_with_json(REGIONS)
    url_template(tmp_path, lists)
    signed_in.get("/catalog/regional/")
    known_at = ChoiceList.objects.get().fetched_at.astimezone(UTC)

    lists.stop()
    ChoiceList.objects.update(fresh_until=timezone.now())
    page = html.unescape(signed_in.get("/catalog/regional/").content.decode())

    assert "The list could not be refreshed: Could not load the list from 127.0.0.1" in page
    assert f"Showing the values known at {known_at:%H:%M} UTC." in page
    assert options(page, "region") == [("eu-1", "Europe"), ("us-2", "America")]
    api = api_client_for(owner)
    assert request_via_api(api, "regional", "r1", {"region": "eu-1"})["inputs"]["region"] == "eu-1"
    assert post_request(api, "regional", {"region": "mars-1"}, name="r2").status_code == 400


def test_a_dependent_list_is_fetched_with_the_other_inputs_value_as_data(
    tmp_path, lists, signed_in, owner
):
    encoded = "cloud=a%20b%2Fc%26x%3D%7Bcloud%7D"
    lists.expect_request("/regions", query_string=encoded).respond_with_json(REGIONS)
    url_template(tmp_path, lists, path="/regions?cloud={cloud}", depends_on="cloud")

    empty = html.unescape(signed_in.get("/catalog/regional/").content.decode())
    assert options(empty, "region") == [] and "Choose Cloud first." in empty
    api = api_client_for(owner)
    refused = post_request(api, "regional", {"region": "eu-1"})
    assert refused.json() == {"inputs": {"region": ["Choose Cloud first."]}}
    assert len(lists.log) == 0

    posted = signed_in.post(
        "/catalog/regional/",
        {"team": "alpha", "name": "", "inputs-cloud": "a b/c&x={cloud}"},
    ).content.decode()
    assert options(posted, "region") == [("eu-1", "Europe"), ("us-2", "America")]
    inputs = {"cloud": "a b/c&x={cloud}", "region": "eu-1"}
    assert request_via_api(api, "regional", "r1", inputs)["inputs"] == inputs
    assert len(lists.log) == 1


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ({"response_data": "<html>not json</html>"}, "the answer is not JSON."),
        ({"response_data": "{}", "status": 503}, "it answered 503 SERVICE UNAVAILABLE."),
        ({"response_data": "[" + "1," * 600_000 + "1]"}, "the answer is larger than 1 MiB."),
        (
            {"response_json": {"data": [{"id": n} for n in range(501)]}},
            "it has more than 500 items.",
        ),
        ({"response_data": "[" * 100_000}, "the answer could not be read."),
    ],
)
def test_a_list_that_cannot_be_read_is_a_readable_problem(
    tmp_path, lists, signed_in, answer, reason
):
    handler = lists.expect_request("/regions")
    if "response_json" in answer:
        handler.respond_with_json(answer["response_json"])
    else:
        handler.respond_with_data(**answer)
    url_template(tmp_path, lists)

    page = html.unescape(signed_in.get("/catalog/regional/").content.decode())

    assert f"Could not load the list from 127.0.0.1: {reason}" in page
    assert options(page, "region") == []
    assert ChoiceList.objects.get().last_error.endswith(reason)  # not fetched on every page


def test_a_list_of_many_items_is_refused_even_when_they_repeat(tmp_path, lists, signed_in):
    lists.expect_request("/regions").respond_with_json({"data": [{"id": "eu-1"}] * 5001})
    url_template(tmp_path, lists)

    page = html.unescape(signed_in.get("/catalog/regional/").content.decode())

    assert "Could not load the list from 127.0.0.1: it has too many items (more than 5000)." in page
    assert options(page, "region") == []


def test_a_source_that_answers_slowly_is_given_up_at_the_deadline(
    tmp_path, lists, signed_in, monkeypatch
):
    from werkzeug import Response

    from core import listfetch

    monkeypatch.setattr(listfetch, "DEADLINE_SECONDS", 1)

    def dripping(request):
        def body():
            yield b'{"data": ['
            for _ in range(30):  # a byte every 0.2 s: each well within the 5 s timeout
                time.sleep(0.2)
                yield b" "
            yield b"]}"

        return Response(body(), content_type="application/json")

    lists.expect_request("/regions").respond_with_handler(dripping)
    url_template(tmp_path, lists)

    started = time.monotonic()
    page = html.unescape(signed_in.get("/catalog/regional/").content.decode())

    assert "Could not load the list from 127.0.0.1: no answer within 1 s." in page
    assert time.monotonic() - started < 3


def test_inputs_fetching_the_same_url_each_get_what_their_own_paths_extract(
    tmp_path, lists, signed_in, owner
):
    lists.expect_request("/regions").respond_with_json(REGIONS)
    by_id = {"url": lists.url_for("/regions"), "items": "$.data[*]", "value": "$.id",
             "label": "$.name"}  # fmt: skip
    by_name = {**by_id, "value": "$.name", "label": "$.id"}
    properties = {
        "region": {"type": "string", "x-gangplank-choices": by_id},
        "area": {"type": "string", "x-gangplank-choices": by_name},
    }
    write_template(tmp_path, "regional", properties=properties)
    sync_catalog(directory=tmp_path)

    page = signed_in.get("/catalog/regional/").content.decode()

    assert options(page, "region") == [("eu-1", "Europe"), ("us-2", "America")]
    assert options(page, "area") == [("Europe", "eu-1"), ("America", "us-2")]
    refused = post_request(api_client_for(owner), "regional", {"area": "eu-1"})
    assert refused.json() == {"inputs": {"area": ["Not one of the choices."]}}


@pytest.mark.parametrize("cloud", ["..", ".", "a b"])
def test_a_value_not_valid_for_its_own_input_does_not_fill_the_url(
    tmp_path, lists, signed_in, owner, cloud
):
    lists.expect_request("/hosts").respond_with_json(REGIONS)
    lists.expect_request("/teams/eu/hosts").respond_with_json(REGIONS)
    choices = {"url": lists.url_for("/teams/{cloud}/hosts"), "items": "$.data[*]",
               "value": "$.id", "label": "$.name", "depends_on": "cloud"}  # fmt: skip
    properties = {
        "cloud": {"type": "string", "title": "Cloud", "pattern": "[a-z.]+"},
        "region": {"type": "string", "x-gangplank-choices": choices},
    }
    write_template(tmp_path, "regional", properties=properties)
    sync_catalog(directory=tmp_path)

    posted = {"team": "alpha", "name": "", "inputs-cloud": cloud}
    page = html.unescape(signed_in.post("/catalog/regional/", posted).content.decode())
    refused = post_request(api_client_for(owner), "regional", {"cloud": cloud, "region": "eu-1"})

    assert options(page, "region") == [] and "Choose a valid Cloud first." in page
    assert refused.json()["inputs"]["region"] == ["Choose a valid Cloud first."]
    assert len(lists.log) == 0
    valid = signed_in.post("/catalog/regional/", {**posted, "inputs-cloud": "eu"})
    assert options(valid.content.decode(), "region") == [("eu-1", "Europe"), ("us-2", "America")]


@pytest.mark.parametrize(
    "url",
    [
        "https://{cloud}.example.com/r",
        "https://lists.example.com:{cloud}/r",
        "https://{cloud}@lists.example.com/r",
        "https://lists.example.com/r#{cloud}",
    ],
)
def test_a_placeholder_may_only_be_in_the_urls_path_or_query(url):
    from catalog.schema import schema_problems

    source = {**URL_SOURCE, "url": url, "depends_on": "cloud"}
    properties = {"cloud": {"type": "string"},
                  "pick": {"type": "string", "x-gangplank-choices": source}}  # fmt: skip

    problems = schema_problems({"type": "object", "properties": properties})

    assert problems == [
        (
            "properties.pick.x-gangplank-choices.url",
            "may hold {cloud} only in its path or its query",
        )
    ]
    for allowed in (
        "https://lists.example.com/t/{cloud}/r",
        "https://lists.example.com/r?c={cloud}",
    ):
        source["url"] = allowed
        assert schema_problems({"type": "object", "properties": properties}) == []


def test_the_jsonpaths_are_parsed_once_per_list_not_for_each_item(monkeypatch):
    from core import listfetch

    parsed = []
    real = listfetch.parse_jsonpath
    monkeypatch.setattr(listfetch, "parse_jsonpath", lambda path: parsed.append(path) or real(path))
    document = {"data": [{"id": f"r{n}", "name": f"R{n}"} for n in range(400)]}

    found = listfetch.pairs(document, items="$.data[*]", value="$.id", label="$.name")

    assert len(found) == 400 and sorted(parsed) == ["$.data[*]", "$.id", "$.name"]


def test_lists_follow_their_own_allowed_networks_not_the_notifications(
    tmp_path, lists, signed_in, settings
):
    settings.GANGPLANK_NOTIFY_ALLOWED_NETWORKS = ()  # loopback stays allowed for lists
    lists.expect_request("/regions").respond_with_json(REGIONS)
    url_template(tmp_path, lists)

    page = signed_in.get("/catalog/regional/").content.decode()

    assert options(page, "region") == [("eu-1", "Europe"), ("us-2", "America")]


@pytest.mark.django_db(transaction=True)
def test_one_process_refreshes_a_list_while_the_others_show_the_known_values(
    tmp_path, lists, signed_in, owner
):
    import threading

    from django.db import connection
    from django.test import Client
    from werkzeug import Response

    lists.expect_ordered_request("/regions").respond_with_json(REGIONS)
    url_template(tmp_path, lists)
    signed_in.get("/catalog/regional/")
    ChoiceList.objects.update(fresh_until=timezone.now())  # stale: the next page refreshes it

    fetching, release = threading.Event(), threading.Event()
    slow_answers = []

    def slow(request):
        slow_answers.append(request.path)
        fetching.set()
        release.wait(timeout=20)
        return Response('{"data": [{"id": "af-1", "name": "Africa"}]}', mimetype="text/json")

    lists.expect_request("/regions").respond_with_handler(slow)
    other = Client()
    other.force_login(owner)

    def another_process():
        try:
            other.get("/catalog/regional/")
        finally:
            connection.close()  # this thread's own

    refreshing = threading.Thread(target=another_process)
    refreshing.start()
    try:
        assert fetching.wait(timeout=20)
        page = signed_in.get("/catalog/regional/").content.decode()
    finally:
        release.set()
        refreshing.join(timeout=20)

    assert options(page, "region") == [("eu-1", "Europe"), ("us-2", "America")]
    assert slow_answers == ["/regions"]
    assert ChoiceList.objects.get().values == [["af-1", "Africa"]]


def test_a_compressed_answer_is_read_as_the_json_it_holds(tmp_path, lists, signed_in):
    import gzip
    import json

    lists.expect_request("/regions").respond_with_data(
        gzip.compress(json.dumps(REGIONS).encode()),
        headers={"Content-Encoding": "gzip"},
        content_type="application/json",
    )
    url_template(tmp_path, lists)

    page = signed_in.get("/catalog/regional/").content.decode()

    assert options(page, "region") == [("eu-1", "Europe"), ("us-2", "America")]
