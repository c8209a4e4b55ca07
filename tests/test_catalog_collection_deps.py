"""What a template's local collections may bring with them: ansible-galaxy installs them
without their declared dependencies (a URL, a repository or a path of the worker's would
otherwise be fetched or copied), the sync refuses a dependency that is not a Galaxy name, and
binary files are accepted only where requirements.yml installs them."""

import io
import json
import subprocess
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from catalog import galaxy
from catalog.loader import load_folder
from conftest import write_template

SLUG = "toolbox"


def write_collection_dir(path: Path, *, namespace: str, name: str, dependencies=None) -> Path:
    """A collection's source folder (galaxy.yml) with a module-less plugins folder."""
    (path / "plugins").mkdir(parents=True)
    meta = {"namespace": namespace, "name": name, "version": "1.0.0", "readme": "README.md"}
    meta.update(authors=["tests"], **({"dependencies": dependencies} if dependencies else {}))
    (path / "galaxy.yml").write_text(yaml.safe_dump(meta))
    (path / "README.md").write_text(f"# {name}\n")
    return path


def _manifest(dependencies: dict) -> bytes:
    info = {"namespace": "mycorp", "name": "packed", "version": "1.0.0"}
    return json.dumps({"collection_info": {**info, "dependencies": dependencies}}).encode()


def collection_tarball(*, dependencies: dict, extra: bytes = b"", decoy: bool = False) -> bytes:
    """A collection tarball as `ansible-galaxy collection build` makes it: MANIFEST.json at
    its root (plus a binary file, so that the tarball itself is never UTF-8); with `decoy`,
    a harmless MANIFEST.json before it."""
    members = [("MANIFEST.json", _manifest({}))] if decoy else []
    members += [("MANIFEST.json", _manifest(dependencies)), ("x.bin", extra)]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for member, data in members:
            info = tarfile.TarInfo(member)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def private_repository(path: Path) -> str:
    """A git repository on the worker's disk holding a collection (as a source's cache)."""
    write_collection_dir(path, namespace="secret", name="stuff")
    commit = ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "private"]
    for command in (["init", "-q", "-b", "main"], ["add", "-A"], commit):
        subprocess.run(["git", *command], cwd=path, check=True, capture_output=True)
    return f"git+file://{path}"


class _Recorder(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):
        self.hits.append(self.path)
        self.send_error(404)

    def log_message(self, *args):
        pass


