"""A hostile template in the sandbox: it finds nothing of the platform, and nothing it starts
outlives its run, whether the run ends, is canceled, times out, or its worker is killed."""

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from conftest import (
    process_env,
    request_via_api,
    running,
    use_queue,
    wait_for,
    wait_for_run,
    worker_command,
)
from provisioning.models import Run, RunEvent

pytestmark = pytest.mark.worker

DELAY = 10  # the detached child writes its marker this long after it starts
ALLOWED_ENV = re.compile(r"^(PATH|HOME|LANG|PWD|SHLVL|_|ANSIBLE_\w+|AWX_ISOLATED_DATA_DIR)$")
PLATFORM_ENV = ("DATABASE_URL", "SECRET_KEY", "CELERY_BROKER_URL", "GANGPLANK_DATA_DIR")


def mentioning(text: str) -> list[int]:
    """The processes of this host whose command line or environment holds `text`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or entry.name == str(os.getpid()):
            continue
        try:
            seen = (entry / "cmdline").read_bytes() + (entry / "environ").read_bytes()
        except OSError:
            continue
        if text.encode() in seen:
            found.append(int(entry.name))
    return found


def assert_nothing_left(marker: Path, *, since: float, delay: int = DELAY) -> None:
    """No process of the run's is left, and its marker never appears: checked until well past
    the moment the detached child, started before `since`, would have written it."""
    wait_for(lambda: not mentioning(str(marker)), timeout=10, what="the run's processes to end")
    while True:  # looked at once more past the moment, even when called after it
        assert not marker.exists(), "a process the run started outlived it"
        assert not Path(f"{marker}.async").exists(), "an async task outlived its run"
        if time.monotonic() >= since + delay + 3:
            return
        time.sleep(0.2)


def marker_path(settings, name: str) -> Path:
    return Path(settings.RESOURCES_DIR) / f"{name}-{uuid.uuid4().hex[:8]}"


def started_blocking(run_id: int) -> bool:
    return RunEvent.objects.filter(
        run_id=run_id, event="runner_on_start", task="Block until the platform stops the run"
    ).exists()


def hostile(
    api, name: str, marker: Path, *, block: bool, probe_paths=(), delay: int = DELAY
) -> int:
    inputs = {"marker": str(marker), "delay": delay, "block": block}
    inputs["probe_paths"] = ",".join(str(p) for p in probe_paths)
    return request_via_api(api, "hostile", name, inputs)["last_run"]["id"]


@pytest.fixture
def planted(settings, tmp_path) -> list[Path]:
    """What the platform holds that a run must not reach, with something in each."""
    from core import keys

    data = Path(settings.DATA_DIR)
    keys.fernet()  # makes the key file when the keys are not in the environment
    other_run = Path(settings.RUNS_DIR) / "run-999999-planted"
    (other_run / "project").mkdir(parents=True, exist_ok=True)
    (other_run / "project" / "inputs.yml").write_text("password: hunter2\n")
    (data / "broker" / "queue").mkdir(parents=True, exist_ok=True)
    (data / "broker" / "queue" / "message").write_text("{}")
    (data / "gangplank.sqlite3").write_bytes(b"SQLite format 3\0")
    paths = [
        data / "secret_key",
        keys.key_file(),
        data / "gangplank.sqlite3",
        data / "broker",
        other_run,
        Path(settings.RUNS_DIR),
        Path.home(),
        Path("/var/lib/postgresql"),
        Path("/etc/shadow"),
        Path("/etc/ssh"),
        Path(f"/proc/{os.getppid()}/environ"),
    ]
    yield [path for path in paths if path.exists()]
    for path in (other_run, data / "gangplank.sqlite3"):
        if path.is_dir():
            import shutil

            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def test_it_gives_a_hostile_template_nothing_and_ends_what_it_leaves(
    worker, catalog, api, settings, planted
):
    marker = marker_path(settings, "marker-ended")
    requested = time.monotonic()
    run_id = hostile(api, "nosy", marker, block=False, probe_paths=planted)

    run = wait_for_run(api, run_id)

    assert run["status"] == "succeeded", run["error"]
    found = run["outputs"]["found"]
    assert [name for name in found["env"] if not ALLOWED_ENV.match(name)] == []
    assert not set(PLATFORM_ENV) & set(found["env"]) and found["dsn_values"] == []
    assert found["readable"] == [], "the run read the platform's files"
    # Of the folders, it sees its own data dir, and of the worker's home the way to Python.
    own = [Path(found["listings"].pop(str(settings.RUNS_DIR)).pop()).name]
    assert [name.startswith(f"run-{run_id}-") for name in own] == [True]
    # (Ansible in the sandbox makes ~/.ansible in the sandbox's own root, a tmpfs.)
    python = Path(sys.executable).resolve().parts
    for folder, names in found["listings"].items():
        seen = [Path(folder, name).parts for name in names if name != ".ansible"]
        assert all(parts == python[: len(parts)] for parts in seen), (folder, names)
    assert found["environs"] == [] and found["sockets"] == []
    assert found["psql"] not in (0, None), "psql reached the database with ambient credentials"
    assert not any("celery" in p or "gunicorn" in p for p in found["processes"])
    assert len(found["processes"]) < 15, found["processes"]  # its own, not the host's
    # A private HOME, not the worker's: only what Ansible itself wrote there.
    assert [name for name in found["home"] if not name.startswith(".ansible")] == []
    assert_nothing_left(marker, since=requested)


def test_cancel_and_timeout_end_the_whole_sandbox(worker, catalog, api, settings):
    canceled_marker = marker_path(settings, "marker-canceled")
    timed_out_marker = marker_path(settings, "marker-timed-out")
    # The template times out after 15 s: this child would write its marker after that.
    to_time_out = hostile(api, "timed-out", timed_out_marker, block=True, delay=20)
    to_cancel = hostile(api, "canceled", canceled_marker, block=True)
    wait_for(lambda: started_blocking(to_cancel), timeout=60, what="the run to block")
    canceling = time.monotonic()

    response = api.post(f"/api/runs/{to_cancel}/cancel/")
    assert response.status_code in (200, 202), response.json()
    canceled = wait_for_run(api, to_cancel)
    assert canceled["status"] == "canceled"
    assert_nothing_left(canceled_marker, since=canceling)

    timed_out = wait_for_run(api, to_time_out, timeout=90)
    assert timed_out["status"] == "failed" and "timed out" in timed_out["error"]
    assert_nothing_left(timed_out_marker, since=canceling, delay=20)


def pool_child_running(run_id: int) -> int:
    """The worker's pool process that runs `run_id`: the parent of its sandbox."""
    data_dir = wait_for(
        lambda: next(Path(os.environ["GANGPLANK_DATA_DIR"], "runs").glob(f"run-{run_id}-*"), None),
        timeout=30,
        what="the run's data dir",
    )
    for pid in mentioning(str(data_dir)):
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.split(") ", 1)[0].endswith("(bwrap"):
            return int(stat.split(") ", 1)[1].split()[1])
    raise AssertionError(f"no sandbox found for run {run_id}")


