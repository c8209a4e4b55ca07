"""What the platform adds to a run: a request through API, Celery and worker until a poll sees
it succeeded, against a bare `ansible_runner.run()` of the same playbook. Its database, queue,
data dir, gunicorn and worker are its own, removed at the end. Last line: `ratio: <p/b>`.
"""

import argparse
import json
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import redis
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT / "platform"))

TEMPLATE, TEAM = "static-site", "bench"
INPUTS = {"title": "Bench site", "tagline": "How long does it take?"}
START_DEADLINE, RUN_DEADLINE = 60.0, 120.0
ANSIBLE_ENV = {  # the wrapper's settings, so that Ansible itself behaves the same
    "ANSIBLE_FORCE_COLOR": "1", "ANSIBLE_RETRY_FILES_ENABLED": "0", "ANSIBLE_NOCOWS": "1",
}  # fmt: skip


class BenchError(Exception):
    pass


def database_url(url: str, name: str) -> str:
    return urlsplit(url)._replace(path=f"/{name}").geturl()


def admin_sql(server_url: str, statement: str, name: str) -> None:
    with psycopg.connect(database_url(server_url, "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL(statement).format(sql.Identifier(name)))


def django_ready(env: dict[str, str], *, static: bool = False) -> None:
    """Django set up on the bench database (`env`), its data dir prepared and migrated;
    with `static`, its static files collected (for pages)."""
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gangplank.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("prepare_data_dir")
    call_command("migrate", interactive=False, verbosity=0)
    if static:
        call_command("collectstatic", interactive=False, verbosity=0)


def setup_django(env: dict[str, str]):
    """Django on the bench database, migrated; returns (API token, static-site version)."""
    django_ready(env)
    from django.contrib.auth import get_user_model

    from accounts.services import create_token
    from catalog.models import Template
    from catalog.services import sync_catalog
    from teams.models import Team

    sync_catalog(directory=ROOT / "playbooks")
    team = Team.objects.create(slug=TEAM, name="Bench")
    user = get_user_model().objects.create_user(username="bench", password=secrets.token_hex(16))
    team.members.add(user)
    template = Template.objects.select_related("current_version").get(slug=TEMPLATE)
    if not template.is_requestable:
        raise BenchError(f"template {TEMPLATE} did not load: {template.errors}")
    return create_token(user=user, name="bench")[1], template.current_version


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(command: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen:
    with open(log, "wb") as output:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)


def wait_for_log(process: subprocess.Popen, log: Path, marker: bytes, what: str) -> None:
    """Until `marker` shows in the process's log; fails if it exits or takes too long."""
    deadline = time.monotonic() + START_DEADLINE
    while marker not in log.read_bytes():
        problem = "exited" if process.poll() is not None else None
        if not problem and time.monotonic() > deadline:
            problem = f"was not ready after {START_DEADLINE:.0f}s"
        if problem:
            lines = log.read_text(errors="replace").splitlines()[-30:]
            raise BenchError(f"{what} {problem}; its log ends:\n" + "\n".join(lines))
        time.sleep(0.05)


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def http(method: str, url: str, token: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)
    except urllib.error.HTTPError as exc:
        raise BenchError(f"{method} {url}: HTTP {exc.code} {exc.read()[:500]!r}") from exc


def platform_run(base: str, token: str, name: str, poll: float) -> tuple[float, dict]:
    """Seconds from sending the request until a poll sees its run succeeded, and the run."""
    body = {"template": TEMPLATE, "team": TEAM, "name": name, "inputs": INPUTS}
    started = time.perf_counter()
    run_id = http("POST", f"{base}/api/services/", token, body)["last_run"]["id"]
    deadline = time.monotonic() + RUN_DEADLINE
    while True:
        run = http("GET", f"{base}/api/runs/{run_id}/", token)
        if run["status"] == "succeeded":
            return time.perf_counter() - started, run
        if run["status"] == "failed":
            raise BenchError(f"platform run {run_id} ({name}) failed: {run['error']}")
        if time.monotonic() > deadline:
            raise BenchError(f"platform run {run_id} ({name}) still {run['status']} at deadline")
        time.sleep(poll)


def bare_run(version, data_dir: Path, name: str) -> float:
    """Seconds of one `ansible_runner.run()`, on a data dir laid out as the wrapper does."""
    import ansible_runner

    from catalog.schema import validate_inputs
    from provisioning import payload

    resources = data_dir / "bare-resources" / name
    ids = {"service_id": 1, "service_name": name, "team": TEAM, "run_id": 1}
    extravars = {
        **validate_inputs(version.inputs_schema, INPUTS),
        "gangplank": {**ids, "action": "provision", "resources_dir": str(resources)},
    }
    private = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=data_dir))
    for relative, text in version.files.items():
        (private / "project" / relative).parent.mkdir(parents=True, exist_ok=True)
        (private / "project" / relative).write_text(text)
    (private / "inventory").mkdir()
    (private / "inventory" / "hosts.yml").write_text(payload.unsafe_yaml(payload.inventory([])))
    (private / "env").mkdir()
    (private / "env" / "extravars").write_text(payload.unsafe_yaml(extravars))
    tmp = str(private / "tmp")
    envvars = {**ANSIBLE_ENV, "PATH": os.environ["PATH"], "ANSIBLE_LOCAL_TEMP": tmp}
    try:
        started = time.perf_counter()
        result = ansible_runner.run(
            private_data_dir=str(private),
            playbook=version.playbooks["provision"],
            envvars=envvars,
            quiet=True,
        )
        elapsed = time.perf_counter() - started
    finally:
        shutil.rmtree(private, ignore_errors=True)
    if result.status != "successful" or result.rc != 0:
        raise BenchError(f"bare run {name} ended {result.status} (rc {result.rc})")
    if not (resources / "sites" / TEAM / name / "index.html").is_file():
        raise BenchError(f"bare run {name} succeeded but wrote no site")
    return elapsed


