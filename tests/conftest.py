"""Shared fixtures: the same few users, a real Celery worker process, the test catalogue."""

import os
import shutil
import uuid
from pathlib import Path

import pytest
from django.db import connection
from rest_framework.test import APIClient

from testkit import (  # noqa: F401  (tests import these from conftest too)
    CHROMIUM,
    CHROMIUM_ARGS,
    LOCAL_NETWORKS,
    REDIS,
    REPORT_CSP_VIOLATIONS,
    ROOT,
    TEMPLATE_PLAYBOOK,
    Ledger,
    _test_database_url,
    celery_command,
    free_port,
    http_json,
    is_csp_violation,
    process_env,
    redis_command,
    running,
    use_queue,
    wait_for,
    worker_command,
    write_template,
)

EXAMPLE_CATALOG = ROOT / "playbooks"
TEST_CATALOG = ROOT / "tests" / "catalog"


MARKED_BY_FIXTURE = {"celery_worker": "worker", "browser_page": "browser"}


def pytest_collection_modifyitems(items):
    for item in items:
        for fixture, marker in MARKED_BY_FIXTURE.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(marker)


@pytest.fixture(scope="session", autouse=True)
def prepared_data_dir():
    """GANGPLANK_DATA_DIR prepared as `make run` and the image's entrypoint do, before the
    suite uses it or starts processes on it."""
    from django.core.management import call_command

    call_command("prepare_data_dir")


@pytest.fixture(scope="session", autouse=True)
def fast_password_hashing():
    """Passwords hashed in this process with a fast hasher: production's PBKDF2 costs 0.3 s a
    hash here, a second or more for each test's users and logins. Processes the suite
    starts (web servers, workers) keep production's hashers."""
    from django.test.utils import override_settings

    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


# What flushing keeps: the rows post_migrate would otherwise write again after every flush.
KEPT_BY_FLUSH = {"django_content_type", "auth_permission"}


@pytest.fixture(scope="session", autouse=True)
def quick_flush():
    """The flush after each transactional test (`worker`, `transactional_db`, `live_server`)
    as DELETEs instead of Django's TRUNCATE: PostgreSQL's TRUNCATE rebuilds every index and
    syncs each new file to disk, a second or more on a loaded machine against a tenth for
    DELETE. Content types and permissions are kept (post_migrate then finds them and writes
    nothing); a table with triggers (the append-only audit trail refuses DELETE) is still
    truncated. Sequences are left alone either way (Django's flush does not reset them)."""
    ops = connection.ops
    django_sql_flush = ops.sql_flush

    def sql_flush(style, tables, *, reset_sequences=False, allow_cascade=False):
        if reset_sequences or allow_cascade or connection.vendor != "postgresql":
            return django_sql_flush(
                style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
            )
        with connection.cursor() as cursor:
            cursor.execute("SELECT DISTINCT tgrelid::regclass::text FROM pg_trigger "
                           "WHERE NOT tgisinternal")  # fmt: skip
            guarded = {name.strip('"') for (name,) in cursor.fetchall()}
        tables = [table for table in tables if table not in KEPT_BY_FLUSH]
        truncated = [ops.quote_name(table) for table in tables if table in guarded]
        statements = [f"TRUNCATE {', '.join(truncated)};"] if truncated else []
        return statements + [
            f"DELETE FROM {ops.quote_name(table)};" for table in tables if table not in guarded
        ]

    ops.sql_flush = sql_flush
    yield
    ops.sql_flush = django_sql_flush


@pytest.fixture(scope="session", autouse=True)
def collected_static(django_db_blocker):
    """Static files collected as in production, for WhiteNoise and the manifest."""
    from django.core.management import call_command

    call_command("collectstatic", "--noinput", verbosity=0)


@pytest.fixture(scope="session")
def catalog_dir(tmp_path_factory) -> Path:
    """The example catalogue and the test templates together, as one catalogue folder."""
    directory = tmp_path_factory.mktemp("catalog")
    for source in (EXAMPLE_CATALOG, TEST_CATALOG):
        for folder in source.iterdir():
            if folder.is_dir():
                shutil.copytree(folder, directory / folder.name)
    return directory


@pytest.fixture
def shared_postgres(db):
    """The credential the postgres-database template names: the suite's own server."""
    from credentials.services import create_credential

    settings = connection.settings_dict
    plain = {
        "PGHOST": settings["HOST"] or "127.0.0.1",
        "PGPORT": str(settings["PORT"] or 5432),
        "PGUSER": settings["USER"] or "postgres",
    }
    secret = {"PGPASSWORD": settings["PASSWORD"]} if settings["PASSWORD"] else {}
    return create_credential(
        user=None,
        name="shared-postgres",
        type="env",
        fields={**plain, **secret},
        plain_variables=list(plain),
    )


