"""Services that use services: an input picks another service, the edge is recorded, the
used service's outputs reach the user's runs, and teardown follows the graph."""

import pytest
from django.db import transaction

from conftest import api_client_for
from core.errors import Conflict, InvalidRequest
from factories import make_service
from provisioning import cascade, graph
from provisioning.execution import extravars
from provisioning.models import Run, Service, ServiceDependency
from provisioning.services import request_service

pytestmark = pytest.mark.django_db


def provider(catalog, team, name, **outputs) -> Service:
    service = make_service(template=catalog["provider"], team=team, name=name)
    Service.objects.filter(pk=service.pk).update(
        inputs={"db_name": name}, outputs=outputs or {"dsn": f"postgres://db.example/{name}"}
    )
    service.refresh_from_db()
    return service


def consumer(catalog, team, name, uses: Service, *, template="consumer") -> Service:
    service = make_service(template=catalog[template], team=team, name=name)
    inputs = {"database": str(uses.pk), "label": name}
    Service.objects.filter(pk=service.pk).update(inputs=inputs)
    Run.objects.filter(service=service).update(inputs=inputs)
    ServiceDependency.objects.create(service=service, uses=uses, input="database")
    service.refresh_from_db()
    return service


def test_it_records_the_service_an_input_picks_when_a_service_is_requested(catalog, teams, owner):
    db = provider(catalog, teams["alpha"], "orders-db")

    app = request_service(user=owner, template=catalog["consumer"], team=teams["alpha"],
                          name="app", inputs={"database": str(db.pk), "label": "x"})  # fmt: skip

    edge = ServiceDependency.objects.get(service=app)
    assert (edge.uses, edge.input) == (db, "database")
    run = app.last_run
    assert extravars(run, secrets={})["gangplank"]["uses"] == {
        "database": {"dsn": "postgres://db.example/orders-db"}
    }


@pytest.mark.parametrize("picked", ["999999999", "not-an-id", "-3", "1e3", "", "١٢"])
def test_it_refuses_a_request_picking_no_service_and_makes_nothing_of_such_an_id(
    catalog, teams, owner, picked
):
    with pytest.raises(InvalidRequest) as refused:
        request_service(user=owner, template=catalog["consumer"], team=teams["alpha"],
                        name="app", inputs={"database": picked, "label": "x"})  # fmt: skip
    # Inputs stored before the choices were checked (or edited since) make no edge either.
    app = make_service(template=catalog["consumer"], team=teams["alpha"], name="app")
    inputs = {"database": picked, "label": "x"}
    graph.sync(service=app, inputs=inputs, version=app.template_version)
    Run.objects.filter(service=app).update(inputs=inputs)
    app.refresh_from_db()

    assert "database" in refused.value.errors["inputs"]
    assert not ServiceDependency.objects.filter(service=app).exists()
    assert extravars(app.last_run, secrets={})["gangplank"]["uses"] == {}


def test_it_gives_a_run_the_outputs_its_service_uses_have_when_it_runs(catalog, teams):
    db = provider(catalog, teams["alpha"], "orders-db")
    app = consumer(catalog, teams["alpha"], "app", db)
    Service.objects.filter(pk=db.pk).update(outputs={"dsn": "postgres://moved/orders"})

    variables = extravars(app.last_run, secrets={})

    assert variables["gangplank"]["uses"] == {"database": {"dsn": "postgres://moved/orders"}}
    Service.objects.filter(pk=db.pk).update(status="deprovisioned")
    assert extravars(app.last_run, secrets={})["gangplank"]["uses"] == {}


def test_it_keeps_the_edges_in_step_with_the_inputs(catalog, teams):
    first = provider(catalog, teams["alpha"], "first")
    second = provider(catalog, teams["alpha"], "second")
    app = consumer(catalog, teams["alpha"], "app", first)
    version = app.template_version

    graph.sync(service=app, inputs={"database": str(second.pk)}, version=version)
    assert list(app.dependencies.values_list("uses", flat=True)) == [second.pk]
    graph.sync(service=app, inputs={"database": str(app.pk)}, version=version)  # itself
    assert not app.dependencies.exists()


def test_the_api_and_the_pages_show_the_graph_naming_only_what_the_viewer_sees(
    catalog, teams, owner, outsider, client
):
    db = provider(catalog, teams["alpha"], "orders-db")
    app = consumer(catalog, teams["alpha"], "app", db)
    consumer(catalog, teams["beta"], "spy", db)
    gone = consumer(catalog, teams["alpha"], "gone", db)
    Service.objects.filter(pk=gone.pk).update(status="deprovisioned")
    api = api_client_for(owner)

    body = api.get(f"/api/services/{db.pk}/").json()

    assert [(u["name"], u["team"], u["input"]) for u in body["used_by"]] == [
        ("app", "alpha", "database")
    ]
    assert body["used_by_others"] == 1 and body["uses"] == [] and body["uses_others"] == 0
    listed = {s["name"]: s for s in api.get("/api/services/").json()["results"]}
    assert [u["id"] for u in listed["app"]["uses"]] == [db.pk]
    assert listed["app"]["dependency_changed"] is False
    client.force_login(owner)
    page = client.get(f"/services/{db.pk}/").content.decode()
    assert f'href="/services/{app.pk}/"' in page and "1 service of other teams" in page
    assert "spy" not in page and 'id="used-by"' in page
    page = client.get(f"/services/{app.pk}/").content.decode()
    assert 'id="uses"' in page and f'href="/services/{db.pk}/"' in page


