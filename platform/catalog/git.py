"""Reading a git repository's branch or tag with real `git`, into a bare cache repository.

Pure: no Django. Every call runs `git` with a minimal environment of its own (never the
platform's), a temporary HOME, no system or global config, prompts off, only the transports
named in ALLOWED_PROTOCOLS (no `ext::`), and a timeout. Credentials are handed over in files
of that temporary HOME (an ssh key) or in GIT_CONFIG_* variables (an http header), never on a
command line or in a URL; every message this module raises has them masked.
"""

import base64
import ipaddress
import os
import re
import shlex
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from core.masking import masker

ALLOWED_PROTOCOLS = "https:http:ssh:git:file"
TIMEOUT = 300  # seconds, for a fetch; local commands get LOCAL_TIMEOUT
LOCAL_TIMEOUT = 60
SSH_CONNECT_TIMEOUT = 20
FETCHED_REF = "refs/gangplank/fetched"
# Malformed objects (a tree with duplicate entries, a path with `..`) are refused at fetch.
FSCK = ["-c", "fetch.fsckObjects=true", "-c", "transfer.fsckObjects=true"]
LOOPBACK_NAMES = ("localhost",)
# What git says, and what it means for whoever reads the source's error.
_EXPLANATIONS = (
    ("Host key verification failed", "the server's host key does not match the source's host keys"),
    ("Permission denied (publickey", "the server refused the ssh key"),
    ("Authentication failed", "the server refused the credential"),
    ("could not read Username", "the server asks for a credential"),
    ("could not read Password", "the server asks for a credential"),
    ("The requested URL returned error: 401", "the server refused the credential"),
    ("The requested URL returned error: 403", "the server refused the credential"),
    ("Could not resolve host", "the server's name does not resolve"),
    ("Connection refused", "the server refused the connection"),
    ("Connection timed out", "the connection timed out"),
    ("does not appear to be a git repository", "there is no git repository at this URL"),
    ("fsck error", "the repository holds a malformed object, refused"),
    ("not found", "there is no git repository at this URL"),
    ("transport '", "this kind of URL is not allowed (https, http, ssh, git or file)"),
)


class GitError(Exception):
    """A git operation that failed; the message is readable and holds no secret."""


@dataclass(frozen=True)
class Remote:
    """Where to read: the URL, the branch or tag, and how to authenticate (all optional)."""

    url: str
    ref: str
    ssh_key: str = ""  # an unencrypted OpenSSH private key
    host_keys: str = ""  # "<type> <base64>" lines pinning the ssh server's keys
    username: str = ""  # for http(s): with `password`, basic auth
    password: str = ""
    token: str = ""  # for http(s): basic auth as x-access-token
    secrets: list[str] = field(default_factory=list, repr=False)

    def masked(self, text: str) -> str:
        hidden = [self.ssh_key, self.password, self.token, *self.secrets, *self._headers()]
        shown = masker(hidden)(text)
        # user:password@ in a URL, whoever put it there.
        return re.sub(r"(://)[^/@\s]+@", r"\1********@", shown)

    def _headers(self) -> list[str]:
        if self.token:
            return [_basic("x-access-token", self.token)]
        if self.password:
            return [_basic(self.username, self.password)]
        return []


@dataclass(frozen=True)
class Commit:
    sha: str
    author: str  # "Name <email>"
    date: datetime
    ref: str  # the full ref it was read from: refs/heads/<branch> or refs/tags/<tag>


def fetch(*, cache: Path, remote: Remote, timeout: float = TIMEOUT) -> Commit:
    """Fetch the remote's branch (or, if there is no such branch, tag) into the bare
    repository `cache` (made if missing) and return the commit it points to."""
    if not remote.url.strip() or remote.url.startswith("-") or "\n" in remote.url:
        raise GitError("the URL is empty or not a URL")
    if not remote.ref or remote.ref.startswith("-") or not _ref_ok(remote.ref):
        raise GitError(f"{remote.ref!r} is not a branch or tag name")
    if remote._headers() and sends_in_clear(remote.url):
        raise GitError(CLEAR_TEXT)
    cache = Path(cache)
    if not (cache / "HEAD").exists():
        cache.mkdir(parents=True, exist_ok=True)
        _git(["init", "--bare", "--quiet", str(cache)], remote=remote, cwd=None)
    with _environment(remote) as env:
        listed = _git(
            ["ls-remote", "--", remote.url, f"refs/heads/{remote.ref}", f"refs/tags/{remote.ref}"],
            remote=remote,
            cwd=cache,
            env=env,
            timeout=timeout,
        )
        refs = {line.split("\t")[1] for line in listed.splitlines() if "\t" in line}
        ref = next(
            (r for r in (f"refs/heads/{remote.ref}", f"refs/tags/{remote.ref}") if r in refs), None
        )
        if ref is None:
            raise GitError(f"there is no branch or tag {remote.ref!r} in the repository")
        _git(
            [
                "fetch",
                "--quiet",
                "--no-tags",
                "--no-write-fetch-head",
                "--",
                remote.url,
                f"+{ref}:{FETCHED_REF}",
            ],
            remote=remote,
            cwd=cache,
            env=env,
            timeout=timeout,
            options=FSCK,
        )
    shown = _git(
        ["log", "-1", "--format=%H%n%an <%ae>%n%aI", f"{FETCHED_REF}^{{commit}}", "--"],
        remote=remote,
        cwd=cache,
    ).splitlines()
    return Commit(sha=shown[0], author=shown[1], date=datetime.fromisoformat(shown[2]), ref=ref)


