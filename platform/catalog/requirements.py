"""A template's `requirements.yml`: the collections and roles `ansible-galaxy` installs for it.

It checks the parsed file against the folder's file names, reads the dependencies a local
collection declares (its galaxy.yml, or the MANIFEST.json in its tarball, never extracted),
and knows nothing of Django.

`ansible-galaxy` runs on the worker, outside any sandbox, with the worker's files and
network. So a requirement may only name a Galaxy collection or role (fetched from the
deployment's Galaxy server), or a tarball or folder INSIDE the template's folder: an
absolute path or `..` would let a template's author copy the worker's own files into what
its runs can read, and a URL, a git repository or a Galaxy server of the author's choosing
would make the worker reach any host its network can (`source_problems` checks `source`
against the deployment's server, which the sync and the lint are given). A local collection
is installed without the dependencies it declares (they could be all of that too): they must
be Galaxy names, which the template lists itself.
"""

import json
import re
import tarfile
from collections.abc import Collection, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

FILE = "requirements.yml"
DEFAULT_SERVER = "https://galaxy.ansible.com"  # ansible-galaxy's, when none is set
KEYS = ("collections", "roles")
# namespace.name, as Galaxy spells collections.
COLLECTION_NAME = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
# namespace.role: Galaxy's role namespaces are GitHub user names (letters, digits, '-').
ROLE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*\.[A-Za-z0-9_][A-Za-z0-9_.-]*$")
VERSION = re.compile(r"^[A-Za-z0-9*<>=!][A-Za-z0-9.*+<>=!, _-]{0,99}$")
COLLECTION_KEYS = ("name", "version", "type", "source")
ROLE_KEYS = ("src", "name", "version")
LOCAL_TYPES = ("file", "dir")
TARBALL_SUFFIXES = (".tar.gz", ".tgz", ".tar")
GALAXY_YML, MANIFEST_JSON = "galaxy.yml", "MANIFEST.json"
MAX_MANIFEST = 1024 * 1024
MAX_MEMBERS = 20000
REFUSED_TYPE = (
    "{!r} is not allowed: a collection comes from the Galaxy server (a name namespace.name) "
    "or from the template's folder (type: file or type: dir)"
)


def problems(
    data: Any, *, files: Collection[str], binaries: Collection[str]
) -> list[tuple[str, str]]:
    """(field, message) for what is wrong in the parsed requirements file; `files` and
    `binaries` are the folder's relative paths (text and binary), for the local sources."""
    if not isinstance(data, dict):
        return [("", "must be a mapping with `collections` and/or `roles` lists")]
    found = [(str(key), "is not allowed; only collections and roles") for key in data
             if key not in KEYS]  # fmt: skip
    paths = _Paths(files=files, binaries=binaries)
    for key, check in (("collections", _collection_problems), ("roles", _role_problems)):
        entries = data.get(key)
        if entries is None:
            continue
        if not isinstance(entries, list):
            found.append((key, "must be a list"))
            continue
        for index, entry in enumerate(entries):
            found += [(f"{key}[{index}]{'.' + f if f else ''}", m) for f, m in check(entry, paths)]
    return found


def sources(data: dict) -> list[tuple[str, str]]:
    """(field, server) for every collection that names a Galaxy server (`source`)."""
    return [
        (f"collections[{index}].source", entry["source"])
        for index, entry in enumerate(data.get("collections") or [])
        if isinstance(entry, dict) and isinstance(entry.get("source"), str)
    ]


def source_problems(data: dict, *, server: str) -> list[tuple[str, str]]:
    """(field, message) for each collection whose `source` is not `server`, the deployment's
    Galaxy server ("": DEFAULT_SERVER, ansible-galaxy's own): any other would have the worker
    (or the lint) fetch from a host of the template author's choosing."""
    server = server or DEFAULT_SERVER
    return [
        (field, f"{source!r} is not this deployment's Galaxy server ({server}); leave "
         "`source` out to use it")
        for field, source in sources(data)
        if _normal_server(source) != _normal_server(server)
    ]  # fmt: skip


def _normal_server(url: str) -> str:
    url = url.strip().rstrip("/")
    return url.removesuffix("/api").rstrip("/").lower()


def local_path(value: str) -> str | None:
    """`value` as a relative path inside the folder ("./" dropped), or None when it leaves it
    (absolute, `..`, a backslash, a URL)."""
    pure = PurePosixPath(value)
    if not value or pure.is_absolute() or ".." in pure.parts or "\\" in value or ":" in value:
        return None
    normal = pure.as_posix()
    return None if normal == "." else normal


