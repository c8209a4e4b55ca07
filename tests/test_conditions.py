"""Inputs that depend on others: `if`/`then`/`else`, `allOf` of conditions, `dependentRequired`
and `dependentSchemas`. The sync refuses conditions about undeclared inputs; the server's
check (API and form alike) names the input a condition makes required; the form shows,
hides and marks required as the values change, re-rendered by a refresh that saves nothing.
Nothing runs here: the transaction never commits, so no run is sent to a worker."""

import re

import pytest
import yaml

from catalog import conditions
from catalog.schema import validate_inputs
from catalog.services import sync_catalog
from core.errors import InvalidRequest
from factories import make_service
from provisioning.models import Service

pytestmark = pytest.mark.django_db

STRING = {"type": "string", "maxLength": 50}
SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["label"],
    "properties": {
        "label": STRING,
        "tls": {"type": "boolean", "title": "TLS", "default": False},
        "hostname": {**STRING, "title": "Host name"},
        "mode": {"type": "string", "enum": ["basic", "custom"], "default": "basic"},
        "port": {"type": "integer", "minimum": 1},
        "plain_port": {"type": "integer"},
        "cert": {**STRING, "title": "Certificate"},
        "key_name": STRING,
        "proxy": {**STRING, "title": "Proxy"},
        "proxy_port": {"type": "integer"},
    },
    "if": {"properties": {"tls": {"const": True}}},
    "then": {"required": ["hostname"]},
    "allOf": [
        {
            "if": {"properties": {"mode": {"const": "custom"}}},
            "then": {"properties": {"port": {"minimum": 1024}}, "required": ["port"]},
            "else": {"properties": {"plain_port": {"maximum": 100}}},
        }
    ],
    "dependentRequired": {"cert": ["key_name"]},
    "dependentSchemas": {"proxy": {"required": ["proxy_port"]}},
}


def refused(schema: dict, inputs: dict) -> dict:
    with pytest.raises(InvalidRequest) as caught:
        validate_inputs(schema, inputs)
    return caught.value.errors["inputs"]


# --- The schema's rules, checked at sync ----------------------------------------------------


def test_a_schema_with_conditions_about_declared_inputs_has_no_problems():
    assert conditions.problems(SCHEMA) == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"then": {"required": ["nope"]}}, ("then.required", "names 'nope', which is not in")),
        (
            {"if": {"properties": {"nope": {"const": 1}}, "required": ["nope"]}},
            ("if.properties.nope", "is not in the inputs' properties"),
        ),
        (
            {"else": {"properties": {"hostname": {"pattern": "x"}}}},
            ("else.properties.hostname.pattern", "is not supported in a condition on a string"),
        ),
        (
            {"then": {"properties": {"hostname": {"title": "Other"}}}},
            ("then.properties.hostname.title", "is not supported in a condition on a string"),
        ),
        (
            {"if": {"properties": {"tls": {"const": "yes"}}}},
            ("if.properties.tls.const", "Must be of type boolean."),
        ),
        (
            {"if": {"properties": {"port": {"not": {"const": "x"}}}, "required": ["port"]}},
            ("if.properties.port.not.const", "Must be of type integer."),
        ),
        (
            {"if": {"properties": {"port": {"const": 80}}}},
            ("if.required", "must name 'port' (or it needs a default)"),
        ),
        ({"then": {"anyOf": [{"required": ["label"]}]}}, ("then.anyOf", "is not supported here")),
        ({"then": True}, ("then", "must be an object of properties and/or required")),
        ({"if": None, "then": {"required": ["label"]}}, ("then", "is only used with if")),
        ({"allOf": [{"then": {"required": ["label"]}}]}, ("allOf.0", "must be {if, then, else}")),
        ({"allOf": [{"if": {}, "not": {}}]}, ("allOf.0", "must be {if, then, else}")),
        ({"dependentRequired": {"cert": ["nope"]}}, ("dependentRequired", "names 'nope'")),
        ({"dependentRequired": {"nope": ["cert"]}}, ("dependentRequired", "names 'nope'")),
        ({"dependentSchemas": {"nope": {}}}, ("dependentSchemas", "names 'nope'")),
        (
            {"dependentSchemas": {"proxy": {"required": ["nope"]}}},
            ("dependentSchemas.proxy.required", "names 'nope'"),
        ),
    ],
)
def test_a_condition_may_only_name_and_constrain_declared_inputs(change, problem):
    schema = {key: value for key, value in {**SCHEMA, **change}.items() if value is not None}

    found = conditions.problems(schema)

    assert any(f == problem[0] and problem[1] in m for f, m in found), found