def test_killing_the_worker_or_its_pool_child_ends_the_sandbox_and_a_new_worker_cleans_up(
    worker, catalog, api, settings, tmp_path
):
    queue = f"killed-{os.getpid()}"
    default_queue = use_queue(queue)
    env = process_env(GANGPLANK_QUEUE=queue)
    runs = Path(settings.RUNS_DIR)
    try:
        with running(worker_command(queue), log=tmp_path / "w1.log", env=env, ready=b" ready."):
            child_marker = marker_path(settings, "marker-pool-child")
            first = hostile(api, "pool-child", child_marker, block=True)
            wait_for(lambda: started_blocking(first), timeout=60, what="the run to block")
            child_blocked = time.monotonic()
            os.kill(pool_child_running(first), signal.SIGKILL)
            # Its processes end now; that none comes back to write the marker later is
            # watched for below, while the second worker runs (the two waits overlap).
            wait_for(lambda: not mentioning(str(child_marker)), timeout=10,
                     what="the killed pool child's processes to end")  # fmt: skip

        with running(
            worker_command(queue), log=tmp_path / "w2.log", env=env, ready=b" ready."
        ) as w2:
            worker_marker = marker_path(settings, "marker-worker")
            second = hostile(api, "worker", worker_marker, block=True)
            wait_for(lambda: started_blocking(second), timeout=60, what="the run to block")
            blocked = time.monotonic()
            assert list(runs.glob(f"run-{first}-*")) == []  # w2 removed what w1's child left
            os.killpg(w2.pid, signal.SIGKILL)
            w2.wait()
            assert_nothing_left(worker_marker, since=blocked)
            assert_nothing_left(child_marker, since=child_blocked)
        assert list(runs.glob(f"run-{second}-*")), "nobody was left to remove it"
        assert Run.objects.get(pk=second).status == "running"

        with running(worker_command(queue), log=tmp_path / "w3.log", env=env, ready=b" ready."):
            assert list(runs.glob(f"run-{second}-*")) == []
    finally:
        use_queue(default_queue)


def test_a_worker_without_bubblewrap_refuses_to_start_unless_told_to_run_unsandboxed(
    worker, tmp_path
):

    bare_path = str(Path(sys.executable).parent)  # the virtualenv's bin, without bwrap
    env = process_env(GANGPLANK_QUEUE="never-used", PATH=bare_path)
    refused = subprocess.run(
        worker_command("never-used"), env=env, capture_output=True, text=True, timeout=120
    )
    assert refused.returncode != 0
    assert "apt-get install bubblewrap" in refused.stderr
    assert "GANGPLANK_SANDBOX=off" in refused.stderr

    log = tmp_path / "unsandboxed.log"
    env["GANGPLANK_SANDBOX"] = "off"
    with running(worker_command("never-used"), log=log, env=env, ready=b" ready."):
        assert b"playbooks run unsandboxed" in log.read_bytes()


def test_unsandboxed_runs_are_shown_to_platform_engineers_on_every_page(
    client, settings, ops, owner
):
    settings.GANGPLANK_SANDBOX = False
    client.force_login(ops)
    for url in ("/", "/services/", "/catalog/"):
        assert 'id="unsandboxed"' in client.get(url).content.decode(), url
    client.force_login(owner)
    assert 'id="unsandboxed"' not in client.get("/").content.decode()

    settings.GANGPLANK_SANDBOX = True
    client.force_login(ops)
    assert 'id="unsandboxed"' not in client.get("/").content.decode()
