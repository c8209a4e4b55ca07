"""Real git repositories for the suite: a bare repository (the "forge") and a working copy
that commits and pushes to it; and `git http-backend` served on 127.0.0.1 with basic auth."""

import base64
import os
import shutil
import subprocess
import threading
from pathlib import Path
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import yaml

from testkit import free_port, write_template

GIT_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_TERMINAL_PROMPT": "0",
    "LANG": "C",
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.org",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.org",
}


def git(*argv: str, cwd: Path, env: dict | None = None) -> str:
    result = subprocess.run(
        ["git", *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_ENV, **(env or {})},
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"git {argv}: {result.stderr}"
    return result.stdout.strip()


class Repo:
    """A bare repository at `bare` (branch main) and a working copy at `work` pushing to it."""

    def __init__(self, root: Path, *, branch: str = "main") -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.bare, self.work, self.branch = root / "origin.git", root / "work", branch
        git("init", "--quiet", "--bare", "-b", branch, str(self.bare), cwd=root)
        git("init", "--quiet", "-b", branch, str(self.work), cwd=root)
        git("remote", "add", "origin", str(self.bare), cwd=self.work)

    @property
    def url(self) -> str:
        return f"file://{self.bare}"

    def template(self, slug: str, version: str = "1.0.0", *, under: str = "", **changes) -> Path:
        """Write a valid template `slug` at `version` (its manifest changed by `changes`)."""
        folder = write_template(self.work / under if under else self.work, slug)
        manifest = yaml.safe_load((folder / "template.yml").read_text())
        manifest.update(version=version, **changes)
        (folder / "template.yml").write_text(yaml.safe_dump(manifest))
        return folder

    def commit(self, message: str, *, author: str = "Ada Lovelace <ada@example.org>") -> str:
        name, email = author[:-1].split(" <")
        who = {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email,
               "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email}  # fmt: skip
        git("add", "-A", cwd=self.work)
        git("commit", "--quiet", "--allow-empty", "-m", message, cwd=self.work, env=who)
        return git("rev-parse", "HEAD", cwd=self.work)

    def push(self, *, force: bool = False, ref: str | None = None) -> None:
        target = ref or self.branch
        git("push", "--quiet", *(["--force"] if force else []), "origin", f"HEAD:{target}",
            cwd=self.work)  # fmt: skip

    def rewrite(self, message: str) -> str:
        """Replace the last commit with another (amend), as a force-push would publish."""
        git("add", "-A", cwd=self.work)
        git("commit", "--quiet", "--amend", "--allow-empty", "-m", message, cwd=self.work)
        return git("rev-parse", "HEAD", cwd=self.work)

    def remove(self, slug: str) -> None:
        shutil.rmtree(self.work / slug)

    def push_crafted_tree(self) -> str:
        """Point the branch at a commit whose tree git itself would never make (so written
        with `hash-object --literally`): a symlink `a -> /etc` and a folder `a/` holding a
        file, which a tar extraction would write through the symlink. Returns its SHA."""
        bare = ["--git-dir", str(self.bare)]
        link = _git_input(b"/etc", *bare, "hash-object", "-w", "--stdin")
        blob = _git_input(b"planted\n", *bare, "hash-object", "-w", "--stdin")
        folder = _git_input(f"100644 blob {blob}\tplanted\n".encode(), *bare, "mktree")
        raw = b"120000 a\0" + bytes.fromhex(link) + b"40000 a\0" + bytes.fromhex(folder)
        tree = _git_input(raw, *bare, "hash-object", "-t", "tree", "--literally", "-w", "--stdin")
        commit = git(*bare, "commit-tree", "-m", "Crafted", tree, cwd=self.bare)
        git(*bare, "update-ref", f"refs/heads/{self.branch}", commit, cwd=self.bare)
        return commit


def _git_input(data: bytes, *argv: str) -> str:
    result = subprocess.run(
        ["git", *argv], input=data, capture_output=True, env={**os.environ, **GIT_ENV},
        timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, f"git {argv}: {result.stderr!r}"
    return result.stdout.decode().strip()


class _Quiet(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


class _Threading(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class HttpBackend:
    """`git http-backend` behind basic auth (`username`, `password`) on 127.0.0.1. While
    `gate` is cleared, each request waits for it to be set (a forge that is slow to answer);
    `requests` counts the requests that arrived."""

    def __init__(self, root: Path, *, username: str, password: str) -> None:
        self.gate = threading.Event()
        self.gate.set()
        self.requests = 0
        self.root, self.expected = root, f"{username}:{password}"
        self.port = free_port()
        self.server = make_server(
            "127.0.0.1", self.port, self._app, server_class=_Threading, handler_class=_Quiet
        )
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.refused = 0

    def url(self, repo: Path) -> str:
        return f"http://127.0.0.1:{self.port}/{repo.relative_to(self.root)}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _app(self, environ, start_response):
        self.requests += 1
        self.gate.wait(timeout=60)
        given = environ.get("HTTP_AUTHORIZATION", "")
        expected = "Basic " + base64.b64encode(self.expected.encode()).decode()
        if given != expected:
            self.refused += 1
            start_response("401 Unauthorized", [("WWW-Authenticate", 'Basic realm="git"')])
            return [b"unauthorized\n"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        cgi = {
            "PATH": os.environ["PATH"],
            "GIT_PROJECT_ROOT": str(self.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "REMOTE_USER": self.expected.split(":")[0],
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": "/dev/null",
            **{
                key: environ.get(key, "")
                for key in ("REQUEST_METHOD", "PATH_INFO", "QUERY_STRING", "CONTENT_TYPE")
            },
            "CONTENT_LENGTH": str(len(body)),
        }
        if "HTTP_GIT_PROTOCOL" in environ:
            cgi["GIT_PROTOCOL"] = environ["HTTP_GIT_PROTOCOL"]
        out = subprocess.run(
            ["git", "http-backend"], input=body, capture_output=True, env=cgi, timeout=60
        ).stdout
        head, _, rest = out.partition(b"\r\n\r\n")
        headers, status = [], "200 OK"
        for line in head.decode().split("\r\n"):
            name, _, value = line.partition(": ")
            if name.lower() == "status":
                status = value
            elif name:
                headers.append((name, value))
        start_response(status, headers)
        return [rest]