class _Paths:
    def __init__(self, *, files: Collection[str], binaries: Collection[str]):
        self.files = {*files, *binaries}
        self.dirs = {
            parent.as_posix() for name in self.files for parent in PurePosixPath(name).parents
        }

    def problem(self, value: Any, *, tarball_or_dir: bool) -> str | None:
        """Why `value` is not a tarball (or a folder, when `tarball_or_dir`) of the folder."""
        if not isinstance(value, str):
            return "must be a relative path"
        path = local_path(value)
        if path is None:
            return f"{value!r} leaves the template's folder (an absolute path, '..' or a URL)"
        if path in self.files and path.endswith(TARBALL_SUFFIXES):
            return None
        if path in self.files:
            return f"{value!r} is not a tarball (.tar.gz, .tgz or .tar)"
        if tarball_or_dir and path in self.dirs:
            return None
        return f"{value!r} does not exist in the template's folder"


def _collection_problems(entry: Any, paths: _Paths) -> list[tuple[str, str]]:
    if isinstance(entry, str):
        entry = {"name": entry}
    if not isinstance(entry, dict):
        return [("", "must be a collection's name or a mapping (name, version, type, source)")]
    found = [(str(key), "is not allowed here") for key in entry if key not in COLLECTION_KEYS]
    kind, name = entry.get("type", "galaxy"), entry.get("name")
    if kind not in ("galaxy", *LOCAL_TYPES):
        return [*found, ("type", REFUSED_TYPE.format(f"type: {kind}"))]
    if kind == "galaxy":
        if not isinstance(name, str) or not COLLECTION_NAME.fullmatch(name):
            found.append(
                (
                    "name",
                    f"{name!r} is not a Galaxy collection name "
                    "(namespace.name); a tarball or folder needs type: file or type: dir",
                )
            )
        if "source" in entry and not isinstance(entry["source"], str):
            found.append(("source", "must be the URL of the deployment's Galaxy server"))
    else:
        if "source" in entry:
            found.append(("source", f"is not allowed with type: {kind}; name holds the path"))
        dir_ = kind == "dir"
        if dir_ and isinstance(name, str) and name.endswith(TARBALL_SUFFIXES):
            found.append(("name", f"{name!r} is a tarball: use type: file"))
        elif message := paths.problem(name, tarball_or_dir=dir_):
            if kind == "file" and isinstance(name, str) and local_path(name) in paths.dirs:
                message = f"{name!r} is a folder: use type: dir"
            found.append(("name", message))
    if "version" in entry and not _is_version(entry["version"]):
        found.append(("version", "must be a version or a range such as '>=1.2.0'"))
    return found


def _role_problems(entry: Any, paths: _Paths) -> list[tuple[str, str]]:
    if isinstance(entry, str):
        entry = {"src": entry}
    if not isinstance(entry, dict):
        return [("", "must be a role's name or a mapping (src, name, version)")]
    found = [
        (str(key), "is not allowed: roles come from Galaxy or the template's folder"
         if key in ("scm", "include") else "is not allowed here")
        for key in entry if key not in ROLE_KEYS
    ]  # fmt: skip
    src = entry.get("src", entry.get("name"))
    if not isinstance(src, str) or not src:
        found.append(("src", "is required: a Galaxy role (namespace.role) or a relative path"))
    elif not ROLE_NAME.fullmatch(src) or local_path(src) in paths.files | paths.dirs:
        if message := paths.problem(src, tarball_or_dir=True):
            found.append(("src", f"{message}; a role is a Galaxy name (namespace.role), or a "
                          "tarball or folder of the template"))  # fmt: skip
        elif "name" not in entry:
            found.append(("name", "is required for a role from the template's folder"))
    name = entry.get("name")
    if name is not None and not (isinstance(name, str) and re.fullmatch(r"[A-Za-z0-9_.-]+", name)):
        found.append(("name", "must be a role name (letters, digits, '_', '-', '.')"))
    if "version" in entry and not _is_version(entry["version"]):
        found.append(("version", "must be a version"))
    return found


def _is_version(value: Any) -> bool:
    return isinstance(value, str | int | float) and bool(VERSION.fullmatch(str(value)))


def role_entries(data: Mapping) -> list[dict]:
    """The roles as mappings with `src` (and `name`, `version` when given)."""
    entries = []
    for entry in data.get("roles") or []:
        entry = {"src": entry} if isinstance(entry, str) else dict(entry)
        entry.setdefault("src", entry.get("name"))
        entries.append(entry)
    return entries