# What the test catalogue's `credentialed` template is given (see test_credentials_runs).
CI_PASSWORD = "hunter2-credential-pw"
CI_FILE = "token: file-secret-4242"


@pytest.fixture
def catalog_credentials(shared_postgres):
    """Every credential the catalogues name, so that all their templates load."""
    from credentials.services import create_credential

    create_credential(
        user=None,
        name="ci-login",
        type="password",
        fields={"username": "ci-user", "password": CI_PASSWORD},
    )
    create_credential(user=None, name="ci-file", type="file", fields={"content": CI_FILE})


@pytest.fixture
def shared_shell_hosts(db):
    """What the shell-account example names: the shell-admin SSH credential and the
    shared-hosts inventory, here without hosts (tests/test_targets_ssh.py makes real ones)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from credentials.services import create_credential
    from inventories.models import Inventory

    key = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    fields = {"username": "root", "private_key": key.decode()}
    create_credential(user=None, name="shell-admin", type="ssh", fields=fields)
    return Inventory.objects.create(name="shared-hosts")


@pytest.fixture
def catalog(db, catalog_dir, catalog_credentials, shared_shell_hosts):
    from catalog.models import Template
    from catalog.services import sync_catalog

    sync_catalog(directory=catalog_dir)
    return {t.slug: t for t in Template.objects.select_related("current_version")}


def _user(django_user_model, username, **extra):
    return django_user_model.objects.create_user(
        username=username, password="pw-" + username, **extra
    )


@pytest.fixture
def teams(db):
    from teams.models import Team

    return {
        "alpha": Team.objects.create(slug="alpha", name="Alpha"),
        "beta": Team.objects.create(slug="beta", name="Beta"),
    }


@pytest.fixture
def owner(django_user_model, teams):
    user = _user(django_user_model, "owner")
    teams["alpha"].members.add(user)
    return user


@pytest.fixture
def member(django_user_model, teams):
    user = _user(django_user_model, "member")
    teams["alpha"].members.add(user)
    return user


@pytest.fixture
def outsider(django_user_model, teams):
    user = _user(django_user_model, "outsider")
    teams["beta"].members.add(user)
    return user


@pytest.fixture
def ops(django_user_model):
    """A platform engineer."""
    from teams.models import GlobalRole

    user = _user(django_user_model, "ops")
    GlobalRole.objects.create(user=user, role="platform")
    return user


@pytest.fixture
def auditor(django_user_model):
    from teams.models import GlobalRole

    user = _user(django_user_model, "auditor")
    GlobalRole.objects.create(user=user, role="auditor")
    return user


@pytest.fixture
def team_admin(django_user_model, teams):
    from teams.models import Membership

    user = _user(django_user_model, "teamadmin")
    Membership.objects.create(team=teams["alpha"], user=user, role="admin")
    return user


def api_client_for(user) -> APIClient:
    client = APIClient()
    from accounts.services import create_token

    _, key = create_token(user=user, name="tests")
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.fixture
def api(owner) -> APIClient:
    return api_client_for(owner)


@pytest.fixture
def own_queue():
    """A queue of the test's own, where this process sends runs from now on (for a worker of
    the test's own, or none: then only the test claims them), deleted afterwards."""
    from gangplank.celery import app

    queue = f"own-{uuid.uuid4().hex[:10]}"
    default = use_queue(queue)
    yield queue
    use_queue(default)
    with app.connection_for_write() as conn:
        conn.default_channel.queue_delete(queue)


@pytest.fixture(scope="session", autouse=True)
def celery_queue():
    """A queue of this session's own: tasks the tests send never reach another worker."""
    from gangplank.celery import app

    queue = f"gangplank-test-{uuid.uuid4().hex[:10]}"
    use_queue(queue)
    yield queue
    with app.connection_for_write() as conn:
        conn.default_channel.queue_delete(queue)


# The suite's notification receivers and lists for inputs' choices listen on loopback, which
# a deployment refuses unless it allows it: the suite allows 127.0.0.1 and ::1 (not the rest
# of 127.0.0.0/8), in the test process and in every platform process it starts.
@pytest.fixture(scope="session", autouse=True)
def local_notification_receivers():
    import ipaddress

    from django.conf import settings

    local = tuple(ipaddress.ip_network(cidr) for cidr in LOCAL_NETWORKS.split(","))
    settings.GANGPLANK_NOTIFY_ALLOWED_NETWORKS = local
    settings.GANGPLANK_LISTS_ALLOWED_NETWORKS = local


