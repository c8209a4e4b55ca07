"""The sandbox every playbook runs in: a bubblewrap container of its own. Free of Django.

Inside, a run sees the system read-only (/usr, /etc and the worker's Python), a private
memory-backed /tmp, its own data dir and the resources dir, and nothing else of the host: no
home directories, no /var, no /run, not the platform's data dir. It has its own PID namespace:
when the run's first process ends, or the worker process that started it dies
(`--die-with-parent`), the kernel ends every process the run started, detached or not.
"""

import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

BWRAP = "bwrap"
PACKAGE = "bubblewrap"
PRIVATE_DIR = "/tmp/gangplank"  # inside the sandbox: on its own tmpfs
INIT_PATH = "/run/gangplank/init.py"  # where sandbox_init.py is seen inside
INIT_SOURCE = Path(__file__).with_name("sandbox_init.py")
LOCK_NAME = ".lock"
# Merged-/usr systems have these as symlinks into /usr; older ones as directories.
SYSTEM_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# Readable by root only, never by a run, even when the worker runs as root.
HIDDEN_SYSTEM_FILES = ("/etc/shadow", "/etc/gshadow", "/etc/sudoers")
HIDDEN_SYSTEM_DIRS = ("/etc/ssh", "/etc/sudoers.d")
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def content_paths(*, contents: Sequence[Path], home: str) -> dict[str, str]:
    """The run's ANSIBLE_COLLECTIONS_PATH and ANSIBLE_ROLES_PATH: the collections and roles
    installed for its template version (catalog.galaxy; the lint gives several), then
    Ansible's default places."""
    return {
        "ANSIBLE_COLLECTIONS_PATH": os.pathsep.join(
            [
                *(f"{content}/collections" for content in contents),
                f"{home}/.ansible/collections",
                "/usr/share/ansible/collections",
            ]
        ),
        "ANSIBLE_ROLES_PATH": os.pathsep.join(
            [
                *(f"{content}/roles" for content in contents),
                f"{home}/.ansible/roles",
                "/usr/share/ansible/roles",
                "/etc/ansible/roles",
            ]
        ),
    }


def python_dirs() -> list[str]:
    """The worker's Python (its virtualenv and the interpreter it was made from), outside /usr."""
    found = {sys.prefix, sys.base_prefix, str(Path(sys.executable).resolve().parent.parent)}
    real = {os.path.realpath(path) for path in found}
    return sorted(path for path in real if path != "/usr" and not path.startswith("/usr/"))


def _system_args() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for path in SYSTEM_LINKS:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    args += ["--ro-bind", "/etc", "/etc"]
    for path in HIDDEN_SYSTEM_FILES:
        if os.path.exists(path):
            args += ["--ro-bind", "/dev/null", path]
    for path in HIDDEN_SYSTEM_DIRS:
        if os.path.isdir(path):
            args += ["--tmpfs", path]
    # The tmpfs first: the worker's Python (or a data dir) may live under /tmp.
    args += ["--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--tmpfs", "/run"]
    for path in python_dirs():
        args += ["--ro-bind", path, path]
    return args


def _isolated() -> list[str]:
    """bwrap, and what no sandboxed process shares with the host."""
    return [
        BWRAP,
        "--die-with-parent",
        # A worker running as root would otherwise give its runs every capability.
        "--cap-drop", "ALL",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
    ]  # fmt: skip


def command(
    *, data_dir: Path, writable: Sequence[Path], argv: Sequence[str], readable: Sequence[Path] = ()
) -> list[str]:
    """The bwrap command line that runs `argv` (the init program's) in a sandbox for the run
    whose data dir is `data_dir`, with `writable` folders shared with the host and
    `readable` ones (installed collections and roles) shown read-only."""
    args = [
        *_isolated(),
        *_system_args(),
        "--dir", PRIVATE_DIR,
        "--ro-bind", str(INIT_SOURCE), INIT_PATH,
        "--bind", str(data_dir), str(data_dir),
    ]  # fmt: skip
    for path in writable:
        args += ["--bind", str(path), str(path)]
    for path in readable:  # after the writable ones: read-only even inside one of them
        args += ["--ro-bind", str(path), str(path)]
    return [*args, "--chdir", str(data_dir / "project"), "--", *argv]


TOOL_HOME = "/tmp/home"  # a tool's HOME inside its sandbox: on its own tmpfs


def tool_command(
    *,
    argv: Sequence[str],
    cwd: Path,
    readable: Sequence[Path],
    files: Mapping[str, Path] | None = None,
    network: bool = False,
) -> list[str]:
    """The bwrap command line that runs a tool (ansible-playbook, ansible-lint) on files it
    must not trust: the system and the worker's Python as a run sees them, its own /tmp with
    an empty TOOL_HOME, the `readable` folders read-only, `files` (inside path: host file)
    read-only, nothing else of the host; no network unless `network`, and its own PID
    namespace, so that /proc shows none of the caller's processes (nor their environment)."""
    args = [
        *_isolated(),
        *([] if network else ["--unshare-net"]),
        *_system_args(),
        "--dir", TOOL_HOME,
    ]  # fmt: skip
    for path in readable:
        args += ["--ro-bind", str(path), str(path)]
    for inside, host in (files or {}).items():
        args += ["--ro-bind", str(host), inside]
    return [*args, "--chdir", str(cwd), "--", *argv]


def problem() -> str | None:
    """Why runs cannot be sandboxed here, or None when bubblewrap works."""
    if shutil.which(BWRAP) is None:
        return (
            f"bubblewrap is not installed: install Debian's `{PACKAGE}` package "
            f"(apt-get install {PACKAGE}), or set GANGPLANK_SANDBOX=off to run playbooks "
            "without a sandbox (unsafe: a template then reaches everything the worker can)."
        )
    probe = [BWRAP, "--die-with-parent", "--unshare-pid", *_system_args()]
    try:
        result = subprocess.run(
            [*probe, "--", sys.executable, "-I", "-c", ""],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bubblewrap does not run here: {exc}"
    if result.returncode != 0:
        return (
            f"bubblewrap does not work here ({result.stderr.strip() or result.returncode}): it "
            "needs user namespaces, or root (in a container: seccomp and AppArmor unconfined)."
        )
    return None


@contextlib.contextmanager
def held(data_dir: Path) -> Iterator[None]:
    """Hold the data dir's lock while its run goes on: `clean_up` skips a locked dir."""
    fd = os.open(data_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _unlocked(data_dir: Path) -> bool:
    try:
        fd = os.open(data_dir / LOCK_NAME, os.O_RDWR)
    except FileNotFoundError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def processes_using(path: Path) -> list[int]:
    """The processes of this host whose command line names `path` or something inside it
    (a sandbox's bwrap and init name their data dir)."""
    needle = str(path)
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            parts = (entry / "cmdline").read_bytes().split(b"\0")
            if any(p.decode(errors="replace").startswith(needle) for p in parts):
                found.append(int(entry.name))
    return found


def clean_up(data_dirs: Sequence[Path], *, min_age: float) -> list[Path]:
    """End the sandboxes and remove the data dirs that no live run holds (their worker died),
    skipping dirs younger than `min_age` seconds that hold no lock yet (being made now)."""
    removed = []
    now = time.time()
    for data_dir in data_dirs:
        with contextlib.suppress(FileNotFoundError):
            young = now - data_dir.stat().st_mtime < min_age
            if not _unlocked(data_dir) or (young and not (data_dir / LOCK_NAME).exists()):
                continue
            for pid in processes_using(data_dir):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            shutil.rmtree(data_dir, ignore_errors=True)
            removed.append(data_dir)
    return removed
