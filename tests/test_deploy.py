"""The set-up a new user and production rely on: settings, Procfile, compose file, and the
zero-setup default (`make run`: SQLite + kombu's filesystem broker) running web, worker and
beat, stopped by Ctrl-C."""

import json
import os
import pty
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core import checks

from conftest import ROOT, free_port, wait_for
from core.checks import check_visibility_timeout
from core.durations import MAX_RUN_TIME

MANAGE = [sys.executable, str(ROOT / "manage.py")]


def clean_env(**extra) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "GANGPLANK_HTTPS", "DEBUG"}
    }
    return {**env, **extra}


def test_production_settings_pass_the_deploy_check(tmp_path):
    env = clean_env(
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="gangplank.example.com",
        DATABASE_URL=os.environ["DATABASE_URL"],
        GANGPLANK_DATA_DIR=str(tmp_path),
    )
    result = subprocess.run(
        [*MANAGE, "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def settings_in(env: dict, code: str) -> subprocess.CompletedProcess:
    """`code` run after Django is set up with `env`'s settings."""
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        env={**env, "DJANGO_SETTINGS_MODULE": "gangplank.settings"},
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT / "platform",
    )


def test_the_settings_only_read_they_create_nothing(tmp_path):
    data = tmp_path / "data"
    env = clean_env(GANGPLANK_DATA_DIR=str(data))
    env.pop("SECRET_KEY", None)

    read = settings_in(env, "from django.conf import settings as s; print(s.DEBUG)")
    used = settings_in(env, "from django.conf import settings as s; print(len(s.SECRET_KEY))")

    assert read.returncode == 0 and read.stdout.split() == ["False"], read.stderr
    assert not data.exists()
    assert used.returncode != 0
    assert (
        f"ImproperlyConfigured: SECRET_KEY is not set and {data / 'secret_key'} does not exist: "
        "set SECRET_KEY, or run `python manage.py prepare_data_dir` first"
    ) in used.stderr


def test_starting_django_leaves_the_iri_grammar_until_an_iri_is_checked(tmp_path):
    """Building it is two thirds of a start-up's CPU (see gangplank/__init__.py)."""
    env = clean_env(GANGPLANK_DATA_DIR=str(tmp_path), SECRET_KEY=secrets.token_urlsafe(50))
    built = "'rfc3987_syntax.syntax_helpers' in sys.modules"
    schema = {"type": "object", "properties": {"i": {"type": "string", "format": "iri"}}}
    check = f"catalog.schema.validate_inputs({schema!r}, {{'i': 'https://example.com/'}})"
    code = f"import sys, catalog.schema; print({built}); {check}; print({built})"

    result = settings_in(env, code)

    assert result.stdout.split() == ["False", "True"], result.stderr


def test_prepare_data_dir_makes_the_folders_and_a_secret_key_kept_across_restarts(tmp_path):
    data = tmp_path / "data"
    env = clean_env(GANGPLANK_DATA_DIR=str(data))
    env.pop("SECRET_KEY", None)
    env.pop("GANGPLANK_ENCRYPTION_KEYS", None)

    def prepare() -> None:
        subprocess.run([*MANAGE, "prepare_data_dir"], env=env, check=True, capture_output=True)

    prepare()
    key = (data / "secret_key").read_text().strip()
    encryption_keys = (data / "encryption-keys").read_text()
    prepare()

    assert len(key) >= 50
    for name in ("secret_key", "encryption-keys"):
        assert (data / name).stat().st_mode & 0o777 == 0o600
    assert (data / "secret_key").read_text().strip() == key  # kept across restarts
    assert (data / "encryption-keys").read_text() == encryption_keys
    for folder in ("resources", "runs", "broker/queue", "broker/processed", "broker/control"):
        assert (data / folder).is_dir(), folder
    used = settings_in(env, "from django.conf import settings as s; print(s.SECRET_KEY)")
    assert used.stdout.strip() == key, used.stderr


def test_prepare_data_dir_generates_no_key_the_environment_sets(tmp_path):
    env = clean_env(
        GANGPLANK_DATA_DIR=str(tmp_path),
        SECRET_KEY=secrets.token_urlsafe(50),
        GANGPLANK_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
    )

    subprocess.run([*MANAGE, "prepare_data_dir"], env=env, check=True, capture_output=True)

    assert sorted(path.name for path in tmp_path.iterdir()) == ["resources", "runs"]


def test_the_image_prepares_the_data_dir_before_its_command(tmp_path):
    dockerfile = (ROOT / "Dockerfile").read_text().splitlines()
    env = clean_env(GANGPLANK_DATA_DIR=str(tmp_path / "data"))
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"

    result = subprocess.run(
        [str(ROOT / "deploy" / "entrypoint.sh"), "sh", "-c", 'ls "$GANGPLANK_DATA_DIR"'],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )

    assert 'ENTRYPOINT ["/app/deploy/entrypoint.sh"]' in dockerfile
    assert "COPY deploy/entrypoint.sh ./deploy/" in dockerfile
    assert result.returncode == 0, result.stderr
    assert {"resources", "runs", "secret_key"} <= set(result.stdout.split())


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())


