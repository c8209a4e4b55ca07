"""Requesting a service: the same schema checks in the portal's form and the API; bad input
gets field errors and creates nothing."""

import pytest

from catalog.schema import validate_inputs
from core.errors import InvalidRequest
from factories import make_service
from provisioning.models import Run, Service

pytestmark = pytest.mark.django_db

SCHEMA = {
    "type": "object",
    "required": ["db_name"],
    "additionalProperties": False,
    "properties": {
        "db_name": {
            "type": "string",
            "pattern": "^[a-z][a-z0-9_]{2,30}$",
            "x-gangplank-pattern-message": "Use 3 to 31 lowercase letters, digits and _.",
        },
        "size": {"type": "string", "enum": ["small", "medium", "large"], "default": "small"},
        "limit": {"type": "integer", "minimum": 1, "maximum": 500, "default": 20},
        "ratio": {"type": "number", "minimum": 0.5, "maximum": 10},
        "label": {"type": "string", "minLength": 2, "maxLength": 5},
        "email": {"type": "string", "format": "email"},
        "flag": {"type": "boolean", "default": True},
        "note": {"type": "string"},
    },
}

INVALID = [
    ({}, "db_name", "required"),
    ({"db_name": "Bad-Name"}, "db_name", "3 to 31 lowercase letters"),
    ({"db_name": 12}, "db_name", "type string"),
    ({"db_name": "good", "size": "huge"}, "size", "one of: small, medium, large"),
    ({"db_name": "good", "limit": 0}, "limit", "at least 1"),
    ({"db_name": "good", "limit": 501}, "limit", "at most 500"),
    ({"db_name": "good", "limit": "ten"}, "limit", "type integer"),
    ({"db_name": "good", "ratio": 0.1}, "ratio", "at least 0.5"),
    ({"db_name": "good", "label": "x"}, "label", "at least 2 characters"),
    ({"db_name": "good", "label": "toolong"}, "label", "at most 5 characters"),
    ({"db_name": "good", "email": "not-an-email"}, "email", "valid email"),
    ({"db_name": "good", "flag": "yes"}, "flag", "type boolean"),
    ({"db_name": "good", "surprise": 1}, "surprise", "Unknown input"),
    # Stricter than JSON Schema (catalog.schema's docstring says why).
    ({"db_name": "good", "limit": 20.0}, "limit", "type integer"),
    ({"db_name": "good\n"}, "db_name", "3 to 31 lowercase letters"),
    ({"db_name": "good", "note": "x" * 4097}, "note", "at most 4096 characters"),
]


@pytest.mark.parametrize(("inputs", "key", "words"), INVALID)
def test_it_rejects_each_kind_of_invalid_input_under_its_name(inputs, key, words):
    with pytest.raises(InvalidRequest) as caught:
        validate_inputs(SCHEMA, inputs)
    errors = caught.value.errors["inputs"]
    assert key in errors, errors
    assert words.lower() in " ".join(errors[key]).lower()


def test_it_fills_defaults():
    assert validate_inputs(SCHEMA, {"db_name": "good"}) == {
        "db_name": "good",
        "size": "small",
        "limit": 20,
        "flag": True,
    }


def test_inputs_must_be_an_object():
    with pytest.raises(InvalidRequest) as caught:
        validate_inputs(SCHEMA, ["db_name"])
    assert caught.value.errors == {"inputs": ["Must be an object of input names to values."]}


def test_it_refuses_changed_inputs_that_are_not_an_object(api, catalog, teams, owner):
    service = make_service(template=catalog["echo"], team=teams["alpha"], name="e", user=owner)

    for action in ("update", "preview"):
        response = api.post(
            f"/api/services/{service.pk}/{action}/", {"inputs": ["message"]}, format="json"
        )
        assert response.status_code == 400
        assert response.json() == {"inputs": ["Must be an object of input names to values."]}
    assert service.runs.count() == 1


def post(api, **body):
    data = {"template": "postgres-database", "team": "alpha", "name": "orders", "inputs": {}}
    return api.post("/api/services/", {**data, **body}, format="json")


@pytest.mark.parametrize(
    ("inputs", "key", "words"),
    [
        ({}, "db_name", "required"),
        ({"db_name": "Bad Name"}, "db_name", "lowercase letters, digits and underscores"),
        ({"db_name": "good_db", "connection_limit": 0}, "connection_limit", "at least 1"),
        ({"db_name": "good_db", "size": "huge"}, "size", "one of"),
        ({"db_name": "good_db", "extra": True}, "extra", "Unknown input"),
    ],
)
def test_the_api_answers_400_with_input_errors_and_creates_nothing(
    api, catalog, inputs, key, words
):
    response = post(api, inputs=inputs)

    assert response.status_code == 400
    errors = response.json()["inputs"]
    assert words.lower() in " ".join(errors[key]).lower()
    assert Service.objects.count() == Run.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"template": "no-such-template"}, "template"),
        ({"team": "no-such-team"}, "team"),
        ({"team": "beta"}, "team"),  # not the caller's team
        ({"name": "Not A Name"}, "name"),
        ({"name": ""}, "name"),
        ({"template": None}, "template"),
    ],
)
def test_the_api_answers_400_for_unknown_or_bad_fields(api, catalog, body, field):
    response = post(api, **{"inputs": {"db_name": "good_db"}, **body})

    assert response.status_code == 400
    assert field in response.json()
    assert Service.objects.count() == 0


