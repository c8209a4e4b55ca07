"""Outages while a run is in progress, with real processes of the test's own: the broker
stopped and started again, PostgreSQL restarted, the worker's pool process SIGKILLed.

Each run is of the `ledger` template, which appends a line as its playbook starts and as it
ends and waits in between for a go file: a run held there is in progress for as long as the
test wants, and the ledger counts every execution.
"""

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import (
    ROOT,
    TEST_CATALOG,
    celery_command,
    free_port,
    http_json,
    process_env,
    redis_command,
    request_via_api,
    running,
    wait_for,
    wait_for_run,
    worker_command,
)

pytestmark = pytest.mark.worker

ENDED = ("succeeded", "failed", "canceled")


def web_command(port: int) -> list[str]:
    return [sys.executable, "-m", "gunicorn", "gangplank.wsgi", "--bind", f"127.0.0.1:{port}"]


def children_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
    return found


def busy_pool_process(worker_pid: int) -> int | None:
    """The worker's pool process running a playbook: its only child with children."""
    busy = [child for child in children_of(worker_pid) if children_of(child)]
    return busy[0] if len(busy) == 1 else None


def log_has(path: Path, text: bytes, *, times: int = 1) -> bool:
    return path.exists() and path.read_bytes().count(text) >= times


def test_a_run_whose_pool_process_is_sigkilled_fails_as_lost_and_never_runs_again(
    transactional_db, catalog, api, ledger, own_queue, tmp_path
):
    """The worker's parent survives and starts a new pool process; beat fails the run."""
    env = process_env(
        GANGPLANK_QUEUE=own_queue, GANGPLANK_RUN_LOST_AFTER_SECONDS="5",
        GANGPLANK_HOUSEKEEPING_SECONDS="1",
    )  # fmt: skip
    beat = celery_command("beat", "--loglevel", "INFO", "-s", str(tmp_path / "beat-schedule"))
    book = ledger("victim")
    with (
        running(worker_command(own_queue), log=tmp_path / "worker.log", env=env, ready=b" ready.")
        as worker,
        running(beat, log=tmp_path / "beat.log", env=env, ready=b"beat: Starting"),
    ):  # fmt: skip
        created = request_via_api(api, "ledger", "victim", {})
        first = created["last_run"]["id"]
        book.wait_for_line(f"start provision {first}")
        child = wait_for(lambda: busy_pool_process(worker.pid), timeout=10, what="the pool process")
        os.kill(child, signal.SIGKILL)

        run = wait_for_run(api, first, timeout=45)
        assert run["status"] == "failed"
        assert "stopped responding" in run["error"] and "was not restarted" in run["error"]
        service = api.get(f"/api/services/{created['id']}/").json()
        assert (service["status"], service["failed_action"]) == ("failed", "provision")

        book.go()  # a playbook of the killed run still alive would now end and say so
        retried = api.post(f"/api/runs/{first}/retry/")
        assert retried.status_code == 202, retried.json()
        assert wait_for_run(api, retried.json()["id"], timeout=60)["status"] == "succeeded"
        assert worker.poll() is None, "the worker's parent process died with its child"
    second = retried.json()["id"]
    assert book.lines() == [
        f"start provision {first}", f"start provision {second}", f"end provision {second}"
    ]  # fmt: skip
    assert api.get(f"/api/services/{created['id']}/").json()["status"] == "active"


