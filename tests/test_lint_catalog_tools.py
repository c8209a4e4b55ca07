"""gangplank-lint's own tools (ansible-playbook --syntax-check, ansible-lint, ansible-galaxy)
on files it must not trust: sandboxed, bounded in time, warnings apart from failures, and
requirements fetched only from the deployment's Galaxy server. Real tools, real bubblewrap."""

import contextlib
import http.server
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from test_lint_catalog import DEPROVISION, errors, lint_lines, write_note

from catalog import lint_fixtures, lint_tools
from provisioning import sandbox
from testkit import free_port

# Ansible renders an import's name when it parses the playbook: a syntax check runs this.
PROBING = """\
- name: Write the note
  hosts: localhost
  gather_facts: false
  vars:
    probe: >-
      {probe}
  tasks:
    - name: Report the path
      ansible.builtin.import_tasks: "{{{{ lookup('ansible.builtin.pipe', probe) }}}}"
"""


def probing(command: str) -> str:
    """A provision playbook whose parsing runs `command`, which must print the tasks file."""
    return PROBING.format(probe=command)


def processes_named(needle: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if needle in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode():
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def wait_until_gone(needle: str, *, seconds: float = 15) -> list[int]:
    deadline = time.monotonic() + seconds
    while (left := processes_named(needle)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


@pytest.fixture
def leak(tmp_path):
    """Where a probing playbook tries to write: outside the catalogue."""
    outside = tmp_path / "outside"
    outside.mkdir()
    return outside


def test_it_parses_playbooks_in_a_sandbox_that_sees_no_host_file_nor_the_callers_secrets(
    tmp_path, capsys, leak
):
    # The environment this process started with (a CI's secrets): never readable by a tool.
    environ = Path(f"/proc/{os.getpid()}/environ").read_bytes().split(b"\0")
    secret = next(v for v in environ if v.startswith(b"PATH=")).decode()
    command = (
        f"cat /proc/{os.getpid()}/environ > {leak}/environ; touch {leak}/marker; "
        "echo tasks/report.yml"
    )
    catalog = tmp_path / "catalog"
    # A template's ansible.cfg is not read: this one would stop every Ansible tool.
    write_note(catalog, **{"provision.yml": probing(command), "ansible.cfg": "[defaults\n"})

    code, lines = lint_lines(capsys, catalog, "--no-fixtures", "--profile", "min")

    assert errors(lines) == [] and code == 0
    assert "OK      note: note/: syntax-check: 3 playbook(s)" in lines
    assert "OK      -: .: ansible-lint (min): no finding" in lines
    assert list(leak.iterdir()) == []
    assert secret not in "\n".join(lines)
    assert list((catalog / "note").glob(".ansible*")) == []  # read-only: nothing written


def test_without_the_sandbox_the_same_playbook_reaches_the_host(tmp_path, capsys, leak):
    command = f"cat /proc/{os.getpid()}/environ > {leak}/environ; echo tasks/report.yml"
    write_note(tmp_path / "catalog", **{"provision.yml": probing(command)})

    lint_lines(capsys, tmp_path / "catalog", "--no-fixtures", "--no-sandbox", "--profile", "min")

    assert "PATH=" in (leak / "environ").read_text(errors="replace")


def test_it_runs_no_tool_unsandboxed_when_bubblewrap_cannot_run(
    tmp_path, capsys, leak, monkeypatch
):
    monkeypatch.setattr(sandbox, "BWRAP", "gangplank-no-such-bwrap")
    lint_fixtures.sandbox_problem.cache_clear()
    try:
        command = f"touch {leak}/marker; echo tasks/report.yml"
        write_note(tmp_path / "catalog", **{"provision.yml": probing(command)})

        code, lines = lint_lines(capsys, tmp_path / "catalog", "--no-fixtures")
    finally:
        lint_fixtures.sandbox_problem.cache_clear()

    assert code == 1
    said = "cannot run in the workers' sandbox (--no-sandbox runs without): bubblewrap is not"
    assert [line.split(": ", 3)[:3] for line in errors(lines)] == [
        ["ERROR   -", ".", "ansible-lint (moderate)"],
        ["ERROR   note", "note/", "syntax-check"],
    ]
    assert all(said in line for line in errors(lines))
    assert list(leak.iterdir()) == []


def test_it_refuses_a_repository_ansible_lint_config_that_loads_rule_code(tmp_path, capsys, leak):
    catalog = write_note(tmp_path / "catalog").parent
    (catalog / ".ansible-lint").write_text("rulesdir: [.rules]\nskip_list: [yaml]\n")
    (catalog / ".rules").mkdir()
    (catalog / ".rules" / "evil.py").write_text(f"open('{leak}/marker', 'w').close()\n")

    code, lines = lint_lines(capsys, catalog, "--no-fixtures")

    assert code == 1
    assert errors(lines) == [
        "ERROR   -: .ansible-lint: ansible-lint (moderate): rulesdir is not allowed: "
        "gangplank-lint runs no rule of the repository's"
    ]
    assert list(leak.iterdir()) == []


def test_it_reports_ansible_lint_warnings_without_failing(tmp_path, capsys):
    unnamed = DEPROVISION.replace("    - name: Remove the note\n", "    -\n")
    write_note(tmp_path, **{"deprovision.yml": unnamed})
    # The repository's settings (data, no rule code) apply.
    (tmp_path / ".config").mkdir()
    (tmp_path / ".config" / "ansible-lint.yml").write_text("warn_list: ['name[missing]']\n")

    code, lines = lint_lines(capsys, tmp_path, "--no-fixtures")

    assert code == 0, lines
    assert (
        "WARNING note: note/deprovision.yml:6: ansible-lint (moderate): "
        "name[missing]: All tasks should be named."
    ) in lines
    assert "OK      -: .: ansible-lint (moderate): no failure" in lines
    assert lines[-1] == "gangplank-lint passed: 1 template(s)"


@pytest.mark.parametrize("options", [[], ["--no-sandbox"]], ids=["sandboxed", "unsandboxed"])
def test_a_syntax_check_that_takes_too_long_fails_and_leaves_no_process(
    tmp_path, capsys, monkeypatch, options
):
    monkeypatch.setattr(lint_tools, "TOOL_TIMEOUT", 3)
    sleep = f"sleep {free_port()}.5"  # a name no other process has
    write_note(tmp_path, **{"provision.yml": probing(f"{sleep}; echo tasks/report.yml")})

    code, lines = lint_lines(capsys, tmp_path, "--no-fixtures", "--no-ansible-lint", *options)

    left = wait_until_gone(sleep)
    for pid in left:  # not to leave them when the test fails
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    assert code == 1
    assert errors(lines) == ["ERROR   note: note/: syntax-check: took over 3s"]
    assert left == []


PROBE = """\
import os, socket, sys
seen = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
try:
    open(os.path.join(sys.argv[1], "written"), "w").close()
    wrote = "yes"
except OSError:
    wrote = "no"
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=5).close()
    reached = "yes"
except OSError:
    reached = "no"
print(seen, wrote, reached, os.environ.get("HOME"), os.path.exists(sys.argv[3]))
"""


def test_a_tools_sandbox_shows_no_host_process_nor_network_and_its_folder_read_only(
    tmp_path, galaxy
):
    url, _ = galaxy
    port = url.rsplit(":", 1)[1].strip("/")
    folder, elsewhere = tmp_path / "folder", tmp_path / "elsewhere"
    folder.mkdir()
    elsewhere.mkdir()
    argv = [sys.executable, "-I", "-c", PROBE, str(folder), port, str(elsewhere)]
    env = {"PATH": "/usr/bin:/bin", "HOME": sandbox.TOOL_HOME}

    done = subprocess.run(
        sandbox.tool_command(argv=argv, cwd=folder, readable=[folder]),
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    unsandboxed = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)

    assert done.stdout.split() == ["[1,", "2]", "no", "no", "/tmp/home", "False"], done.stderr
    assert unsandboxed.stdout.split()[-4:] == ["yes", "yes", "/tmp/home", "True"]


class _Galaxy(http.server.BaseHTTPRequestHandler):
    paths: list[str] = []

    def do_GET(self):
        self.paths.append(self.path)
        self.send_error(404)

    def log_message(self, *args):
        pass


@pytest.fixture
def galaxy():
    """A web server that notes what is asked of it (and has nothing)."""
    _Galaxy.paths = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Galaxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", _Galaxy.paths
    server.shutdown()
    server.server_close()


def test_it_fetches_a_collection_only_from_the_deployments_galaxy_server(tmp_path, capsys, galaxy):
    url, asked = galaxy
    requirements = f"collections:\n  - {{name: mycorp.tools, source: '{url}'}}\n"
    write_note(tmp_path, **{"requirements.yml": requirements})
    other = f"http://127.0.0.1:{free_port()}/"
    options = ["--no-ansible-lint", "--no-fixtures"]

    code, lines = lint_lines(capsys, tmp_path, *options, "--galaxy-server", other)

    assert code == 1
    assert errors(lines) == [
        f"ERROR   note: note/requirements.yml: requirements: collections[0].source: '{url}' "
        f"is not this deployment's Galaxy server ({other}); leave `source` out to use it"
    ]
    assert asked == []

    # The same source, when it is the deployment's server: fetched (and not found there).
    code, lines = lint_lines(capsys, tmp_path, *options, "--galaxy-server", url)

    assert code == 1
    assert "ansible-galaxy collection install failed" in errors(lines)[0]
    assert asked != []