def is_ancestor(*, cache: Path, old: str, new: str) -> bool:
    """Whether commit `old` is `new` or one of its ancestors (False when `old` is unknown:
    then it is not in `new`'s history, which was fetched whole)."""
    known = _run(["cat-file", "-e", f"{old}^{{commit}}"], cwd=cache)
    if known.returncode != 0:
        return False
    result = _run(["merge-base", "--is-ancestor", old, new], cwd=cache)
    if result.returncode not in (0, 1):
        raise GitError(
            f"cannot compare commits {old[:12]} and {new[:12]}: {_last_line(result.stderr)}"
        )
    return result.returncode == 0


def export(*, cache: Path, commit: str, path: str, into: Path) -> Path:
    """Write the tree of `path` (a folder of the repository, "" for its root) at `commit`
    under `into` (symlinks kept as symlinks) and return the folder that holds it."""
    pure = PurePosixPath(path.strip("/")) if path.strip("/") else PurePosixPath(".")
    if pure.is_absolute() or ".." in pure.parts:
        raise GitError(f"the path {path!r} leaves the repository")
    kind = _run(
        ["cat-file", "-t", f"{commit}:{pure.as_posix() if path.strip('/') else ''}"], cwd=cache
    )
    if kind.returncode != 0 or kind.stdout.strip() != "tree":
        raise GitError(f"there is no folder {path!r} at commit {commit[:12]}")
    archive = Path(into) / "tree.tar"
    with archive.open("wb") as out:
        argv = ["archive", "--format=tar", commit, "--", pure.as_posix()]
        result = _run(argv, cwd=cache, stdout=out)
    if result.returncode != 0:
        raise GitError(f"cannot read commit {commit[:12]}: {_last_line(result.stderr)}")
    target = Path(into) / "tree"
    target.mkdir()
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(target, filter="tar")  # keeps symlinks (the loader refuses them)
    except tarfile.TarError as exc:  # a crafted tree: a member through a symlink, say
        raise GitError(f"cannot write the tree of commit {commit[:12]}: {exc}") from None
    archive.unlink()
    return target / pure


CLEAR_TEXT = (
    "a token or password is sent only over https:// (http:// or git:// would send it in "
    "clear), except to this machine (localhost, 127.0.0.0/8, ::1)"
)


def sends_in_clear(url: str) -> bool:
    """Whether a token or password given to reach `url` would cross the network unencrypted:
    over any transport but https (ssh has no use for them), unless to a loopback host."""
    if "://" not in url:
        return False  # user@host:path is ssh
    scheme = url.split("://", 1)[0].lower()
    if scheme in ("https", "ssh", "git+ssh", "ssh+git"):
        return False
    try:
        host = (urlsplit(url).hostname or "").rstrip(".")
    except ValueError:
        return True
    if host in LOOPBACK_NAMES:
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True


def _ref_ok(ref: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z0-9._/+-]{1,200}", ref)) and ".." not in ref


def _basic(username: str, password: str) -> str:
    return base64.b64encode(f"{username}:{password}".encode()).decode()


def _base_env(home: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C",
        "LC_ALL": "C",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_ALLOW_PROTOCOL": ALLOWED_PROTOCOLS,
        "GIT_ASKPASS": "/bin/false",
        "SSH_ASKPASS": "/bin/false",
        # Only ssh with the options below; never an agent of the platform's.
        "GIT_SSH_COMMAND": "ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=yes "
        f"-o UserKnownHostsFile=/dev/null -o GlobalKnownHostsFile=/dev/null "
        f"-o ConnectTimeout={SSH_CONNECT_TIMEOUT}",
    }


