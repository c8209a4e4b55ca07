"""Installing a template's collections and roles with `ansible-galaxy`. Free of Django.

`install` runs the real `ansible-galaxy collection install` and `ansible-galaxy role
install` from the template's folder on disk, into a temporary folder next to the
destination that is renamed into place once both have worked: the destination is either
whole or absent, never half installed. ansible-galaxy gets a clean environment, never the
platform's: the worker's Python on PATH, a HOME, config and caches of its own (an
`ansible.cfg` in the template's folder is not read), and the deployment's Galaxy server.
The requirements were checked by catalog.requirements before.
"""

import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path, PurePosixPath

import yaml

from catalog.requirements import FILE, LOCAL_TYPES, local_path, role_entries

TIMEOUT = 600.0
MAX_ERROR = 1500
COLLECTIONS, ROLES = "collections", "roles"
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class InstallError(Exception):
    """ansible-galaxy could not install a requirement; the message is its own, trimmed."""


def content_path(*, root: Path, slug: str, version: str, digest: str) -> Path:
    """Where the collections and roles of a template's version live: its own folder."""
    return Path(root) / slug / f"{version}-{digest[:12]}"


def install(
    *, folder: Path, dest: Path, server: str = "", timeout: float = TIMEOUT
) -> None:  # fmt: skip
    """Install `folder`'s requirements.yml into `dest` (`collections/` and `roles/`).

    Raises InstallError with ansible-galaxy's own message when a requirement cannot be met
    (or it runs out of `timeout` seconds); `dest` is then left as it was. A `dest` that
    another install made meanwhile is kept.
    """
    data = yaml.safe_load((Path(folder) / FILE).read_text(encoding="utf-8")) or {}
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    scratch = Path(tempfile.mkdtemp(prefix="gangplank-galaxy-"))
    try:
        env = _environment(scratch, server=server)
        (staging / COLLECTIONS).mkdir()
        (staging / ROLES).mkdir()
        named, local = _split(data.get(COLLECTIONS) or [])
        # A local collection's dependencies may be any URL, repository or path of the
        # worker's: never followed (`--no-deps`). Galaxy names depend on Galaxy names. The
        # named ones first, into an empty folder: no local one takes part in their resolution.
        for entries, options in ((named, []), (local, ["--no-deps"])):
            if entries:
                wanted = scratch / "collections.yml"
                wanted.write_text(yaml.safe_dump({COLLECTIONS: entries}))
                args = ["collection", "install", *options, "-r", str(wanted)]
                into = ["-p", str(staging / COLLECTIONS)]
                _galaxy([*args, *into], cwd=folder, env=env, timeout=timeout)
        if data.get(ROLES):
            wanted = scratch / "roles.yml"
            wanted.write_text(yaml.safe_dump(_roles(data, folder=Path(folder), scratch=scratch)))
            _galaxy(["role", "install", "--no-deps", "-r", str(wanted), "-p", str(staging / ROLES)],
                    cwd=folder, env=env, timeout=timeout)  # fmt: skip
        staging.chmod(0o755)
        try:
            staging.rename(dest)
        except OSError:
            if not dest.is_dir():
                raise
            # Another sync installed the same version meanwhile: its copy is as good.
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(scratch, ignore_errors=True)


def _split(entries: list) -> tuple[list, list]:
    """The collections named on the Galaxy server, and those of the template's folder."""
    named: list = []
    local: list = []
    for entry in entries:
        is_local = isinstance(entry, dict) and entry.get("type") in LOCAL_TYPES
        (local if is_local else named).append(entry)
    return named, local


def _environment(scratch: Path, *, server: str) -> dict[str, str]:
    config = scratch / "ansible.cfg"
    config.write_text("")
    env = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{SYSTEM_PATH}",
        "HOME": str(scratch / "home"),
        "ANSIBLE_HOME": str(scratch / "home" / ".ansible"),
        "ANSIBLE_CONFIG": str(config),
        "ANSIBLE_LOCAL_TEMP": str(scratch / "tmp"),
        "ANSIBLE_GALAXY_CACHE_DIR": str(scratch / "cache"),
        "ANSIBLE_GALAXY_TOKEN_PATH": str(scratch / "galaxy_token"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "LANG": os.environ.get("LANG") or "C.UTF-8",
        "TMPDIR": str(scratch),
    }
    if server:
        env["ANSIBLE_GALAXY_SERVER"] = server
    return env


def _roles(data: dict, *, folder: Path, scratch: Path) -> list[dict]:
    """The roles as ansible-galaxy reads them, a folder of the template packed as a tarball
    (ansible-galaxy installs a role from a tarball, not from a folder)."""
    roles = []
    for index, entry in enumerate(role_entries(data)):
        path = local_path(str(entry["src"]))
        source = folder.joinpath(*PurePosixPath(path).parts) if path else None
        if source is not None and source.is_dir():
            tarball = scratch / f"role-{index}.tar.gz"
            with tarfile.open(tarball, "w:gz") as archive:
                archive.add(source, arcname=str(entry.get("name") or source.name))
            entry = {**entry, "src": str(tarball)}
        roles.append(entry)
    return roles


def _galaxy(args: list[str], *, cwd: Path, env: dict[str, str], timeout: float) -> None:
    command = [str(Path(sys.executable).parent / "ansible-galaxy"), *args]
    try:
        done = subprocess.run(
            command, cwd=cwd, env=env, capture_output=True, text=True, errors="replace",
            timeout=timeout, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    except subprocess.TimeoutExpired as exc:
        raise InstallError(
            f"ansible-galaxy {args[0]} install timed out after {timeout:g}s"
        ) from exc
    if done.returncode != 0:
        raise InstallError(
            f"ansible-galaxy {args[0]} install failed: {_said(done.stdout + done.stderr)}"
        )


def _said(output: str) -> str:
    """ansible-galaxy's error from what it printed: its [ERROR] and failure lines (else its
    last lines), without colours, trimmed."""
    lines = [line.strip() for line in ANSI.sub("", output).splitlines() if line.strip()]
    errors = [
        line for line in lines
        if line.startswith(("[ERROR]", "ERROR!")) or "NOT installed successfully" in line
    ]  # fmt: skip
    text = " ".join(errors or lines[-3:]) or "no message"
    return text if len(text) <= MAX_ERROR else text[: MAX_ERROR - 1] + "…"
