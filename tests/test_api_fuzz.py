"""Arbitrary JSON at every write endpoint of the API, as a platform engineer and as a team
member: a 2xx, 3xx or 4xx, never a 5xx.

The endpoints come from the live OpenAPI schema, so a new one is covered (or, when its path
names a resource this test has no object of, the test says so). Bodies are arbitrary JSON,
or objects with the endpoint's documented fields holding arbitrary JSON and values that
mean something here (slugs, usernames, input names), so that requests get past parsing.
Each request runs in a savepoint rolled back after it, and nothing is ever committed, so
no run is sent to a worker; the suite needs none.
"""

import json
import re

import pytest
from django.db import transaction
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from approvals.models import Approval
from conftest import api_client_for
from credentials.services import create_credential
from factories import make_service
from inventories.models import Inventory
from notifications.services import add_destination

pytestmark = pytest.mark.django_db

WRITE_METHODS = ("post", "put", "patch", "delete")
# 22 endpoints x 20 examples: about 15 s on a laptop, on top of the catalogue's setup.
EXAMPLES_PER_ENDPOINT = 20
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
MEANINGFUL = [
    "echo", "gated", "alpha", "beta", "owner", "ops", "prod", "dev", "env", "ssh", "file",
    "password", "run_failed", "json://127.0.0.1:9/hook", "fuzzed", "2030-01-01T00:00:00Z",
    "1999-01-01T00:00:00Z", "127.0.0.1", "web", KEY, "$encrypted$", 22, True,
]  # fmt: skip
# What broke the API before: text PostgreSQL cannot store, a float for an integer, a value a
# pattern matches but for its newline, strings and numbers too large.
HOSTILE = ["\x00", "a\x00b", "\ud800", "abc\n", "x" * 5000, 1.0, 2**64, -1, 1e308, "", None]


def strategies(names: list[str]):
    """Bodies: arbitrary JSON, half its leaves hostile, most keys names the API knows."""
    leaf = st.one_of(
        st.sampled_from(HOSTILE),
        st.sampled_from(MEANINGFUL),
        st.one_of(st.booleans(), st.integers(), st.floats(), st.text(max_size=8)),
    )
    keys = st.one_of(st.sampled_from(names), st.sampled_from(names), st.sampled_from(HOSTILE[:5]),
                     st.text(max_size=6))  # fmt: skip
    values = st.recursive(
        leaf,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3), st.dictionaries(keys, inner, min_size=1, max_size=3)
        ),
        max_leaves=6,
    )

    def bodies(fields: list[str]):
        if not fields:
            return values
        shaped = st.fixed_dictionaries(dict.fromkeys(fields, values))
        return st.one_of(values, shaped, shaped)

    return bodies


def write_operations() -> list[tuple[str, str, list[str]]]:
    """(method, path, the documented body fields) of every write operation of the API."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    operations = []
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            if method not in WRITE_METHODS:
                continue
            content = operation.get("requestBody", {}).get("content", {})
            ref = (content.get("application/json", {}).get("schema") or {}).get("$ref", "")
            body = components.get(ref.rsplit("/", 1)[-1], {}) if ref else {}
            operations.append((method, path, list(body.get("properties", {}))))
    return operations


def filled(path: str, objects: dict) -> str:
    """The path with each {parameter} an object of the resource named before it."""
    parts = path.strip("/").split("/")
    for index, part in enumerate(parts):
        if re.fullmatch(r"\{\w+\}", part):
            resource = parts[index - 1]
            assert resource in objects, f"{path}: give test_api_fuzz an object of {resource}"
            parts[index] = str(objects[resource])
    return "/" + "/".join(parts) + "/"


def test_it_answers_arbitrary_json_at_every_write_endpoint_without_a_5xx(
    catalog, teams, owner, ops
):
    # With custom actions (and echo's `message` input), for their endpoint too.
    service = make_service(
        template=catalog["operable"], team=teams["alpha"], name="fuzz", user=owner
    )
    failed = make_service(
        template=catalog["echo"], team=teams["alpha"], name="broken", user=owner, status="failed"
    )
    gated = api_client_for(owner).post(
        "/api/services/",
        {"template": "gated", "team": "alpha", "name": "gated",
         "inputs": {"message": "m", "environment": "prod"}},
        format="json",
    )  # fmt: skip
    assert gated.status_code == 201, gated.json()
    approval = Approval.objects.get(service__name="gated")
    credential = create_credential(user=None, name="fuzz-env", type="env", fields={"A": "b"})
    inventory = Inventory.objects.create(name="fuzz-hosts")
    destination = add_destination(
        user=ops, team=teams["alpha"], name="hook", url="json://127.0.0.1:9/hook",
        events=["run_failed"],
    )  # fmt: skip
    from catalog.sources import create_source

    source, _ = create_source(user=ops, name="fuzz-source", url="https://git.example.com/f.git")
    objects = {
        "sources": source.pk,
        "services": service.pk,
        "actions": "note",  # a custom action of operable
        "runs": failed.last_run_id,
        "approvals": approval.pk,
        "credentials": credential.pk,
        "inventories": inventory.name,
        "teams": teams["alpha"].slug,
        "destinations": destination.pk,
    }
    clients = [api_client_for(ops), api_client_for(owner)]
    operations = write_operations()
    versions = [template.current_version for template in catalog.values()]
    schemas = [version.inputs_schema for version in versions]
    schemas += [action.inputs for version in versions for action in version.actions.values()]
    names = sorted(
        {field for _, _, fields in operations for field in fields}
        | {name for schema in schemas for name in schema.get("properties", {})}
        | {"A", "PGHOST", "ansible_user"}
    )
    bodies = strategies(names)
    assert len(operations) >= 20, operations  # the schema was read

    for method, path, fields in operations:
        answers_without_a_5xx(method, filled(path, objects), clients, bodies(fields))


def answers_without_a_5xx(method: str, url: str, clients: list, bodies) -> None:
    @settings(
        max_examples=EXAMPLES_PER_ENDPOINT,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(client=st.sampled_from(clients), body=bodies)
    def attempt(client, body):
        text = json.dumps(body, ensure_ascii=True)
        with transaction.atomic():
            response = client.generic(method.upper(), url, text, content_type="application/json")
            transaction.set_rollback(True)
        assert response.status_code < 500, (method, url, text[:500], response.content[:500])

    attempt()
