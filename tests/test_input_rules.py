"""Where JSON Schema is looser than what a playbook should get, the API and the portal's form
refuse alike: a float for an integer, a value a pattern matches only up to a final newline,
a string without maxLength longer than DEFAULT_MAX_LENGTH."""

import re

import pytest

from catalog.schema import DEFAULT_MAX_LENGTH, validate_inputs
from core.errors import InvalidRequest
from provisioning.models import Service

pytestmark = pytest.mark.django_db


def test_a_pattern_must_match_the_whole_value():
    schema = {"type": "object", "properties": {"p": {"type": "string", "pattern": "[a-z]+"}}}

    assert validate_inputs(schema, {"p": "abc"}) == {"p": "abc"}
    for value in ("abc\n", "abc1", "1abc"):
        with pytest.raises(Exception, match="expected form"):
            validate_inputs(schema, {"p": value})


def test_the_iri_formats_are_checked():
    string = {"type": "string"}
    properties = {"i": {**string, "format": "iri"}, "r": {**string, "format": "iri-reference"}}
    schema = {"type": "object", "properties": properties}

    assert validate_inputs(schema, {"i": "https://example.com/ü?q=1", "r": "../ä"})
    for inputs in ({"i": "no scheme"}, {"r": "http://[::1"}):
        with pytest.raises(InvalidRequest, match="valid iri"):
            validate_inputs(schema, inputs)


def test_a_default_that_breaks_the_stricter_rules_is_refused_at_sync():
    from catalog.schema import schema_problems

    schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {"n": {"type": "integer", "default": 1.0}},
    }

    assert schema_problems(schema) == [("properties.n.default", "Must be of type integer.")]


def test_the_api_refuses_what_json_schema_alone_would_let_through(api, catalog, teams):
    def refused(template, inputs):
        body = {"template": template, "team": "alpha", "name": "x", "inputs": inputs}
        response = api.post("/api/services/", body, format="json")
        assert response.status_code == 400, response.json()
        return response.json()["inputs"]

    assert refused("postgres-database", {"db_name": "abc", "connection_limit": 5.0}) == {
        "connection_limit": ["Must be of type integer."]
    }
    assert refused("postgres-database", {"db_name": "abc\n"}) == {
        "db_name": [
            "Not in the expected form: Name of the database and of its owner role (login "
            "without password). 3 to 31 characters: lowercase letters, digits and underscores, "
            "starting with a letter. Cannot be changed after provisioning."
        ]
    }
    assert refused("hostile", {"probe_paths": "x" * (DEFAULT_MAX_LENGTH + 1)}) == {
        "probe_paths": [f"Must be at most {DEFAULT_MAX_LENGTH} characters long."]
    }
    assert not Service.objects.exists()


def test_the_api_shows_the_default_max_length_in_the_templates_schema(api, catalog):
    inputs = api.get("/api/templates/hostile/").json()["inputs"]["properties"]

    assert inputs["probe_paths"]["maxLength"] == DEFAULT_MAX_LENGTH
    assert "maxLength" not in inputs["delay"]


def test_the_portal_form_refuses_the_same_and_caps_the_text_box(client, catalog, teams, owner):
    client.force_login(owner)
    page = client.get("/catalog/hostile/").content.decode()
    assert f'maxlength="{DEFAULT_MAX_LENGTH}"' in page

    def refused(template, inputs) -> dict:
        fields = {f"inputs-{name}": value for name, value in inputs.items()}
        response = client.post(f"/catalog/{template}/", {"team": "alpha", "name": "x", **fields})
        assert response.status_code == 400
        return response.context["inputs_form"].errors

    assert "db_name" in refused("postgres-database", {"db_name": "abc\n"})
    assert "connection_limit" in refused(
        "postgres-database", {"db_name": "abc", "connection_limit": "5.5"}
    )
    too_long = refused("hostile", {"probe_paths": "x" * (DEFAULT_MAX_LENGTH + 1)})
    assert too_long["probe_paths"] == [f"Must be at most {DEFAULT_MAX_LENGTH} characters long."]
    assert not Service.objects.exists()


def test_a_refused_pattern_says_what_is_expected_in_words_never_the_regex():
    pattern = "[a-z][a-z0-9_-]*"
    said = {"type": "string", "pattern": pattern, "x-gangplank-pattern-message": "Use a-z."}
    described = {"type": "string", "pattern": pattern, "description": "A lowercase name."}
    bare = {"type": "string", "pattern": pattern}
    schema = {"type": "object", "properties": {"a": said, "b": described, "c": bare}}

    with pytest.raises(InvalidRequest) as caught:
        validate_inputs(schema, {"a": "A", "b": "B", "c": "C"})

    assert caught.value.errors == {
        "inputs": {
            "a": ["Use a-z."],
            "b": ["Not in the expected form: A lowercase name."],
            "c": ["Not in the expected form."],
        }
    }


def test_a_manifest_may_word_a_patterns_message_on_a_string_with_a_pattern():
    from catalog.schema import schema_problems

    def problems(prop: dict) -> list:
        return schema_problems({"type": "object", "properties": {"x": prop}})

    message = "x-gangplank-pattern-message"
    assert problems({"type": "string", "pattern": "[a-z]+", message: "Lowercase letters."}) == []
    assert problems({"type": "string", "pattern": "[a-z]+", message: " "}) == [
        (f"properties.x.{message}", "must be a non-empty string")
    ]
    assert problems({"type": "string", message: "Lowercase letters."}) == [
        (f"properties.x.{message}", "is only used with a pattern")
    ]
    assert problems({"type": "integer", message: "A number."}) == [
        (f"properties.x.{message}", "is not supported for type integer")
    ]
    # The template's author reads about their default: the pattern is theirs.
    assert problems({"type": "string", "pattern": "[a-z]+", "default": "A"}) == [
        ("properties.x.default", "Does not match the pattern.")
    ]


def test_the_form_carries_no_html_pattern_and_words_its_error(client, catalog, teams, owner):
    client.force_login(owner)

    page = client.get("/catalog/dev-workspace/").content.decode()
    refused = client.post(
        "/catalog/dev-workspace/",
        {"team": "alpha", "name": "ws", "inputs-default_branch": "-bad"},
    )

    (widget,) = re.findall(r'<input[^>]*name="inputs-default_branch"[^>]*>', page)
    assert "maxlength" in widget and "pattern" not in widget
    html = refused.content.decode()
    assert refused.status_code == 400
    error = html.split('data-field-error="inputs-default_branch"', 1)[1].split("</div>", 1)[0]
    assert "Not in the expected form: Name of the repository" in error
    assert "[A-Za-z0-9]" not in html