def test_it_refuses_to_deprovision_a_service_others_use_naming_them(catalog, teams, owner):
    db = provider(catalog, teams["alpha"], "orders-db")
    consumer(catalog, teams["alpha"], "app", db)
    consumer(catalog, teams["beta"], "spy", db)
    api = api_client_for(owner)

    response = api.post(f"/api/services/{db.pk}/deprovision/", {}, format="json")

    assert response.status_code == 409, response.json()
    detail = response.json()["detail"]
    assert "alpha/app" in detail and "1 service of other teams" in detail and "spy" not in detail
    assert not db.runs.filter(action="deprovision").exists()


def test_a_deprovisioned_user_no_longer_holds_the_service_it_used(catalog, teams, owner):
    db = provider(catalog, teams["alpha"], "orders-db")
    app = consumer(catalog, teams["alpha"], "app", db)
    Service.objects.filter(pk=app.pk).update(status="deprovisioned")

    response = api_client_for(owner).post(f"/api/services/{db.pk}/deprovision/", {}, format="json")

    assert response.status_code == 202, response.json()


def test_the_portal_says_why_and_offers_the_cascade(catalog, teams, owner, client):
    db = provider(catalog, teams["alpha"], "orders-db")
    consumer(catalog, teams["alpha"], "app", db)
    client.force_login(owner)

    page = client.get(f"/services/{db.pk}/deprovision/").content.decode()
    assert 'name="cascade"' in page and "alpha/app" in page
    response = client.post(f"/services/{db.pk}/deprovision/", {"confirm": "orders-db"})

    assert response.status_code == 409
    assert "is used by alpha/app" in response.content.decode()


def test_a_cascade_wants_the_name_and_every_service_it_deprovisions(catalog, teams, owner, ops):
    db = provider(catalog, teams["alpha"], "orders-db")
    consumer(catalog, teams["alpha"], "app", db)
    consumer(catalog, teams["beta"], "spy", db)
    api = api_client_for(owner)

    unnamed = api.post(f"/api/services/{db.pk}/deprovision/", {"cascade": True}, format="json")
    refused = api.post(f"/api/services/{db.pk}/deprovision/",
                       {"cascade": True, "confirm": "orders-db"}, format="json")  # fmt: skip

    assert unnamed.status_code == 400 and "confirm" in unnamed.json()
    assert refused.status_code == 409
    assert "1 service of other teams" in refused.json()["detail"]
    assert "spy" not in refused.json()["detail"]
    assert not Run.objects.filter(action="deprovision").exists()
    assert not Service.objects.filter(deprovision_pending=True).exists()


def test_a_teardown_goes_leaves_first(catalog, teams):
    # Made in the opposite order to the teardown's: the order of ids does not give it.
    root = provider(catalog, teams["alpha"], "root")
    middle = provider(catalog, teams["alpha"], "middle")
    leaf = make_service(template=catalog["consumer"], team=teams["alpha"], name="leaf")
    direct = make_service(template=catalog["consumer"], team=teams["alpha"], name="direct")
    for user, used, name in [(middle, root, "upstream"), (leaf, middle, "database"),
                             (direct, root, "database"), (leaf, root, "other")]:  # fmt: skip
        ServiceDependency.objects.create(service=user, uses=used, input=name)

    order = [s.name for s in graph.teardown_order(root)]

    assert set(order) == {"middle", "leaf", "direct"}
    assert order.index("leaf") < order.index("middle")


def test_a_cascade_queues_the_leaves_and_marks_the_rest_waiting(catalog, teams, owner):
    root = provider(catalog, teams["alpha"], "root")
    middle = provider(catalog, teams["alpha"], "middle")
    ServiceDependency.objects.create(service=middle, uses=root, input="upstream")
    leaf = consumer(catalog, teams["alpha"], "leaf", middle)

    first = cascade.deprovision(user=owner, service=root, confirm="root", cascade=True)

    assert first.service == leaf and first.action == "deprovision" and first.trigger == "cascade"
    waiting = set(Service.objects.filter(deprovision_pending=True).values_list("name", flat=True))
    assert waiting == {"root", "middle"}
    with pytest.raises(Conflict):  # it is waiting: nothing else is queued for the root
        cascade.deprovision(user=owner, service=middle, confirm="middle", cascade=False)


def test_a_canceled_cascade_run_stops_the_cascade(catalog, teams, owner):
    root = provider(catalog, teams["alpha"], "root")
    leaf = consumer(catalog, teams["alpha"], "leaf", root)
    run = cascade.deprovision(user=owner, service=root, confirm="root", cascade=True)

    with transaction.atomic():
        api_client_for(owner).post(f"/api/runs/{run.pk}/cancel/")

    root.refresh_from_db()
    assert not root.deprovision_pending
    assert root.events.filter(kind="dependency", message__contains="stopped").exists()
    leaf.refresh_from_db()
    assert leaf.status == "active"


def test_expiry_waits_for_the_services_that_use_an_expired_one(catalog, teams):
    from datetime import timedelta

    from django.utils import timezone

    from provisioning.housekeeping import expire_services

    db = provider(catalog, teams["alpha"], "orders-db")
    alone = provider(catalog, teams["alpha"], "alone")
    consumer(catalog, teams["alpha"], "app", db)
    Service.objects.filter(pk__in=[db.pk, alone.pk]).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )

    assert expire_services()["expired"] == 1
    assert not db.runs.filter(action="deprovision").exists()
    assert alone.runs.filter(action="deprovision").exists()
