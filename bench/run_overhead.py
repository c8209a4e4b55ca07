"""What the platform adds to a run: a request through the API, Celery and the worker, timed
until the run is seen `succeeded`, against a bare `ansible_runner.run()` of the same playbook.

Everything it uses is its own: a throwaway database on the DATABASE_URL server, a queue, a
data dir under GANGPLANK_DATA_DIR, a gunicorn and a Celery worker; all removed at the end.
The last line printed is `ratio: <platform median / bare median>`.
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
import time
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT / "platform"))

TEMPLATE = "static-site"
TEAM = "bench"
INPUTS = {"title": "Bench site", "tagline": "How long does it take?"}
POLL_SECONDS = 0.01
START_DEADLINE = 60.0
RUN_DEADLINE = 120.0


class BenchError(Exception):
    pass


def database_url(url: str, name: str) -> str:
    return urlsplit(url)._replace(path=f"/{name}").geturl()


def admin_sql(server_url: str, statement: str, name: str) -> None:
    with psycopg.connect(database_url(server_url, "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL(statement).format(sql.Identifier(name)))


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gangplank.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)


def seed():
    """The catalogue, a team with one member and their API token; returns (token, version)."""
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

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
    return Token.objects.create(user=user).key, template.current_version


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(command: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen:
    with open(log, "wb") as output:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)


def tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else ""


def wait_until(ready, process: subprocess.Popen, log: Path, what: str) -> None:
    deadline = time.monotonic() + START_DEADLINE
    while not ready():
        if process.poll() is not None:
            raise BenchError(f"{what} exited with {process.returncode}:\n{tail(log)}")
        if time.monotonic() > deadline:
            raise BenchError(f"{what} not ready after {START_DEADLINE:.0f}s:\n{tail(log)}")
        time.sleep(0.05)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
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


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def platform_run(base: str, token: str, name: str) -> tuple[float, dict]:
    """Seconds from sending the request until a poll sees its run succeeded, and the run."""
    body = {"template": TEMPLATE, "team": TEAM, "name": name, "inputs": INPUTS}
    started = time.perf_counter()
    run_id = http("POST", f"{base}/api/services/", token, body)["last_run"]
    deadline = time.monotonic() + RUN_DEADLINE
    while True:
        run = http("GET", f"{base}/api/runs/{run_id}/", token)
        if run["status"] == "succeeded":
            return time.perf_counter() - started, run
        if run["status"] == "failed":
            raise BenchError(f"platform run {run_id} ({name}) failed: {run['error']}")
        if time.monotonic() > deadline:
            raise BenchError(f"platform run {run_id} ({name}) still {run['status']} after deadline")
        time.sleep(POLL_SECONDS)


def bare_run(version, data_dir: Path, name: str) -> float:
    """Seconds of one `ansible_runner.run()`, on a data dir laid out as the wrapper does."""
    import ansible_runner

    from catalog.schema import validate_inputs
    from provisioning import runner

    resources = data_dir / "bare-resources" / name
    ids = {"service_id": 1, "service_name": name, "team": TEAM, "run_id": 1}
    extravars = {
        **validate_inputs(version.inputs_schema, INPUTS),
        "gangplank": {**ids, "action": "provision", "resources_dir": str(resources)},
    }
    private = runner._write_data_dir(data_dir / "bare-runs", version.files, extravars)
    envvars = {  # the wrapper's, so Ansible itself behaves the same
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "ANSIBLE_FORCE_COLOR": "1",
        "ANSIBLE_LOCAL_TEMP": str(private / "tmp"),
        "ANSIBLE_REMOTE_TEMP": str(private / "tmp"),
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_NOCOWS": "1",
    }
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


def breakdown(run: dict, total: float) -> str:
    created, begun, finished = (
        datetime.fromisoformat(run[key]) for key in ("created_at", "started_at", "finished_at")
    )
    queued = (begun - created).total_seconds()
    worker = (finished - begun).total_seconds()
    rest = total - queued - worker
    return f"queued {queued * 1e3:.0f}, in worker {worker * 1e3:.0f}, http+poll {rest * 1e3:.0f}"


def measure(args, base: str, token: str, version, data_dir: Path) -> tuple[list, list]:
    platform: list[float] = []
    bare: list[float] = []
    for n in range(args.warmup + args.runs):
        counted = n >= args.warmup
        label = f"#{n - args.warmup + 1}" if counted else "warm-up"
        seconds, run = platform_run(base, token, f"bench-{n}")
        print(f"platform {label}: {seconds * 1e3:7.1f} ms ({breakdown(run, seconds)} ms)")
        bare_seconds = bare_run(version, data_dir, f"bare-{n}")
        print(f"bare     {label}: {bare_seconds * 1e3:7.1f} ms", flush=True)
        if counted:
            platform.append(seconds)
            bare.append(bare_seconds)
    return platform, bare


def report(platform: list[float], bare: list[float]) -> None:
    platform_median, bare_median = statistics.median(platform), statistics.median(bare)
    print(f"platform median: {platform_median * 1e3:.1f} ms over {len(platform)} runs")
    print(f"bare median: {bare_median * 1e3:.1f} ms over {len(bare)} runs")
    print(f"overhead: {(platform_median - bare_median) * 1e3:.1f} ms")
    print(f"ratio: {platform_median / bare_median:.2f}")


def bench(args, server_url: str, data_dir: Path, tag: str) -> None:
    queue = f"gangplank-bench-{tag}"
    env = {
        "DATABASE_URL": database_url(server_url, f"gangplank_bench_{tag}"),
        "GANGPLANK_DATA_DIR": str(data_dir),
        "GANGPLANK_QUEUE": queue,
        "GANGPLANK_HTTPS": "false",
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    setup_django(env)
    token, version = seed()
    child_env = {**os.environ, **env}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    web_log, worker_log = data_dir / "gunicorn.log", data_dir / "worker.log"
    worker_cmd = [
        str(BIN / "python"), "-m", "celery", "-A", "gangplank", "worker", "-Q", queue,
        "--concurrency", "2", "--loglevel", "INFO", "--without-gossip", "--without-mingle",
        "--hostname", f"{queue}@%h",
    ]  # fmt: skip
    web_cmd = [str(BIN / "gunicorn"), "gangplank.wsgi", "--bind", f"127.0.0.1:{port}"]
    processes = [start(worker_cmd, worker_log, child_env), start(web_cmd, web_log, child_env)]
    try:
        worker_ready = lambda: b" ready." in worker_log.read_bytes()  # noqa: E731
        wait_until(worker_ready, processes[0], worker_log, "the celery worker")
        wait_until(lambda: answers(f"{base}/healthz"), processes[1], web_log, "gunicorn")
        report(*measure(args, base, token, version, data_dir))
    finally:
        for process in processes:
            stop(process)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="counted runs of each (default 10)")
    parser.add_argument("--warmup", type=int, default=1, help="uncounted runs of each first")
    args = parser.parse_args()
    server_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/gangplank")
    tag = secrets.token_hex(4)
    base_dir = Path(os.environ.get("GANGPLANK_DATA_DIR") or ROOT / "var" / "bench")
    data_dir = (base_dir / f"run-{tag}").resolve()
    data_dir.mkdir(parents=True)
    db_name = f"gangplank_bench_{tag}"
    try:
        admin_sql(server_url, "CREATE DATABASE {}", db_name)
        bench(args, server_url, data_dir, tag)
        return 0
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1
    finally:
        if "django" in sys.modules:
            from django.db import connections

            connections.close_all()
        admin_sql(server_url, "DROP DATABASE IF EXISTS {} WITH (FORCE)", db_name)
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