@pytest.fixture
def recorder():
    """An HTTP server on the worker's loopback that records what is asked of it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    _Recorder.hits = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_it_installs_a_local_collection_without_the_dependencies_it_declares(tmp_path, recorder):
    worker_dir = write_collection_dir(tmp_path / "worker-files", namespace="secret", name="local")
    url = f"http://127.0.0.1:{recorder.server_address[1]}/internal/c.tar.gz"
    folder = tmp_path / "catalog" / SLUG
    write_collection_dir(
        folder / "vendor" / "evil",
        namespace="evil",
        name="thing",
        dependencies={
            private_repository(tmp_path / "priv"): "main",
            str(worker_dir): "*",
            url: "*",
        },
    )
    (folder / "requirements.yml").write_text(
        yaml.safe_dump({"collections": [{"name": "vendor/evil", "type": "dir"}]})
    )
    dest = tmp_path / "installed"

    galaxy.install(
        folder=folder, dest=dest, server=f"http://127.0.0.1:{recorder.server_address[1]}/"
    )

    installed = dest / "collections" / "ansible_collections"
    assert sorted(p.name for p in installed.iterdir()) == ["evil"]  # no "secret"
    assert (installed / "evil" / "thing" / "MANIFEST.json").is_file()
    assert _Recorder.hits == []  # the worker asked nothing of it


def _toolbox(root: Path, *, requirements: dict | None, galaxy_yml: dict | None = None) -> Path:
    folder = write_template(root, SLUG, properties={})
    if requirements is not None:
        (folder / "requirements.yml").write_text(yaml.safe_dump(requirements))
    if galaxy_yml is not None:
        write_collection_dir(folder / "vendor" / "extras", namespace="mycorp", name="extras",
                             dependencies=galaxy_yml)  # fmt: skip
    return folder


DIR = {"collections": [{"name": "vendor/extras", "type": "dir"}]}
FILE = {"collections": [{"name": "vendor/packed.tar.gz", "type": "file"}]}


@pytest.mark.parametrize(
    "dependency",
    [
        "git+file:///srv/gangplank/sources/other/cache",
        "https://example.com/c.tar.gz",
        "/var/lib/gangplank/collections/x",
        "../other",
        "Not.A-Name",
    ],
)
def test_a_local_collection_depending_on_anything_but_a_galaxy_name_is_refused(
    tmp_path, dependency
):
    folder = _toolbox(tmp_path, requirements=DIR, galaxy_yml={dependency: "*", "a.b": ">=1"})

    loaded = load_folder(folder)

    assert [(p.file, p.field) for p in loaded.problems] == [
        (f"{SLUG}/requirements.yml", "collections[0].name")
    ]
    message = loaded.problems[0].message
    assert f"vendor/extras/galaxy.yml declares the dependency {dependency!r}" in message
    assert "not a Galaxy collection name (namespace.name)" in message
    assert "list it in requirements.yml" in message


def test_a_tarballs_manifest_is_read_for_its_dependencies(tmp_path):
    folder = _toolbox(tmp_path, requirements=FILE)
    (folder / "vendor").mkdir()
    tarball = folder / "vendor" / "packed.tar.gz"
    tarball.write_bytes(collection_tarball(dependencies={"community.general": "*"}))
    assert load_folder(folder).problems == []

    tarball.write_bytes(collection_tarball(dependencies={"git+file:///srv/x.git": "main"}))
    [problem] = load_folder(folder).problems

    assert problem.field == "collections[0].name"
    assert "vendor/packed.tar.gz declares the dependency 'git+file:///srv/x.git'" in problem.message


def test_the_manifest_read_is_the_one_ansible_galaxy_reads_the_last(tmp_path):
    folder = _toolbox(tmp_path, requirements=FILE)
    (folder / "vendor").mkdir()
    tarball = collection_tarball(dependencies={"https://example.com/c.tgz": "*"}, decoy=True)
    (folder / "vendor" / "packed.tar.gz").write_bytes(tarball)

    [problem] = load_folder(folder).problems

    assert "declares the dependency 'https://example.com/c.tgz'" in problem.message


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"\x1f\x8b not a tarball \xff", "is not a collection tarball"),
        (None, "has no MANIFEST.json"),
    ],
)
def test_a_tarball_that_is_no_collection_is_said_to_be_so(tmp_path, content, words):
    folder = _toolbox(tmp_path, requirements=FILE)
    (folder / "vendor").mkdir()
    if content is None:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
            info = tarfile.TarInfo("README.md")
            archive.addfile(info, io.BytesIO(b""))
        content = buffer.getvalue()
    (folder / "vendor" / "packed.tar.gz").write_bytes(content)

    [problem] = load_folder(folder).problems

    assert problem.field == "collections[0].name" and words in problem.message


def test_a_collection_folder_without_galaxy_yml_or_manifest_is_refused(tmp_path):
    folder = _toolbox(tmp_path, requirements=DIR)
    (folder / "vendor" / "extras" / "mycorp" / "extras").mkdir(parents=True)
    (folder / "vendor" / "extras" / "mycorp" / "extras" / "galaxy.yml").write_text("x: 1\n")

    [problem] = load_folder(folder).problems

    assert problem.field == "collections[0].name"
    assert "'vendor/extras' is not a collection's folder (no galaxy.yml nor MANIFEST.json)" in (
        problem.message
    )


# --- binary files ------------------------------------------------------------------------------


def test_a_binary_file_requirements_yml_does_not_install_is_not_utf8_text(tmp_path):
    folder = _toolbox(tmp_path, requirements=DIR, galaxy_yml={})
    (folder / "files").mkdir()
    (folder / "files" / "x.bin").write_bytes(b"\xff\xfe\x00 data")
    (folder / "vendor" / "loose.tar.gz").write_bytes(b"\x1f\x8b\xff")  # not listed

    loaded = load_folder(folder)

    assert {(p.file, p.field, p.message) for p in loaded.problems} == {
        (f"{SLUG}/files/x.bin", "", "is not UTF-8 text"),
        (f"{SLUG}/vendor/loose.tar.gz", "", "is not UTF-8 text"),
    }


def test_without_requirements_yml_no_binary_file_is_accepted(tmp_path):
    folder = _toolbox(tmp_path, requirements=None)
    (folder / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\xff")

    loaded = load_folder(folder)

    assert [str(p) for p in loaded.problems] == [f"{SLUG}/logo.png: is not UTF-8 text"]


def test_binary_files_inside_what_requirements_yml_installs_are_accepted(tmp_path):
    requirements = {
        "collections": [*DIR["collections"], *FILE["collections"]],
        "roles": [{"src": "vendor/role", "name": "mine"}, {"src": "vendor/r.tgz", "name": "r"}],
    }
    folder = _toolbox(tmp_path, requirements=requirements, galaxy_yml={})
    vendor = folder / "vendor"
    (vendor / "packed.tar.gz").write_bytes(collection_tarball(dependencies={}, extra=b"\xff"))
    (vendor / "extras" / "plugins" / "blob.bin").write_bytes(b"\xff\xfe")
    (vendor / "role" / "files").mkdir(parents=True)
    (vendor / "role" / "tasks").mkdir()
    (vendor / "role" / "tasks" / "main.yml").write_text("- ansible.builtin.ping:\n")
    (vendor / "role" / "files" / "x.bin").write_bytes(b"\xff\xfe")
    (vendor / "r.tgz").write_bytes(b"\x1f\x8b\xff")

    loaded = load_folder(folder)

    assert loaded.problems == []
    assert set(loaded.binaries) == {
        "vendor/packed.tar.gz",
        "vendor/extras/plugins/blob.bin",
        "vendor/role/files/x.bin",
        "vendor/r.tgz",
    }


def test_a_binary_template_yml_is_not_said_to_be_missing(tmp_path):
    folder = _toolbox(tmp_path, requirements=None)
    (folder / "template.yml").write_bytes(b"name: \xff\n")

    assert [str(p) for p in load_folder(folder).problems] == [
        f"{SLUG}/template.yml: is not UTF-8 text"
    ]