def test_the_sync_reports_a_condition_naming_an_undeclared_input(tmp_path):
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "p.yml").write_text("- hosts: localhost\n  tasks: []\n")
    inputs = {**SCHEMA, "then": {"required": ["host_name"]}}
    manifest = {
        "name": "Broken",
        "description": "x",
        "version": "1.0.0",
        "inputs": inputs,
        "playbooks": {"provision": "p.yml", "update": "p.yml", "deprovision": "p.yml"},
    }
    (folder / "template.yml").write_text(yaml.safe_dump(manifest))

    report = sync_catalog(directory=tmp_path)

    assert [(p["field"], p["message"]) for p in report.problems] == [
        ("inputs.then.required", "names 'host_name', which is not in properties")
    ]


# --- What the form shows and requires -------------------------------------------------------


def test_the_drivers_are_the_inputs_conditions_test_and_what_choices_depend_on():
    def picking(depends_on: str) -> dict:
        choices = {"type": "string", "x-gangplank-choices": {"depends_on": depends_on}}
        return {**SCHEMA, "properties": {**SCHEMA["properties"], "pick": choices}}

    assert conditions.drivers(SCHEMA) == {"tls", "mode", "cert", "proxy"}
    assert conditions.drivers(picking("label")) == {"tls", "mode", "cert", "proxy", "label"}
    # Not an input: the request page's team select refreshes the inputs then.
    assert "team" in conditions.drivers(picking("team"))
    assert conditions.conditional(SCHEMA) == {"hostname", "port", "plain_port", "proxy_port"}


def test_an_if_reveals_and_requires_what_its_branch_names():
    assert conditions.state(SCHEMA, {}) == conditions.State(
        hidden=frozenset({"hostname", "port", "proxy_port"}), required=frozenset({"label"})
    )
    with_tls = conditions.state(SCHEMA, {"tls": True})
    assert "hostname" not in with_tls.hidden and "hostname" in with_tls.required
    assert "hostname" in conditions.state(SCHEMA, {"tls": False}).hidden


def test_an_allof_condition_picks_its_then_or_its_else():
    custom = conditions.state(SCHEMA, {"mode": "custom"})
    assert "port" not in custom.hidden and "port" in custom.required
    assert "plain_port" in custom.hidden
    basic = conditions.state(SCHEMA, {"mode": "basic"})
    assert {"port"} <= basic.hidden and "plain_port" not in basic.hidden
    assert "plain_port" not in basic.required


def test_dependent_required_requires_without_hiding_while_its_key_has_a_value():
    assert "key_name" not in conditions.state(SCHEMA, {}).hidden
    assert "key_name" not in conditions.state(SCHEMA, {"cert": ""}).required
    assert "key_name" in conditions.state(SCHEMA, {"cert": "c"}).required


def test_dependent_schemas_reveal_their_branch_while_the_key_has_a_value():
    assert "proxy_port" in conditions.state(SCHEMA, {"proxy": ""}).hidden
    with_proxy = conditions.state(SCHEMA, {"proxy": "p"})
    assert "proxy_port" not in with_proxy.hidden and "proxy_port" in with_proxy.required


# --- The server's check ---------------------------------------------------------------------


def test_the_server_names_the_input_a_condition_requires():
    assert refused(SCHEMA, {"label": "x", "tls": True}) == {"hostname": ["This input is required."]}
    assert validate_inputs(SCHEMA, {"label": "x", "tls": False})["tls"] is False
    assert refused(SCHEMA, {"label": "x", "mode": "custom", "port": 80}) == {
        "port": ["Must be at least 1024."]
    }
    assert refused(SCHEMA, {"label": "x", "plain_port": 200}) == {
        "plain_port": ["Must be at most 100."]
    }


def test_the_server_says_which_input_a_dependent_one_is_required_for():
    assert refused(SCHEMA, {"label": "x", "cert": "c"}) == {
        "key_name": ["Required when Certificate is given."]
    }
    assert refused(SCHEMA, {"label": "x", "proxy": "p"}) == {
        "proxy_port": ["Required when Proxy is given."]
    }


def test_each_missing_input_is_told_once():
    assert refused({**SCHEMA, "required": ["label", "cert"]}, {}) == {
        "label": ["This input is required."],
        "cert": ["This input is required."],
    }


def test_the_api_requires_the_host_name_only_with_tls(api, catalog, teams):
    def request(name: str, inputs: dict):
        body = {"template": "conditional", "team": "alpha", "name": name, "inputs": inputs}
        return api.post("/api/services/", body, format="json")

    response = request("with-tls", {"label": "x", "tls": True})
    assert response.status_code == 400, response.json()
    assert response.json()["inputs"] == {"hostname": ["This input is required."]}
    response = request("without-tls", {"label": "x", "tls": False})
    assert response.status_code == 201, response.json()
    response = request("with-cert", {"label": "x", "cert": "c"})
    assert response.json()["inputs"] == {"key_name": ["Required when Certificate is given."]}