def local_sources(data: Any) -> list[str]:
    """The relative paths of the folder that requirements.yml installs: the tarballs and
    folders of `type: file` and `type: dir` collections and of local roles."""
    if not isinstance(data, dict):
        return []
    named = [
        entry.get("name")
        for entry in data.get("collections") or []
        if isinstance(entry, dict) and entry.get("type") in LOCAL_TYPES
    ]
    for entry in data.get("roles") or []:
        named.append(entry.get("src", entry.get("name")) if isinstance(entry, dict) else entry)
    paths = [local_path(value) for value in named if isinstance(value, str)]
    return [path for path in paths if path]


def dependency_problems(data: dict, *, root: Path) -> list[tuple[str, str]]:
    """(field, message) for each local collection of a checked requirements file (`root`
    being the template's folder) that is no collection, or that declares a dependency other
    than a Galaxy name: ansible-galaxy installs it without them (catalog.galaxy)."""
    found = []
    for index, entry in enumerate(data.get("collections") or []):
        if not isinstance(entry, dict) or entry.get("type") not in LOCAL_TYPES:
            continue
        field, path = f"collections[{index}].name", str(local_path(entry["name"]))
        try:
            shown, dependencies = _declared(Path(root), path, kind=entry["type"])
        except _NotACollection as exc:
            found.append((field, str(exc)))
            continue
        found += [
            (field, f"{shown} declares the dependency {key!r}, not a Galaxy collection name "
             "(namespace.name): a collection of the template's folder is installed without "
             "its dependencies; list it in requirements.yml")
            for key in dependencies if not COLLECTION_NAME.fullmatch(str(key))
        ]  # fmt: skip
    return found


class _NotACollection(Exception):
    pass


def _declared(root: Path, path: str, *, kind: str) -> tuple[str, dict]:
    """Where the collection at `path` declares its dependencies, and them."""
    if kind == "file":
        shown, meta = path, _tarball_manifest(root / path, path)
    elif (root / path / GALAXY_YML).is_file():
        shown = f"{path}/{GALAXY_YML}"
        try:
            meta = yaml.safe_load((root / path / GALAXY_YML).read_bytes())
        except yaml.YAMLError as exc:
            raise _NotACollection(f"{shown} is not valid YAML: {exc}") from exc
    elif (root / path / MANIFEST_JSON).is_file():
        shown, meta = f"{path}/{MANIFEST_JSON}", _json(root / path / MANIFEST_JSON, path)
    else:
        raise _NotACollection(
            f"{path!r} is not a collection's folder (no {GALAXY_YML} nor {MANIFEST_JSON})"
        )
    if shown.endswith(MANIFEST_JSON) or kind == "file":
        meta = meta.get("collection_info") if isinstance(meta, dict) else None
    dependencies = meta.get("dependencies") if isinstance(meta, dict) else None
    if not isinstance(dependencies, dict | None):
        raise _NotACollection(f"{shown}: dependencies must be a mapping of names to versions")
    return shown, dependencies or {}


def _tarball_manifest(file: Path, path: str) -> Any:
    try:
        with tarfile.open(file, "r:*") as archive:
            member = _member(archive, MANIFEST_JSON, path=path)
            if member is None or not member.isfile() or member.size > MAX_MANIFEST:
                raise _NotACollection(
                    f"{path!r} has no {MANIFEST_JSON}: it is not a collection tarball "
                    "(`ansible-galaxy collection build` makes one)"
                )
            raw = archive.extractfile(member)
            return _json_text(raw.read() if raw else b"", path)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise _NotACollection(f"{path!r} is not a collection tarball: {exc}") from exc


def _member(archive: tarfile.TarFile, name: str, *, path: str) -> tarfile.TarInfo | None:
    """The last member called `name`, as ansible-galaxy's `getmember` finds it, listing at
    most MAX_MEMBERS members (a tarball of countless tiny ones would fill the memory)."""
    found = None
    for index, member in enumerate(archive):
        if index >= MAX_MEMBERS:
            raise _NotACollection(f"{path!r} holds more than {MAX_MEMBERS} files")
        if member.name == name:
            found = member
    return found


def _json(file: Path, path: str) -> Any:
    return _json_text(file.read_bytes(), path)


def _json_text(raw: bytes, path: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise _NotACollection(f"{path!r}: its {MANIFEST_JSON} is not valid JSON") from exc
