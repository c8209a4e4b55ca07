"""Platform engineers cap a team's live services; a request over a cap says which and why."""

import pytest
from django.core.exceptions import PermissionDenied

from conftest import race
from core.errors import InvalidRequest
from factories import make_service
from provisioning.models import Service
from provisioning.services import request_service
from teams.models import Quota
from teams.services import set_quota


def request(user, catalog, teams, name, template="echo"):
    return request_service(user=user, template=catalog[template], team=teams["alpha"], name=name,
                           inputs={"message": name} if template == "echo" else {})  # fmt: skip


@pytest.mark.django_db
def test_a_request_over_the_total_quota_is_refused_with_the_limit_and_count(
    api, catalog, teams, owner, ops
):
    set_quota(actor=ops, team=teams["alpha"], max_services=2)
    make_service(template=catalog["echo"], team=teams["alpha"], name="one", user=owner)
    make_service(template=catalog["failing"], team=teams["alpha"], name="two", user=owner)

    response = api.post("/api/services/", {"template": "echo", "team": "alpha", "name": "three",
                                           "inputs": {"message": "x"}}, format="json")  # fmt: skip

    assert response.status_code == 400
    assert response.json()["team"] == ["Alpha has reached its quota of 2 live services: it has 2."]
    assert Service.objects.count() == 2


@pytest.mark.django_db
def test_a_per_template_quota_counts_that_template_only(catalog, teams, owner, ops):
    set_quota(actor=ops, team=teams["alpha"], template=catalog["echo"], max_services=1)
    make_service(template=catalog["failing"], team=teams["alpha"], name="other", user=owner)
    request(owner, catalog, teams, "first")

    with pytest.raises(InvalidRequest) as caught:
        request(owner, catalog, teams, "second")

    assert caught.value.errors["team"] == [
        "Alpha has reached its quota of 1 live Echo services: it has 1."
    ]
    request(owner, catalog, teams, "allowed", template="failing")


@pytest.mark.django_db
def test_deprovisioned_services_do_not_count_and_quotas_can_be_lifted(catalog, teams, owner, ops):
    set_quota(actor=ops, team=teams["alpha"], max_services=1)
    gone = make_service(template=catalog["echo"], team=teams["alpha"], name="gone", user=owner)
    Service.objects.filter(pk=gone.pk).update(status="deprovisioned")
    request(owner, catalog, teams, "fits")
    with pytest.raises(InvalidRequest):
        request(owner, catalog, teams, "over")

    set_quota(actor=ops, team=teams["alpha"], max_services=None)
    request(owner, catalog, teams, "lifted")
    assert not Quota.objects.exists()


@pytest.mark.django_db
def test_only_platform_engineers_set_quotas(client, teams, owner, team_admin, ops):
    with pytest.raises(PermissionDenied):
        set_quota(actor=team_admin, team=teams["alpha"], max_services=5)

    client.force_login(ops)
    client.post("/teams/alpha/quota/", {"max_services": "5"})
    assert Quota.objects.get(team=teams["alpha"], template=None).max_services == 5
    assert 'data-quota="all"' in client.get("/teams/alpha/").content.decode()


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_requests_cannot_both_take_the_last_place(
    catalog, teams, owner, member, ops
):
    """On PostgreSQL: the team's row is locked while a request counts and inserts."""
    set_quota(actor=ops, team=teams["alpha"], max_services=1)

    def attempt(user):
        request(user, catalog, teams, f"by-{user.username}")
        return "created"

    outcomes = [
        o if o == "created" else o.errors["team"][0]
        for o in race(attempt, [owner, member], expected=InvalidRequest)
    ]

    assert sorted(outcomes) == [
        "Alpha has reached its quota of 1 live services: it has 1.",
        "created",
    ]
    assert Service.objects.count() == 1