def test_a_name_is_unique_within_a_team(api, catalog, outsider):
    from conftest import api_client_for

    assert post(api, inputs={"db_name": "first_db"}).status_code == 201
    response = post(api, inputs={"db_name": "second_db"})

    assert response.status_code == 400
    assert "already has a service named orders" in response.json()["name"][0]
    other = api_client_for(outsider)
    assert post(other, team="beta", inputs={"db_name": "third_db"}).status_code == 201


def test_a_retired_template_takes_no_requests(api, catalog):
    from django.utils import timezone

    catalog["postgres-database"].retired_at = timezone.now()
    catalog["postgres-database"].save()

    response = post(api, inputs={"db_name": "good_db"})

    assert response.status_code == 400
    assert "retired" in response.json()["template"][0]


def test_the_api_creates_the_service_and_its_queued_run(api, catalog, owner):
    response = post(api, inputs={"db_name": "good_db"})

    assert response.status_code == 201
    body = response.json()
    service = Service.objects.get(pk=body["id"])
    assert body["status"] == "provisioning"
    assert body["inputs"] == {
        "db_name": "good_db",
        "size": "small",
        "connection_limit": 20,
        "description": "",
    }
    assert body["template_version"] == "1.3.1" and body["created_by"] == "owner"
    run = Run.objects.get(pk=body["last_run"]["id"])
    assert (run.service, run.action, run.status, run.created_by) == (
        service,
        "provision",
        "queued",
        owner,
    )
    assert body["last_run"] == {
        "id": run.pk,
        "action": "provision",
        "status": "queued",
        "url": f"http://testserver/api/runs/{run.pk}/",
    }
    assert api.get(body["last_run"]["url"]).json()["status"] == "queued"


def test_an_unknown_slug_or_inputs_that_are_no_object_get_errors_in_words(api, catalog):
    unknown = post(api, template="nope", team="nope", inputs={"db_name": "good_db"})
    theirs = post(api, team="beta", inputs={"db_name": "good_db"})  # a team owner is not in
    numbers = post(api, template=7, team=["alpha"], inputs={"db_name": "good_db"})
    listed = post(api, inputs=["db_name"])

    assert unknown.status_code == theirs.status_code == numbers.status_code == 400
    assert unknown.json() == {
        "template": ["No template named nope."],
        "team": ["No team named nope."],
    }
    assert theirs.json() == {"team": ["No team named beta."]}
    assert numbers.json() == {
        "template": ["Must be a template's slug (a string)."],
        "team": ["Must be a team's slug (a string)."],
    }
    assert (listed.status_code, listed.json()) == (
        400,
        {"inputs": ["Must be an object of input names to values."]},
    )
    assert Service.objects.count() == 0


def form_data(**changes):
    data = {
        "team": "alpha",
        "name": "orders",
        "inputs-db_name": "good_db",
        "inputs-size": "small",
        "inputs-connection_limit": "20",
    }
    return {**data, **changes}


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"inputs-db_name": ""}, "inputs-db_name", "required"),
        ({"inputs-db_name": "Bad Name"}, "inputs-db_name", "Not in the expected form: Name"),
        ({"inputs-connection_limit": "0"}, "inputs-connection_limit", "at least 1"),
        ({"inputs-connection_limit": "many"}, "inputs-connection_limit", "whole number"),
        ({"inputs-size": "huge"}, "inputs-size", "valid choice"),
        ({"name": "Bad Name"}, "name", "lowercase"),
        ({"team": "beta"}, "team", "valid choice"),
    ],
)
def test_the_form_shows_each_error_beside_its_field_and_creates_nothing(
    client, owner, catalog, changes, field, words
):
    client.force_login(owner)

    response = client.post("/catalog/postgres-database/", form_data(**changes))

    assert response.status_code == 400
    html = response.content.decode()
    marker = f'data-field-error="{field}"'
    assert marker in html, html
    after = html.split(marker, 1)[1][:300]
    assert words.lower() in after.lower()
    assert Service.objects.count() == 0


def test_the_form_creates_the_service_and_shows_it(client, owner, catalog):
    client.force_login(owner)

    response = client.post("/catalog/postgres-database/", form_data(), follow=True)

    service = Service.objects.get()
    assert response.redirect_chain[-1][0] == f"/services/{service.pk}/"
    assert service.inputs == {
        "db_name": "good_db",
        "size": "small",
        "connection_limit": 20,
        "description": "",
    }
    assert "orders" in response.content.decode()


def test_the_form_offers_one_widget_per_type(client, owner, catalog):
    client.force_login(owner)

    html = client.get("/catalog/static-site/").content.decode()

    assert 'name="inputs-title"' in html and 'maxlength="80"' in html
    assert '<select name="inputs-theme"' in html
    assert 'type="checkbox" name="inputs-show_footer"' in html
    assert 'type="number" name="inputs-max_size_mb"' in html and 'step="any"' in html


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_requests_for_one_name_create_one_service(catalog, teams, owner, member):
    """On PostgreSQL, the unique constraint settles the race; the loser gets a field error."""
    from conftest import race
    from provisioning.services import request_service

    def attempt(user):
        request_service(user=user, template=catalog["echo"], team=teams["alpha"],
                        name="contested", inputs={"message": user.username})  # fmt: skip
        return "created"

    outcomes = [
        o if o == "created" else o.errors["name"][0]
        for o in race(attempt, [owner, member], expected=InvalidRequest)
    ]

    assert sorted(outcomes) == ["alpha already has a service named contested.", "created"]
    assert Service.objects.filter(name="contested").count() == 1
    assert Run.objects.count() == 1