@contextmanager
def _environment(remote: Remote) -> Iterator[dict[str, str]]:
    """The environment of the commands that reach the remote, with its credentials; the
    files it names are gone afterwards."""
    home = Path(tempfile.mkdtemp(prefix="gangplank-git-"))
    try:
        env = _base_env(home)
        known = home / "known_hosts"
        known.write_text(_known_hosts(remote))
        options = [
            "ssh", "-F", "/dev/null",
            "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=yes",
            "-o", f"UserKnownHostsFile={known}",
            "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", f"ConnectTimeout={SSH_CONNECT_TIMEOUT}",
        ]  # fmt: skip
        if remote.ssh_key:
            key = home / "id_key"
            key.touch(mode=0o600)
            key.write_text(remote.ssh_key.strip() + "\n")
            options += ["-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-i", str(key)]
        env["GIT_SSH_COMMAND"] = shlex.join(options)
        env.pop("SSH_AUTH_SOCK", None)
        headers = remote._headers()
        if headers:
            env.update(
                {
                    "GIT_CONFIG_COUNT": "2",
                    "GIT_CONFIG_KEY_0": "http.extraHeader",
                    "GIT_CONFIG_VALUE_0": f"Authorization: Basic {headers[0]}",
                    # The header goes to the URL's server only, never where it redirects.
                    "GIT_CONFIG_KEY_1": "http.followRedirects",
                    "GIT_CONFIG_VALUE_1": "false",
                }
            )
        yield env
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _known_hosts(remote: Remote) -> str:
    host, port = _ssh_host(remote.url)
    if host is None:
        return ""
    where = host if port in (None, 22) else f"[{host}]:{port}"
    lines = [line.strip() for line in remote.host_keys.splitlines()]
    return "".join(f"{where} {line}\n" for line in lines if line and not line.startswith("#"))


def _ssh_host(url: str) -> tuple[str | None, int | None]:
    """The host and port of an ssh URL (ssh://[user@]host[:port]/path or [user@]host:path)."""
    if url.startswith(("ssh://", "git+ssh://", "ssh+git://")):
        parts = urlsplit(url)
        try:
            return parts.hostname, parts.port
        except ValueError:
            return parts.hostname, None
    scp = re.fullmatch(r"(?:[^@/:]+@)?(\[[^\]]+\]|[^:/]+):(?!//).*", url)
    if scp and "://" not in url:
        return scp.group(1).strip("[]"), None
    return None, None


def _run(
    argv: list[str],
    *,
    cwd: Path | None,
    env: dict[str, str] | None = None,
    timeout: float = LOCAL_TIMEOUT,
    stdout=subprocess.PIPE,
    options: list[str] | None = None,
) -> subprocess.CompletedProcess:
    if env is None:
        home = Path(tempfile.gettempdir())
        env = _base_env(home)
    git_dir = ["--git-dir", str(cwd)] if cwd is not None else []
    try:
        return subprocess.run(
            ["git", *git_dir, *(options or []), *argv],
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=subprocess.PIPE,
            env=env,
            timeout=timeout,
            check=False,
            text=stdout is subprocess.PIPE,
        )
    except subprocess.TimeoutExpired:
        raise GitError(f"git {argv[0]} took longer than {timeout:g}s") from None


def _git(
    argv: list[str],
    *,
    remote: Remote,
    cwd: Path | None,
    env: dict[str, str] | None = None,
    timeout: float = LOCAL_TIMEOUT,
    options: list[str] | None = None,
) -> str:
    result = _run(argv, cwd=cwd, env=env, timeout=timeout, options=options)
    if result.returncode != 0:
        message = _explained(argv[0], remote.url, result.stderr)
        if remote._headers() and "the server asks for a credential" in message:
            message = message.replace("asks for a credential", "refused the credential")
        raise GitError(remote.masked(message))
    return result.stdout


def _explained(command: str, url: str, stderr: str) -> str:
    said = _last_line(stderr)
    for needle, meaning in _EXPLANATIONS:
        if needle in stderr:
            return f"cannot read {url}: {meaning} (git {command}: {said})"
    return f"cannot read {url}: git {command} failed: {said}"


def _last_line(stderr) -> str:
    text = stderr.decode(errors="replace") if isinstance(stderr, bytes) else stderr
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    fatal = [line for line in lines if line.startswith("fatal:")]
    return (fatal or lines or ["no message"])[-1][:500]