# The worker's notification retries: few and quick, for the tests.
NOTIFY_ATTEMPTS = 3


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker, tmp_path_factory, celery_queue):
    """A real `celery worker` process on the broker, on the test database, own queue."""
    from django.conf import settings

    assert connection.vendor == "postgresql", "the suite runs on PostgreSQL (set DATABASE_URL)"
    assert not settings.CELERY_BROKER_URL.startswith("filesystem"), "the suite runs on Redis"
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    env = process_env(
        GANGPLANK_QUEUE=celery_queue,
        GANGPLANK_NOTIFY_ATTEMPTS=str(NOTIFY_ATTEMPTS),
        GANGPLANK_NOTIFY_BACKOFF_SECONDS="0.5",
    )
    with running(worker_command(celery_queue), log=log, env=env, ready=b" ready."):
        yield {"log": log, "queue": celery_queue}


@pytest.fixture
def worker(celery_worker, transactional_db):
    """For tests that need the worker: rows they create are committed, so it sees them."""
    return celery_worker


def request_via_api(api, template, name, inputs, team="alpha") -> dict:
    """POST /api/services/ and return the created service."""
    response = api.post(
        "/api/services/",
        {"template": template, "team": team, "name": name, "inputs": inputs},
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json()


def wait_for_run(api, run_id, *, timeout=120) -> dict:
    """Poll GET /api/runs/{id}/ until the run has ended; return it."""

    def ended():
        run = api.get(f"/api/runs/{run_id}/").json()
        return run if run["status"] in ("succeeded", "failed", "canceled") else None

    return wait_for(ended, timeout=timeout, what=f"run {run_id} to end")


def race(attempt, arguments, *, expected=Exception) -> list:
    """Run `attempt(argument)` for each argument in threads released together, each on its
    own database connection; return what each returned or the `expected` error it raised."""
    import threading

    arguments = list(arguments)
    barrier = threading.Barrier(len(arguments))
    outcomes = []

    def run(argument):
        try:
            barrier.wait(timeout=10)
            outcomes.append(attempt(argument))
        except expected as exc:
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(argument,)) for argument in arguments]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(outcomes) == len(arguments), "a racing thread did not finish"
    return outcomes


@pytest.fixture
def smtp():
    """A real SMTP server on a free local port; what it receives, parsed."""
    import email
    from email import policy

    from aiosmtpd.controller import Controller

    received: list[dict] = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            message = email.message_from_bytes(envelope.content, policy=policy.default)
            body = message.get_body(("plain", "html"))
            received.append(
                {
                    "to": envelope.rcpt_tos,
                    "subject": str(message["subject"]),
                    "body": body.get_content() if body else "",
                }
            )
            return "250 OK"

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    yield {"port": port, "messages": received}
    controller.stop()


@pytest.fixture
def ssh_hosts():
    """Starts real sshd hosts on demand (`ssh_hosts.start(name)`, see tests/sshhosts.py);
    every sshd, namespace and veth is gone after the test, whatever its end."""
    from sshhosts import SshHosts, Unavailable

    try:
        hosts = SshHosts()
    except Unavailable as reason:
        pytest.skip(str(reason))
    try:
        yield hosts
    finally:
        hosts.close()


@pytest.fixture
def csp_violations() -> list[str]:
    """What the Content-Security-Policy refused in the browser, and uncaught script errors
    (`browser_page` collects them); every browser test ends with none."""
    return []


@pytest.fixture
def browser_page(live_server, settings, csp_violations):
    from playwright.sync_api import sync_playwright

    # The live server serves static files from the finders, by their unhashed names.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }

    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
    # in between are still synchronous.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.set_default_timeout(30_000)
        requested = []
        page.on("request", lambda request: requested.append(request.url))
        page.add_init_script(REPORT_CSP_VIOLATIONS)
        page.on(
            "console",
            lambda message: is_csp_violation(message.text) and csp_violations.append(message.text),
        )
        page.on("pageerror", lambda error: csp_violations.append(f"page error: {error}"))
        yield page, requested
        browser.close()
    del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
    assert csp_violations == [], "the Content-Security-Policy refused something"


@pytest.fixture
def ledger(settings):
    """`ledger(name)`: the ledger of service `name` of team alpha, emptied."""
    return lambda name, team="alpha": Ledger(Path(settings.RESOURCES_DIR) / "ledger" / team / name)


@pytest.fixture
def signed_in_user(owner):
    """Who `signed_in` is: the owner, unless a module overrides this fixture."""
    return owner


@pytest.fixture
def signed_in(client, signed_in_user):
    """The portal's test client, logged in as `signed_in_user`."""
    client.force_login(signed_in_user)
    return client