def test_a_run_in_progress_when_the_broker_goes_away_ends_once_and_the_next_one_runs(
    transactional_db, catalog, owner, ledger, tmp_path
):
    """Web and worker on a Redis of the test's own that keeps its data (as production's
    does), stopped while the run is held, started again once it has ended."""
    from accounts.services import create_token
    from provisioning.models import Run, RunEvent

    port, web_port = free_port(), free_port()
    env = process_env(
        CELERY_BROKER_URL=f"redis://127.0.0.1:{port}/0", GANGPLANK_QUEUE=f"broker-{port}",
        GANGPLANK_HTTPS="false",
    )  # fmt: skip
    _, token = create_token(user=owner, name="outage")
    api = f"http://127.0.0.1:{web_port}/api"
    log = lambda name: tmp_path / f"{name}.log"  # noqa: E731
    (tmp_path / "redis").mkdir()
    redis = redis_command(port, directory=tmp_path / "redis")
    book = ledger("steady")
    with contextlib.ExitStack() as stack:
        broker = stack.enter_context(
            running(redis, log=log("redis-1"), env=env, ready=b"Ready to accept")
        )
        web = web_command(web_port)
        stack.enter_context(running(web, log=log("web"), env=env, ready=b"Booting worker"))
        worker = stack.enter_context(
            running(worker_command(f"broker-{port}"), log=log("worker"), env=env, ready=b" ready.")
        )
        _, created = http_json(
            "POST", f"{api}/services/", token,
            {"template": "ledger", "team": "alpha", "name": "steady", "inputs": {}},
        )  # fmt: skip
        first = created["last_run"]["id"]
        book.wait_for_line(f"start provision {first}")

        broker.terminate()
        broker.wait(timeout=30)
        wait_for(
            lambda: log_has(log("worker"), b"Connection to broker lost"),
            timeout=30,
            what="the worker to lose the broker",
        )
        book.go()
        wait_for(
            lambda: Run.objects.get(pk=first).status in ENDED,
            timeout=60,
            what="the run to end while the broker is away",
        )
        assert Run.objects.get(pk=first).status == "succeeded"

        stack.enter_context(running(redis, log=log("redis-2"), env=env, ready=b"Ready to accept"))
        wait_for(
            lambda: log_has(log("worker"), b"Connected to redis://", times=2),
            timeout=60,
            what="the worker to reconnect",
        )
        status, update = http_json(
            "POST", f"{api}/services/{created['id']}/update/", token, {"inputs": {"note": "2nd"}}
        )
        assert status == 202
        second = update["id"]
        wait_for(
            lambda: Run.objects.get(pk=second).status in ENDED,
            timeout=60,
            what="the next run to end",
        )
        assert Run.objects.get(pk=second).status == "succeeded"
        assert worker.poll() is None
    assert book.lines() == [
        f"start provision {first}", f"end provision {first}",
        f"start update {second}", f"end update {second}",
    ]  # fmt: skip
    for run_id in (first, second):
        events = RunEvent.objects.filter(run_id=run_id).order_by("counter")
        assert list(events.values_list("counter", flat=True)) == list(range(1, events.count() + 1))
        assert events.last().event == "playbook_on_stats"


@dataclass
class Cluster:
    """A PostgreSQL cluster of the test's own, migrated, with a team `alpha`, its member's
    API token and the `ledger` template loaded."""

    url: str
    token: str
    pg_ctl: list[str]
    user: dict

    def stop(self) -> None:
        subprocess.run([*self.pg_ctl, "-m", "fast", "stop"], check=True, **self.user)

    def start(self) -> None:
        subprocess.run([*self.pg_ctl, "start"], check=True, **self.user)


SETUP = """
from pathlib import Path
from django.contrib.auth import get_user_model
from accounts.services import create_token
from catalog.services import sync_catalog
from teams.models import Team

user = get_user_model().objects.create_user(username="owner", password="pw-owner-outage")
Team.objects.create(slug="alpha", name="Alpha").members.add(user)
sync_catalog(directory=Path({catalog!r}))
print(create_token(user=user, name="outage")[1])
"""