# --- The portal's form ----------------------------------------------------------------------


def row(html: str, name: str) -> str:
    """The wrapper of input `name` in the page, with its field."""
    match = re.search(rf'<div data-input-field="{name}"[^>]*>.*?</div>\s*</div>', html, re.S)
    assert match, name
    return match.group(0)


def test_the_request_form_hides_the_host_name_until_tls_is_ticked(signed_in, catalog, teams):
    html = signed_in.get("/catalog/conditional/").content.decode()

    assert "hidden" in row(html, "hostname").split(">")[0]
    assert "disabled" in row(html, "hostname")
    assert "hidden" not in row(html, "label").split(">")[0]
    tls = row(html, "tls")
    assert 'hx-post=""' in tls and "_refresh" in tls and 'hx-select="#inputs-fields"' in tls
    assert "hx-post" not in row(html, "label")
    assert "hx-post" not in html[html.index('name="team"') :].split(">")[0]


def test_a_refresh_re_renders_the_form_for_its_values_and_saves_nothing(signed_in, catalog, teams):
    data = {"team": "alpha", "name": "", "inputs-label": "", "inputs-tls": "on"}
    data |= {"inputs-cert": "c", "inputs-passphrase": "s3cret-typed", "_refresh": "1"}

    response = signed_in.post("/catalog/conditional/", data)

    assert response.status_code == 200
    html = response.content.decode()
    hostname = row(html, "hostname")
    assert "hidden" not in hostname.split(">")[0] and "disabled" not in hostname
    assert "required" in hostname and '<span class="text-danger">*</span>' in hostname
    assert "required" in row(html, "key_name")
    assert "checked" in row(html, "tls") and 'value="c"' in row(html, "cert")
    assert "s3cret-typed" not in html
    assert "invalid-feedback" not in html and "is-invalid" not in html
    assert not Service.objects.exists()


def test_the_request_form_refuses_a_missing_host_name_and_takes_it_once_given(
    signed_in, catalog, teams
):
    data = {"team": "alpha", "name": "secure", "inputs-label": "x", "inputs-tls": "on"}

    response = signed_in.post("/catalog/conditional/", data)

    assert response.status_code == 400
    errors = re.findall(r'data-field-error="inputs-(\w+)">([^<]*)<', response.content.decode())
    assert errors == [("hostname", "This input is required.")]
    response = signed_in.post("/catalog/conditional/", data | {"inputs-hostname": "a.example"})
    assert response.status_code == 302
    inputs = Service.objects.get(name="secure").inputs
    assert inputs["tls"] is True and inputs["hostname"] == "a.example"


def test_a_hidden_input_is_not_taken_from_the_form(signed_in, catalog, teams):
    data = {"team": "alpha", "name": "plain", "inputs-label": "x", "inputs-hostname": "stale"}

    response = signed_in.post("/catalog/conditional/", data)

    assert response.status_code == 302
    assert "hostname" not in Service.objects.get(name="plain").inputs


def test_the_update_page_follows_its_values_too(signed_in, catalog, teams, owner):
    service = make_service(template=catalog["conditional"], team=teams["alpha"], name="svc")
    Service.objects.filter(pk=service.pk).update(inputs={"label": "x", "tls": False})
    path = f"/services/{service.pk}/update/"

    html = signed_in.get(path).content.decode()
    assert "hidden" in row(html, "hostname").split(">")[0]
    response = signed_in.post(path, {"inputs-label": "", "inputs-tls": "on", "_refresh": "1"})

    assert response.status_code == 200
    html = response.content.decode()
    assert "hidden" not in row(html, "hostname").split(">")[0]
    assert "invalid-feedback" not in html
    assert service.runs.count() == 1  # its provision run, from the factory


def test_an_update_drops_what_the_new_values_hide_and_keeps_the_rest(catalog, teams, owner):
    from provisioning.inputs import for_change

    service = make_service(template=catalog["conditional"], team=teams["alpha"], name="svc")
    inputs = {"label": "x", "tls": True, "hostname": "h.example", "mode": "basic"}
    Service.objects.filter(pk=service.pk).update(inputs=inputs)
    service.refresh_from_db()

    def change(given: dict) -> dict:
        return for_change(
            service=service, version=service.template_version, given=given, user=owner
        )[0]

    assert change({"label": "y"}) == {**inputs, "label": "y"}
    assert change({"tls": False}) == {"label": "x", "tls": False, "mode": "basic"}
