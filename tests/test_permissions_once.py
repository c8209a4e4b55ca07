"""Permissions are asked once per request, by its HTTP method (reading is "view", writing
"change", deciding and managing named by their routes), and before the body is read: one
the caller sees but may not act on is a 403 whatever they sent, one they cannot see a 404."""

from types import SimpleNamespace

import pytest

from conftest import api_client_for
from factories import make_service
from provisioning.api.serializers import ServiceRequestSerializer
from provisioning.forms import ServiceRequestForm
from provisioning.models import Service
from provisioning.services import request_service
from teams.models import Team

pytestmark = pytest.mark.django_db

AUDITOR_REFUSAL = "Auditors can see everything but change nothing."
TOO_LONG = "a" * 64  # the name rule allows 63


def api_request(name: str) -> dict:
    return {"template": "echo", "team": "alpha", "name": name, "inputs": {"message": "hi"}}


def portal_request(name: str) -> dict:
    return {"team": "alpha", "name": name, "inputs-message": "hi"}


def test_it_refuses_an_auditor_a_64_character_name_with_a_403_not_a_400(catalog, teams, auditor):
    response = api_client_for(auditor).post("/api/services/", api_request(TOO_LONG), format="json")

    assert response.status_code == 403
    assert response.json() == {"detail": AUDITOR_REFUSAL}
    assert not Service.objects.exists()


def test_it_answers_a_member_the_same_64_character_name_with_the_400(catalog, owner):
    response = api_client_for(owner).post("/api/services/", api_request(TOO_LONG), format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["name"]


def test_it_answers_a_team_the_caller_cannot_see_with_the_fields_400(catalog, outsider):
    response = api_client_for(outsider).post("/api/services/", api_request(TOO_LONG), format="json")

    assert response.status_code == 400
    assert response.json()["team"] == ["No team named alpha."]


def test_the_portal_refuses_an_auditor_a_64_character_name_with_a_403(
    client, catalog, teams, auditor
):
    client.force_login(auditor)

    response = client.post("/catalog/echo/", portal_request(TOO_LONG))

    assert response.status_code == 403
    assert not Service.objects.exists()


def test_the_portal_answers_a_member_the_same_name_with_the_forms_400(client, catalog, owner):
    client.force_login(owner)

    response = client.post("/catalog/echo/", portal_request(TOO_LONG))

    assert response.status_code == 400
    assert response.context["form"].errors["name"]


@pytest.fixture
def service(catalog, teams, owner) -> Service:
    return make_service(template=catalog["echo"], team=teams["alpha"], name="svc", user=owner)


def test_it_refuses_an_action_before_reading_its_body(service, auditor, owner):
    bad = {"expires_at": "not a date"}

    refused = api_client_for(auditor).post(f"/api/services/{service.pk}/extend/", bad)
    read = api_client_for(owner).post(f"/api/services/{service.pk}/extend/", bad)

    assert refused.status_code == 403
    assert refused.json() == {"detail": AUDITOR_REFUSAL}
    assert read.status_code == 400
    assert list(read.json()) == ["expires_at"]


def test_it_hides_what_the_caller_cannot_see_with_a_404_whatever_the_method(service, outsider):
    api = api_client_for(outsider)

    assert api.get(f"/api/services/{service.pk}/").status_code == 404
    assert api.post(f"/api/services/{service.pk}/extend/", {}).status_code == 404
    assert api.post(f"/api/runs/{service.last_run_id}/cancel/").status_code == 404


@pytest.mark.parametrize("role", ["owner", "outsider", "team_admin", "ops", "auditor"])
def test_the_form_and_the_api_offer_the_same_teams(request, teams, role):
    user = request.getfixturevalue(role)
    Team.objects.create(slug="gamma", name="Gamma")

    form = ServiceRequestForm(user=user).fields["team"].queryset
    body = ServiceRequestSerializer(context={"request": SimpleNamespace(user=user)})
    offered = body.fields["team"].queryset

    assert sorted(t.slug for t in form) == sorted(t.slug for t in offered)
    expected = {"owner": ["alpha"], "outsider": ["beta"], "team_admin": ["alpha"],
                "ops": ["alpha", "beta", "gamma"], "auditor": []}  # fmt: skip
    assert sorted(t.slug for t in form) == expected[role]


# The permission used to be asked twice: the object for "view", then an exists() for the
# action. Now the object is fetched for the action, once: one query fewer than before.
PROD = {"message": "hello", "environment": "prod"}


@pytest.fixture
def approval(catalog, teams, member):
    service = request_service(
        user=member, template=catalog["gated"], team=teams["alpha"], name="held", inputs=PROD
    )
    return service.last_run.approval


def test_deciding_asks_the_permission_once(
    client, outsider, approval, django_assert_max_num_queries
):
    api = api_client_for(outsider)
    with django_assert_max_num_queries(13):  # 14 with the hand-written check
        assert api.post(f"/api/approvals/{approval.pk}/approve/", {}).status_code == 200


def test_deciding_in_the_portal_asks_the_permission_once(
    client, outsider, approval, django_assert_max_num_queries
):
    client.force_login(outsider)
    with django_assert_max_num_queries(13):  # 14 with the hand-written check
        decided = client.post(f"/approvals/{approval.pk}/", {"decision": "approve"})
    assert decided.status_code == 302


DESTINATION = {"name": "chat", "url": "json://127.0.0.1:9/", "events": ["run_failed"]}


def test_adding_a_destination_asks_the_permission_once(
    client, team_admin, django_assert_max_num_queries
):
    api = api_client_for(team_admin)
    with django_assert_max_num_queries(9):  # 10 with the hand-written check
        added = api.post("/api/teams/alpha/destinations/", DESTINATION, format="json")
    assert added.status_code == 201
    client.force_login(team_admin)
    with django_assert_max_num_queries(8):  # 9 with the hand-written check
        refused = client.post("/teams/alpha/notifications/", {"name": ""})
    assert refused.status_code == 400


# The deprovision page also reads the services this one uses and those that use it, and the
# order a cascade would follow (three queries).
@pytest.mark.parametrize(("page", "queries"), [("update", 5), ("extend", 5), ("deprovision", 8)])
def test_a_services_action_page_asks_the_permission_once(
    client, service, owner, page, queries, django_assert_max_num_queries
):
    client.force_login(owner)
    with django_assert_max_num_queries(queries):  # one more with the hand-written check
        assert client.get(f"/services/{service.pk}/{page}/").status_code == 200