def sandbox_start(data_dir: Path, repeat: int = 20) -> tuple[float, float]:
    """Median seconds of `true` in a run's sandbox (as the worker makes it) and bare."""
    from provisioning import sandbox

    private = Path(tempfile.mkdtemp(prefix="sandbox-", dir=data_dir))
    (private / "project").mkdir()
    boxed = sandbox.command(data_dir=private, writable=[], argv=["true"])

    def median(command: list[str]) -> float:
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            subprocess.run(command, check=True)
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    try:
        return median(boxed), median(["true"])
    finally:
        shutil.rmtree(private, ignore_errors=True)


def phases(run: dict, total: float) -> str:
    keys = ("created_at", "started_at", "finished_at")
    created, begun, ended = (datetime.fromisoformat(run[key]) for key in keys)
    queued, worker = (begun - created).total_seconds(), (ended - begun).total_seconds()
    rest = total - queued - worker
    return f"queued {queued * 1e3:.0f}, in worker {worker * 1e3:.0f}, http+poll {rest * 1e3:.0f} ms"


def measure(args, base: str, token: str, version, data_dir: Path) -> tuple[list, list]:
    """Platform and bare runs, interleaved; the first `--warmup` of each are not counted."""
    platform, bare = [], []
    for n in range(args.warmup + args.runs):
        label = f"#{n - args.warmup + 1}" if n >= args.warmup else "warm-up"
        seconds, run = platform_run(base, token, f"bench-{n}", args.poll_ms / 1e3)
        print(f"platform {label}: {seconds * 1e3:7.1f} ms ({phases(run, seconds)})")
        bare_seconds = bare_run(version, data_dir, f"bare-{n}")
        print(f"bare     {label}: {bare_seconds * 1e3:7.1f} ms", flush=True)
        if n >= args.warmup:
            platform.append(seconds)
            bare.append(bare_seconds)
    return platform, bare


