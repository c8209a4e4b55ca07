"""How gangplank-lint runs ansible-playbook and ansible-lint (catalog.lint): on files it must
not trust, so in a bubblewrap sandbox (provisioning.sandbox `tool_command`) unless told not
to, with an environment of their own and an empty ansible.cfg, each process killed when it
takes too long. Pure: no Django.
"""

import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from catalog import lint_fixtures
from provisioning import sandbox

TOOL_TIMEOUT = 300  # seconds, for one syntax check or one ansible-lint run
# Inside a tool's sandbox: the empty ansible.cfg that ANSIBLE_CONFIG names (a template's own
# ansible.cfg is never read).
EMPTY_CONFIG = "/run/gangplank-lint/ansible.cfg"
_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception)\b")  # a traceback's last part


def tool_environment(home: str) -> dict[str, str]:
    """A clean environment for ansible-playbook and ansible-lint: this Python's tools first on
    the PATH, a temporary HOME, nothing else of the caller's."""
    bin_dir = str(Path(sys.executable).parent)
    return {
        "PATH": f"{bin_dir}{os.pathsep}{sandbox.PATH}",
        "HOME": home,
        "LANG": os.environ.get("LANG") or "C.UTF-8",
        "ANSIBLE_HOME": f"{home}/.ansible",
        "ANSIBLE_LOCAL_TEMP": f"{home}/.ansible/tmp",
        "ANSIBLE_NOCOWS": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_FORCE_COLOR": "0",
        "NO_COLOR": "1",
        "XDG_CACHE_HOME": f"{home}/.cache",
        "XDG_CONFIG_HOME": f"{home}/.config",
    }


class SandboxUnavailable(Exception):
    """Bubblewrap cannot run here (the message says why) and --no-sandbox was not given."""


def run(
    argv: list[str], *, cwd: Path, sandboxed: bool, contents: Sequence[Path] = ()
) -> subprocess.CompletedProcess[str]:
    """Run a tool on the folder `cwd` in a clean environment, in its own sandbox unless
    `sandboxed` is False, finding the collections and roles installed in `contents` before
    Ansible's own places. Raises SandboxUnavailable, or subprocess.TimeoutExpired after
    TOOL_TIMEOUT seconds (every process it started then killed)."""
    if sandboxed and (problem := lint_fixtures.sandbox_problem()):
        raise SandboxUnavailable(problem)
    with tempfile.TemporaryDirectory(prefix="gangplank-lint-tool-") as temp:
        empty = Path(temp, "ansible.cfg")
        empty.write_text("")
        home = sandbox.TOOL_HOME if sandboxed else f"{temp}/home"
        env = tool_environment(home)
        env["ANSIBLE_CONFIG"] = EMPTY_CONFIG if sandboxed else str(empty)
        if contents:
            env.update(sandbox.content_paths(contents=contents, home=home))
        command = argv
        if sandboxed:
            readable = [cwd, *contents]
            files = {EMPTY_CONFIG: empty}
            command = sandbox.tool_command(argv=argv, cwd=cwd, readable=readable, files=files)
        return _run(command, cwd=cwd, env=env)


def _run(command: list[str], *, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """subprocess.run in a session of its own, whose every process is killed on timeout."""
    with subprocess.Popen(
        command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, errors="replace", start_new_session=True,
    ) as process:  # fmt: skip
        try:
            stdout, stderr = process.communicate(timeout=TOOL_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            # A process that left the session may hold the pipes open: do not wait for it.
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.communicate(timeout=10)
            raise
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def tool_path(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def unsandboxed(problem: str) -> str:
    return f"cannot run in the workers' sandbox (--no-sandbox runs without): {problem}"


def error_lines(output: str) -> str:
    """What the tool said went wrong, on one line, without its warnings (of a traceback,
    its last line: the exception)."""
    lines = [
        line.strip()
        for line in output.splitlines()
        if line.strip() and not line.startswith(("[WARNING]", "WARNING"))
    ]
    if any(line.startswith("Traceback (most recent call last)") for line in lines):
        raised = [i for i, line in enumerate(lines) if _EXCEPTION.match(line)]
        lines = lines[raised[-1] :] if raised else lines[-1:]
    return " ".join(lines)[:2000] or "failed"
