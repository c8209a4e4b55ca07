"""The suite's plain helpers (no fixtures): polling, processes of the tests' own, the browser's
settings, template folders. Tests import them from here or, as before, from conftest."""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import yaml
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def wait_for(predicate, *, timeout: float = 90, interval: float = 0.1, what: str = "condition"):
    """Poll `predicate` until it returns something truthy, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


# The fixtures that start the real worker or chromium: a test that uses one, directly or
# through another fixture, gets its marker, so that `-m "not worker and not browser"` (make
# test-fast) starts neither. Tests that start worker processes of their own carry the mark.


def _test_database_url() -> str:
    db = connection.settings_dict
    auth = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        auth += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or "127.0.0.1"
    return f"postgres://{auth}@{host}:{db['PORT'] or 5432}/{db['NAME']}"


def use_queue(queue: str) -> str:
    """Send this process's tasks to `queue` from now on; return the queue they went to.

    Set under Django's name for it: Celery 5.6 reads CELERY_TASK_DEFAULT_QUEUE from the
    settings before a `task_default_queue` set on `app.conf`."""
    from gangplank.celery import app

    before = app.conf.task_default_queue
    app.conf.update(CELERY_TASK_DEFAULT_QUEUE=queue)
    assert app.amqp.router.route({}, "provisioning.execute_run")["queue"].name == queue
    return before


@contextlib.contextmanager
def running(command: list[str], *, log: Path, env: dict, ready: bytes | None = None):
    """A process of the test's own, in its own process group, stopped (or killed) at the end.

    With `ready`, waits until that text appears in its log.
    """
    with open(log, "ab") as output:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        if ready:
            wait_for(
                lambda: ready in log.read_bytes() or process.poll() is not None,
                timeout=60,
                what=f"{command[3:5]} to start",
            )
            assert process.poll() is None, f"{command} died:\n{log.read_text()[-3000:]}"
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


REDIS = shutil.which("redis-server") or "/usr/bin/redis-server"


def redis_command(port: int, *, directory: Path | None = None) -> list[str]:
    """A Redis of the test's own; with `directory`, one that keeps its data there across a
    restart (append-only file, every write synced), as a production broker does."""
    keep = ["--dir", str(directory), "--appendonly", "yes", "--appendfsync", "always"]
    return [
        REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
        *(keep if directory else ["--appendonly", "no"]),
    ]  # fmt: skip


def http_json(method, url, token, body=None):
    """A request to a platform process of the test's own: (status, parsed JSON)."""
    import json
    import urllib.request

    request = urllib.request.Request(
        url,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, json.loads(response.read())


def celery_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "gangplank", *args]


def worker_command(queue: str) -> list[str]:
    return celery_command(
        "worker", "-Q", queue, "--concurrency", "2", "--loglevel", "INFO",
        "--without-gossip", "--without-mingle", "--hostname", f"{queue}@%h",
    )  # fmt: skip


LOCAL_NETWORKS = "127.0.0.1/32,::1/128"


def process_env(**extra) -> dict:
    """The environment of a platform process on the test database."""
    return {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "GANGPLANK_NOTIFY_ALLOWED_NETWORKS": LOCAL_NETWORKS,
        "GANGPLANK_LISTS_ALLOWED_NETWORKS": LOCAL_NETWORKS,
        **extra,
    }


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# Chromium reports what the Content-Security-Policy refuses on the console ("Refused to
# execute inline script ..."); this listener also reports it, with the directive, as an event.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => console.error(
  `csp-violation: ${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`
));
"""


def is_csp_violation(text: str) -> bool:
    return "Content Security Policy" in text or text.startswith("csp-violation:")


class Ledger:
    """The files of a service of the test catalogue's `ledger` template: the lines its runs
    wrote (one as each playbook starts and one as it ends) and the go file each run waits
    for ("fail" in it fails the run)."""

    def __init__(self, base: Path):
        self.base = base
        for suffix in (".ledger", ".go"):
            base.with_suffix(suffix).unlink(missing_ok=True)  # from an earlier session

    def lines(self) -> list[str]:
        path = self.base.with_suffix(".ledger")
        return path.read_text().splitlines() if path.exists() else []

    def go(self, content: str = "ok") -> None:
        self.base.parent.mkdir(parents=True, exist_ok=True)
        self.base.with_suffix(".go").write_text(content)

    def hold(self) -> None:
        self.base.with_suffix(".go").unlink(missing_ok=True)

    def wait_for_line(self, line: str, *, timeout: float = 60) -> None:
        wait_for(lambda: line in self.lines(), timeout=timeout, what=f"{line!r} in the ledger")


TEMPLATE_PLAYBOOK = "- hosts: localhost\n  gather_facts: false\n  tasks: []\n"


def write_template(
    root: Path,
    slug: str,
    manifest: dict | None = None,
    *,
    raw: str | None = None,
    properties: dict | None = None,
) -> Path:
    """A template folder `root/slug` whose playbooks do nothing; its template.yml is `raw`, or
    `manifest`, or a valid one (with `properties` as its inputs' when given)."""
    folder = root / slug
    folder.mkdir(parents=True, exist_ok=True)
    size = {"size": {"type": "integer", "default": 1}}
    manifest = manifest or {
        "name": slug.title(),
        "description": "A test template.",
        "version": "1.0.0",
        "category": "testing",
        "inputs": {"type": "object", "properties": size if properties is None else properties},
        "outputs": {"path": {"title": "Path"}},
        "playbooks": {"provision": "p.yml", "update": "p.yml", "deprovision": "p.yml"},
    }
    (folder / "template.yml").write_text(raw if raw is not None else yaml.safe_dump(manifest))
    (folder / "p.yml").write_text(TEMPLATE_PLAYBOOK)
    return folder