def test_the_procfile_runs_web_worker_and_beat():
    entries = procfile()
    assert set(entries) == {"web", "worker", "beat"}
    # `exec`: a stop signal reaches the program itself, not the shell running the line.
    assert entries["web"].startswith("exec gunicorn gangplank.wsgi") and "$PORT" in entries["web"]
    assert entries["worker"].startswith("exec celery -A gangplank worker")
    assert entries["beat"].startswith("exec celery -A gangplank beat")


def test_the_compose_file_is_valid():
    compose = shutil.which("docker-compose")
    if compose:
        command = [compose, "-f", "docker-compose.yml", "config", "-q"]
    elif (
        shutil.which("docker")
        and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0
    ):
        command = ["docker", "compose", "-f", "docker-compose.yml", "config", "-q"]
    else:
        pytest.skip("neither docker-compose nor the docker compose plugin is installed")
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    services = subprocess.run(
        [*command[:-1], "--services"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert set(services) == {"migrate", "web", "worker", "beat", "postgres", "redis"}


def http(method: str, url: str, token: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(
        url,
        method=method,
        data=json.dumps(body).encode() if body else None,
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


class Terminal:
    """A command run as in a terminal window: in a pseudo-terminal of its own, its output
    read as it comes, Ctrl-C typed into it (the terminal then signals its foreground
    process group)."""

    def __init__(self, argv: list[str], env: dict) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: make, the session leader of the new terminal
            try:
                # As a shell starts a command in a terminal: with the default signal
                # handling (this test's own process may have been started ignoring SIGINT).
                for number in (signal.SIGINT, signal.SIGQUIT, signal.SIGTSTP):
                    signal.signal(number, signal.SIG_DFL)
                os.execvpe(argv[0], argv, env)
            finally:
                os._exit(127)
        self.output = bytearray()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:  # EIO: every process on the terminal has ended
                return
            if not chunk:
                return
            self.output += chunk

    def text(self) -> str:
        text = re.sub(r"\x1b\[[0-9;]*m", "", self.output.decode(errors="replace"))
        return text.replace("\r\n", "\n")

    def press_ctrl_c(self) -> None:
        os.write(self.fd, b"\x03")

    def ended(self) -> list[int]:
        """[the command's exit code] once it has ended, else []."""
        pid, status = os.waitpid(self.pid, os.WNOHANG)
        return [os.waitstatus_to_exitcode(status)] if pid else []


@pytest.mark.worker  # make run starts a celery worker
def test_make_run_carries_out_a_request_and_ctrl_c_stops_it_cleanly(tmp_path, catalog_dir):
    """What a new user does: `make run` in a terminal (SQLite, the filesystem broker, web,
    worker and beat under honcho), a request carried out end to end, then Ctrl-C."""
    port = free_port()
    data = tmp_path / "var"
    env = clean_env(
        GANGPLANK_DATA_DIR=str(data),
        GANGPLANK_CATALOG_DIR=str(catalog_dir),
        PORT=str(port),
        WEB_CONCURRENCY="1",
        WORKER_CONCURRENCY="1",
        GANGPLANK_HOUSEKEEPING_SECONDS="1",
    )
    env.pop("SECRET_KEY", None)

    def manage(*args) -> str:
        return subprocess.run(
            [*MANAGE, *args], env=env, cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout

    terminal = Terminal(["make", "--no-print-directory", "-C", str(ROOT), "run"], env)
    base = f"http://127.0.0.1:{port}"
    banner = f"Gangplank is running on {base}/"
    try:
        wait_for(lambda: banner in terminal.text(), timeout=180, what="make run's banner")
        assert _answers(f"{base}/healthz")
        token = manage("create_api_token", "admin", "--name", "smoke").strip()
        created = http(
            "POST",
            f"{base}/api/services/",
            token,
            {
                "template": "echo",
                "team": "demo",
                "name": "hello",
                "inputs": {"message": "from the embedded broker"},
            },
        )

        def active():
            service = http("GET", f"{base}/api/services/{created['id']}/", token)
            return service if service["status"] != "provisioning" else None

        service = wait_for(active, timeout=120, what="the run on the filesystem broker")
        assert service["status"] == "active", terminal.text()[-3000:]
        assert service["outputs"] == {"echo": "from the embedded broker"}
        # Beat itself, not honcho's "beat.1 started": it starts, sends a scheduled task, and
        # the worker carries that task out.
        wait_for(lambda: beat_scheduled_and_worker_ran(terminal.text()),
                 timeout=60, what="beat to send a housekeeping task the worker runs")  # fmt: skip
    finally:
        pressed = time.monotonic()
        terminal.press_ctrl_c()
        [code] = wait_for(terminal.ended, timeout=60, what="make run to end")
        stopped_in = time.monotonic() - pressed
    output = terminal.text()
    lines = output.splitlines()

    # The URL and login come last, under every process's banner.
    password = (data / "admin-password").read_text().strip()
    announced = lines.index(next(line for line in lines if line.endswith(banner)))
    assert re.search(rf"Log in as admin, password {password} ", lines[announced + 1])
    for process, up in (("web", "Booting worker"), ("worker", r"ready\."), ("beat", "Starting")):
        first = next(i for i, line in enumerate(lines) if re.search(rf"{process}\.1 .*{up}", line))
        assert first < announced, process
    # Ctrl-C: a clean stop of all three, in time, and make's own success.
    assert code == 0, output[-3000:]
    assert stopped_in < 10, output[-3000:]
    pids = [int(pid) for pid in re.findall(r"(?:web|worker|beat)\.1 started \(pid=(\d+)\)", output)]
    assert len(pids) == 3
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    for process in ("web", "worker", "beat"):
        assert f"{process}.1 stopped (rc=0)" in output
    assert not re.search(r"signal \d|SIGKILL|Traceback|Error|ERROR|make: \*\*\*", output)
    assert not _answers(f"{base}/healthz")
    # A second start skips what the first did.
    again = manage("setup_local")
    assert "Database up to date." in again
    assert "Static files unchanged since they were collected." in again
    assert f"Catalogue {catalog_dir} unchanged since the last sync." in again


def beat_scheduled_and_worker_ran(output: str) -> bool:
    """Beat's own lines say it started and sent dispatch-queued-runs; the worker's, that it
    ran that task."""
    lines = output.splitlines()
    said = lambda process, text: any(  # noqa: E731
        re.search(rf"\b{process}\.1\s+\|.*{text}", line) for line in lines
    )
    task = r"provisioning\.dispatch_queued_runs"
    return (
        said("beat", r"beat: Starting\.\.\.")
        and said("beat", rf"Scheduler: Sending due task dispatch-queued-runs \({task}\)")
        and said("worker", rf"Task {task}\[[0-9a-f-]+\] succeeded")
    )


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def test_the_checks_refuse_a_visibility_timeout_not_above_the_longest_run(settings):
    longest = MAX_RUN_TIME.total_seconds()
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/0"
    for timeout in (longest, longest - 1):
        settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": timeout}

        errors = check_visibility_timeout()

        assert [error.id for error in errors] == ["gangplank.E002"], timeout
        assert "is not longer than the longest run" in errors[0].msg
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}  # kombu's default, one hour
    assert [error.id for error in check_visibility_timeout()] == ["gangplank.E002"]
    assert "gangplank.E002" in {message.id for message in checks.run_checks()}  # registered
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": longest + 1}
    assert check_visibility_timeout() == []


def test_the_checks_accept_the_settings_visibility_timeout_and_a_broker_without_one(settings):
    production = subprocess.run(
        [*MANAGE, "check", "--fail-level", "ERROR"],
        env=clean_env(
            GANGPLANK_DATA_DIR=os.environ["GANGPLANK_DATA_DIR"],
            CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
        ),
        capture_output=True,
        text=True,
        check=False,
    )
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": "/nowhere"}

    assert production.returncode == 0, production.stdout + production.stderr
    assert "gangplank.E002" not in production.stderr
    assert check_visibility_timeout() == []
