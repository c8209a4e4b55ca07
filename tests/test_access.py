"""Who sees what: a service, run or team outside the caller's teams is a 404, in the API and
the portal alike; anonymous callers get nothing."""

import pytest

from conftest import api_client_for
from factories import make_events, make_service

pytestmark = pytest.mark.django_db


@pytest.fixture
def service(catalog, teams, owner):
    service = make_service(
        template=catalog["echo"], team=teams["alpha"], name="alpha-svc", user=owner
    )
    make_events(service.last_run, 3)
    return service


def api_paths(service):
    run = service.last_run_id
    return [
        f"/api/services/{service.pk}/",
        f"/api/runs/{run}/",
        f"/api/runs/{run}/events/",
        "/api/teams/alpha/",
    ]


def portal_paths(service):
    run = service.last_run_id
    return [f"/services/{service.pk}/", f"/runs/{run}/", f"/runs/{run}/log/?after=0"]


@pytest.mark.parametrize("who", ["owner", "member"])
def test_members_of_the_team_see_its_service_everywhere(request, client, service, who):
    user = request.getfixturevalue(who)
    api = api_client_for(user)
    client.force_login(user)

    assert [api.get(path).status_code for path in api_paths(service)] == [200] * 4
    assert [client.get(path).status_code for path in portal_paths(service)] == [200] * 3


def test_an_outsider_gets_404_everywhere(client, service, outsider):
    api = api_client_for(outsider)
    client.force_login(outsider)

    assert [api.get(path).status_code for path in api_paths(service)] == [404] * 4
    assert [client.get(path).status_code for path in portal_paths(service)] == [404] * 3
    assert api.get("/api/services/").json()["count"] == 0
    assert [t["slug"] for t in api.get("/api/teams/").json()["results"]] == ["beta"]
    assert "alpha-svc" not in client.get("/services/").content.decode()


def test_a_superuser_sees_everything(client, service, django_user_model):
    root = django_user_model.objects.create_superuser("root", password="pw-root")
    api = api_client_for(root)
    client.force_login(root)

    assert [api.get(path).status_code for path in api_paths(service)] == [200] * 4
    assert [client.get(path).status_code for path in portal_paths(service)] == [200] * 3


def test_anonymous_callers_are_refused(client, service):
    from rest_framework.test import APIClient

    anonymous = APIClient()
    for path in [*api_paths(service), "/api/services/", "/api/templates/"]:
        assert anonymous.get(path).status_code == 401, path
    for path in [*portal_paths(service), "/services/", "/catalog/", "/catalog/echo/"]:
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), path


def test_an_invalid_token_is_refused(service):
    from rest_framework.test import APIClient

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert api.get("/api/services/").status_code == 401


def test_only_platform_engineers_see_the_catalogue_status(client, owner, ops, catalog):
    client.force_login(owner)
    assert client.get("/catalog/-/status/").status_code == 403
    client.force_login(ops)
    assert client.get("/catalog/-/status/").status_code == 200


def test_an_inactive_user_sees_nothing(service, owner):
    api = api_client_for(owner)
    owner.is_active = False
    owner.save()
    assert api.get(f"/api/services/{service.pk}/").status_code == 401