def report(platform: list[float], bare: list[float], data_dir: Path) -> None:
    boxed, plain = sandbox_start(data_dir)
    print(f"sandbox start: {boxed * 1e3:.1f} ms (bwrap ... true) vs {plain * 1e3:.1f} ms (true)")
    platform_median, bare_median = statistics.median(platform), statistics.median(bare)
    print(f"platform median: {platform_median * 1e3:.1f} ms over {len(platform)} runs")
    print(f"bare median: {bare_median * 1e3:.1f} ms over {len(bare)} runs")
    print(f"platform overhead: {(platform_median - bare_median) * 1e3:.1f} ms")
    print(f"ratio: {platform_median / bare_median:.2f}")


def bench(args, env: dict[str, str], data_dir: Path) -> None:
    token, version = setup_django(env)
    queue, port = env["GANGPLANK_QUEUE"], free_port()
    base = f"http://127.0.0.1:{port}"
    worker_cmd = [
        str(BIN / "python"), "-m", "celery", "-A", "gangplank", "worker", "-Q", queue,
        "--concurrency", "2", "--loglevel", "INFO", "--without-gossip", "--without-mingle",
        "--hostname", f"{queue}@%h",
    ]  # fmt: skip
    web_cmd = [str(BIN / "gunicorn"), "gangplank.wsgi", "--bind", f"127.0.0.1:{port}"]
    worker_log, web_log = data_dir / "worker.log", data_dir / "gunicorn.log"
    child_env = {**os.environ, **env}
    with ExitStack() as stack:  # stops both, whatever happens
        worker = start(worker_cmd, worker_log, child_env)
        stack.callback(stop, worker)
        web = start(web_cmd, web_log, child_env)
        stack.callback(stop, web)
        wait_for_log(worker, worker_log, b" ready.", "the Celery worker")
        wait_for_log(web, web_log, b"Booting worker", "gunicorn")  # its socket listens by then
        report(*measure(args, base, token, version, data_dir), data_dir)


def forget_queue(broker_url: str, queue: str) -> None:
    """Drop the queue's keys (kombu's bindings) from Redis."""
    try:
        with redis.Redis.from_url(broker_url) as broker:
            for key in broker.scan_iter(match=f"*{queue}*"):
                broker.delete(key)
    except redis.RedisError as exc:
        print(f"could not remove queue {queue} from the broker: {exc}", file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="counted runs of each (10)")
    parser.add_argument("--warmup", type=int, default=1, help="uncounted runs of each first (1)")
    parser.add_argument("--poll-ms", type=float, default=20, help="run status poll interval (20)")
    args = parser.parse_args()
    server_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/gangplank")
    broker_url = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
    tag = secrets.token_hex(4)
    data_root = Path(os.environ.get("GANGPLANK_DATA_DIR") or ROOT / "var" / "bench")
    data_dir = (data_root / f"bench-{tag}").resolve()
    db_name, queue = f"gangplank_bench_{tag}", f"gangplank-bench-{tag}"
    env = {
        "DATABASE_URL": database_url(server_url, db_name), "CELERY_BROKER_URL": broker_url,
        "GANGPLANK_DATA_DIR": str(data_dir), "GANGPLANK_QUEUE": queue, "GANGPLANK_HTTPS": "false",
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }  # fmt: skip
    data_dir.mkdir(parents=True)
    created = False
    try:
        admin_sql(server_url, "CREATE DATABASE {}", db_name)
        created = True
        bench(args, env, data_dir)
        return 0
    except (BenchError, OSError, psycopg.Error) as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1
    finally:
        if "django.db" in sys.modules:
            sys.modules["django.db"].connections.close_all()
        if created:
            admin_sql(server_url, "DROP DATABASE IF EXISTS {} WITH (FORCE)", db_name)
        if broker_url.startswith("redis"):
            forget_queue(broker_url, queue)
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