@pytest.fixture(scope="module")
def own_postgres():
    """`initdb` into a folder of its own, on a port of its own, trust auth; migrated once."""
    initdb = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3])
    )
    assert initdb, "the outage tests need the PostgreSQL server binaries (postgresql package)"
    bin_dir = initdb[-1].parent
    root = Path(tempfile.mkdtemp(prefix="gangplank-pg-"))
    user: dict = {}
    if os.geteuid() == 0:  # the server refuses to run as root
        account = pwd.getpwnam("postgres")
        os.chown(root, account.pw_uid, account.pw_gid)
        user = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
    port = free_port()
    data = root / "data"
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    pg_ctl = [bin_dir / "pg_ctl", "-D", data, "-l", root / "log", "-w", "-o", options]
    pg_ctl = [str(part) for part in pg_ctl]
    tool = lambda name, *args: subprocess.run(  # noqa: E731
        [str(bin_dir / name), *args], check=True, capture_output=True, cwd=root, **user
    )
    try:
        tool("initdb", "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        tool("pg_ctl", *pg_ctl[1:], "start")
        tool("createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "gangplank")
        url = f"postgres://postgres@127.0.0.1:{port}/gangplank"
        env = process_env(DATABASE_URL=url)
        manage = [sys.executable, str(ROOT / "manage.py")]
        subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, check=True)
        catalog = root / "catalog"
        shutil.copytree(TEST_CATALOG / "ledger", catalog / "ledger")
        setup = SETUP.format(catalog=str(catalog))
        done = subprocess.run(
            [*manage, "shell", "-c", setup], env=env, check=True, capture_output=True, text=True
        )
        yield Cluster(url=url, token=done.stdout.split()[-1], pg_ctl=pg_ctl, user=user)
    finally:
        subprocess.run([*pg_ctl, "-m", "immediate", "stop"], capture_output=True, **user)
        shutil.rmtree(root, ignore_errors=True)


def all_events(api: str, token: str, run_id: int) -> list[dict]:
    events: list[dict] = []
    while True:
        after = events[-1]["counter"] if events else 0
        _, page = http_json("GET", f"{api}/runs/{run_id}/events/?after={after}", token)
        events += page["results"]
        if not page.get("next"):
            return events


def test_a_database_restart_during_a_run_loses_no_event_and_runs_nothing_twice(
    own_postgres, ledger, tmp_path
):
    """Web and worker on the test's own cluster, restarted while the run's playbook goes on."""
    web_port = free_port()
    queue = f"database-{web_port}"
    env = process_env(DATABASE_URL=own_postgres.url, GANGPLANK_QUEUE=queue, GANGPLANK_HTTPS="false")
    api, token = f"http://127.0.0.1:{web_port}/api", own_postgres.token
    worker_log = tmp_path / "worker.log"

    def run_when_ended(run_id: int) -> dict:
        def ended():
            run = http_json("GET", f"{api}/runs/{run_id}/", token)[1]
            return run if run["status"] in ENDED else None

        return wait_for(ended, timeout=60, what=f"run {run_id} to end")

    book = ledger("durable")
    with (
        running(web_command(web_port), log=tmp_path / "web.log", env=env, ready=b"Booting worker"),
        running(worker_command(queue), log=worker_log, env=env, ready=b" ready.") as worker,
    ):  # fmt: skip
        _, created = http_json(
            "POST", f"{api}/services/", token,
            {"template": "ledger", "team": "alpha", "name": "durable", "inputs": {}},
        )  # fmt: skip
        first = created["last_run"]["id"]
        book.wait_for_line(f"start provision {first}")

        own_postgres.stop()
        book.go()
        book.wait_for_line(f"end provision {first}", timeout=30)  # it went on meanwhile
        wait_for(
            lambda: log_has(worker_log, b"database is unreachable"),
            timeout=30,
            what="the worker to find the database gone",
        )
        own_postgres.start()

        assert run_when_ended(first)["status"] == "succeeded"
        events = all_events(api, token, first)
        assert [e["counter"] for e in events] == list(range(1, len(events) + 1))
        assert events[-1]["event"] == "playbook_on_stats"
        service = http_json("GET", f"{api}/services/{created['id']}/", token)[1]
        assert service["status"] == "active"

        status, update = http_json(
            "POST", f"{api}/services/{created['id']}/update/", token, {"inputs": {"note": "2nd"}}
        )
        assert status == 202
        second = update["id"]
        assert run_when_ended(second)["status"] == "succeeded"
        assert worker.poll() is None
    assert book.lines() == [
        f"start provision {first}", f"end provision {first}",
        f"start update {second}", f"end update {second}",
    ]  # fmt: skip
