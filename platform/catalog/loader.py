"""Reading the catalogue folder: each `<slug>/template.yml` and its files, checked.

Pure: it reads files and returns what it found, and knows nothing of the database.
"""

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import yaml

from catalog import actions as custom_actions
from catalog import approval, changelog, conditions, icons
from catalog import requirements as galaxy_requirements
from catalog import schema as input_schema
from core import text
from core.durations import DURATION_PATTERN, MAX_RUN_TIME, parse_duration

MANIFEST = "template.yml"
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")
MAX_FILES = 200
MAX_BYTES = 2 * 1024 * 1024
ACTIONS = ("provision", "update", "deprovision")

MANIFEST_SCHEMA = {
    "type": "object",
    "required": ["name", "version", "inputs", "playbooks"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 200},
        "description": {"type": "string"},
        "version": {"type": "string", "pattern": changelog.VERSION_PATTERN},
        "category": {"type": "string", "maxLength": 100},
        # One of the built-in icons (catalog.icons); without it, the category's.
        "icon": {"type": "string", "minLength": 1},
        "changelog": changelog.SCHEMA,
        "inputs": {"type": "object"},
        "outputs": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["title"],
                "additionalProperties": False,
                "properties": {"title": {"type": "string"}, "description": {"type": "string"}},
            },
        },
        "lifetime": {
            "type": "object",
            "required": ["default", "max"],
            "additionalProperties": False,
            "properties": {
                "default": {"type": "string", "pattern": DURATION_PATTERN},
                "max": {"type": "string", "pattern": DURATION_PATTERN},
            },
        },
        "timeout": {"type": "string", "pattern": DURATION_PATTERN},
        "approval": approval.SCHEMA,
        "actions": custom_actions.SCHEMA,
        "drift_check": {"type": "string", "pattern": DURATION_PATTERN},
        # What a change of the outputs of a service it uses does: queue an update with the
        # same inputs (else the service is only marked "dependency changed").
        "on_dependency_change": {"type": "string", "enum": ["update"]},
        "credentials": {
            "type": "array",
            "uniqueItems": True,
            "items": {"type": "string", "pattern": r"^[a-z0-9][a-z0-9-]{0,99}$"},
        },
        # The hosts a run reaches over SSH: a group of an inventory (catalog.services checks
        # that the inventory exists).
        "targets": {
            "type": "object",
            "required": ["inventory", "group"],
            "additionalProperties": False,
            "properties": {
                "inventory": {"type": "string", "minLength": 1},
                "group": {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_]*$"},
            },
        },
        "playbooks": {
            "type": "object",
            "required": list(ACTIONS),
            "additionalProperties": False,
            "properties": {action: {"type": "string", "minLength": 1} for action in ACTIONS},
        },
    },
}
# Its patterns match whole values, as the inputs' do.
_manifest_validator = input_schema.StrictValidator(MANIFEST_SCHEMA)


@dataclass(frozen=True)
class Problem:
    file: str
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.field}" if self.field else self.file
        return f"{where}: {self.message}"

    def as_dict(self) -> dict:
        return {"file": self.file, "field": self.field, "message": self.message}


@dataclass
class Folder:
    """One template folder: its manifest and files when they are sound, else its problems."""

    slug: str
    manifest: dict | None = None
    files: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    # Files that are not text (a collection's tarball): relative path -> sha256 of the bytes.
    # Never stored; ansible-galaxy installs them at sync time (catalog.galaxy).
    binaries: dict[str, str] = field(default_factory=dict)
    # Where it was read, for what is installed from it.
    path: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.problems and self.manifest is not None

    @property
    def requirements(self) -> dict | None:
        """The parsed requirements.yml (checked), or None without one."""
        if self.manifest is None or galaxy_requirements.FILE not in self.files:
            return None
        return yaml.safe_load(self.files[galaxy_requirements.FILE])

    @property
    def digest(self) -> str:
        if not self.binaries:  # the digest of every version stored before binaries existed
            return hashlib.sha256(json.dumps(self.files, sort_keys=True).encode()).hexdigest()
        both = {"files": self.files, "binaries": self.binaries}
        return hashlib.sha256(json.dumps(both, sort_keys=True).encode()).hexdigest()


def load_catalog(directory: Path) -> list[Folder]:
    """Every template folder under `directory`, sorted by slug."""
    return [
        load_folder(entry)
        for entry in sorted(Path(directory).iterdir())
        if not entry.name.startswith(".") and (entry.is_dir() or entry.is_symlink())
    ]


def load_folder(path: Path) -> Folder:
    folder = Folder(slug=path.name, path=path)
    manifest_file = f"{path.name}/{MANIFEST}"
    if path.is_symlink():
        folder.problems.append(
            Problem(path.name, "", "is a symlink; templates must be real folders")
        )
        return folder
    if not SLUG_RE.fullmatch(path.name):
        folder.slug = text.replaced(path.name)  # not UTF-8, it could not be stored as such
        folder.problems.append(
            Problem(folder.slug, "", "folder name must be a slug: lowercase letters, digits, '-'")
        )
        return folder
    folder.files, folder.binaries, file_problems = _read_files(path)
    file_problems += _binary_problems(folder)
    folder.problems += file_problems
    if MANIFEST not in folder.files:
        if not file_problems:
            folder.problems.append(Problem(manifest_file, "", "is missing"))
        return folder
    try:
        manifest = yaml.safe_load(folder.files[MANIFEST])
    except yaml.YAMLError as exc:
        folder.problems.append(Problem(manifest_file, "", f"is not valid YAML: {exc}"))
        return folder
    if problem := text.first_problem(manifest):
        folder.problems.append(Problem(manifest_file, "", problem))
        return folder
    folder.problems += [
        Problem(manifest_file, f, m)
        for f, m in _manifest_problems(manifest, folder.files, binaries=folder.binaries)
    ]
    folder.problems += _requirements_problems(folder)
    if not folder.problems:
        folder.manifest = {**manifest, "inputs": input_schema.prepared(manifest["inputs"])}
        if "actions" in manifest:
            folder.manifest["actions"] = custom_actions.prepared(manifest["actions"])
        # The order things are declared in, which a stored manifest (jsonb) does not keep.
        folder.manifest[input_schema.ORDER] = {
            key: list(manifest.get(key) or {}) for key in ("actions", "outputs")
        }
    return folder


def _read_files(path: Path) -> tuple[dict[str, str], dict[str, str], list[Problem]]:
    """The folder's text files, its binary files' sha256 and its problems."""
    files: dict[str, str] = {}
    binaries: dict[str, str] = {}
    problems: list[Problem] = []
    total = 0
    for root, dirs, names in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted([*dirs, *names]):
            full = Path(root, name)
            relative = full.relative_to(path).as_posix()
            shown = text.replaced(f"{path.name}/{relative}")
            if full.is_symlink():
                problems.append(Problem(shown, "", "is a symlink; symlinks are not allowed"))
            elif not text.storable(relative):
                problems.append(Problem(shown, "", "name is not UTF-8 text"))
            elif full.is_file() and not name.startswith("."):
                total += full.stat().st_size
                raw = full.read_bytes()
                try:
                    content = raw.decode("utf-8")
                except UnicodeDecodeError:
                    binaries[relative] = hashlib.sha256(raw).hexdigest()
                    continue
                if text.storable(content):
                    files[relative] = content
                else:
                    problems.append(Problem(shown, "", "holds NUL characters"))
    if len(files) + len(binaries) > MAX_FILES or total > MAX_BYTES:
        problems.append(
            Problem(path.name, "", f"is too large: at most {MAX_FILES} files and {MAX_BYTES} bytes")
        )
    return files, binaries, problems


def _requirements_problems(folder: Folder) -> list[Problem]:
    """What is wrong in the folder's requirements.yml (catalog.requirements)."""
    name = galaxy_requirements.FILE
    shown = f"{folder.slug}/{name}"
    if name not in folder.files:
        return []
    try:
        data = yaml.safe_load(folder.files[name])
    except yaml.YAMLError as exc:
        return [Problem(shown, "", f"is not valid YAML: {exc}")]
    found = galaxy_requirements.problems(data, files=folder.files, binaries=folder.binaries)
    if not found and folder.path is not None:
        found = galaxy_requirements.dependency_problems(data, root=folder.path)
    return [Problem(shown, f, m) for f, m in found]


def _binary_problems(folder: Folder) -> list[Problem]:
    """A file that is not text is allowed only where requirements.yml installs from (a
    collection's or a role's tarball or folder): anywhere else it would be dropped from
    the version's files, and a playbook using it would fail at run time."""
    try:
        data = yaml.safe_load(folder.files.get(galaxy_requirements.FILE, ""))
    except yaml.YAMLError:
        data = None  # said by _requirements_problems
    sources = galaxy_requirements.local_sources(data)
    return [
        Problem(f"{folder.slug}/{name}", "", "is not UTF-8 text")
        for name in sorted(folder.binaries)
        if not any(name == source or name.startswith(f"{source}/") for source in sources)
    ]


def _manifest_problems(
    manifest, files: dict[str, str], *, binaries: dict[str, str]
) -> list[tuple[str, str]]:
    if not isinstance(manifest, dict):
        return [("", "must be a mapping of fields (name, version, inputs, playbooks, ...)")]
    problems = [
        (".".join(str(p) for p in error.path) or _missing_field(error), error.message)
        for error in sorted(_manifest_validator.iter_errors(manifest), key=lambda e: list(e.path))
    ]
    if problems:
        return problems
    problems += [
        (f"inputs.{f}" if f else "inputs", m)
        for f, m in [
            *input_schema.schema_problems(manifest["inputs"]),
            *conditions.problems(manifest["inputs"]),
        ]
    ]
    lifetime = manifest.get("lifetime")
    if lifetime and parse_duration(lifetime["default"]) > parse_duration(lifetime["max"]):
        problems.append(("lifetime.default", "is longer than lifetime.max"))
    if "timeout" in manifest and parse_duration(manifest["timeout"]) > MAX_RUN_TIME:
        problems.append(("timeout", f"must be at most {MAX_RUN_TIME.total_seconds() / 3600:g}h"))
    if "approval" in manifest:
        problems += approval.problems(manifest["approval"], manifest["inputs"])
    if "icon" in manifest and manifest["icon"] not in icons.ICONS:
        problems.append(
            ("icon", f"unknown icon {manifest['icon']!r}; one of: {', '.join(icons.NAMES)}")
        )
    if "changelog" in manifest:
        problems += changelog.problems(manifest["changelog"], manifest["version"])
    for action, playbook in manifest["playbooks"].items():
        message = _playbook_problem(playbook, files, binaries)
        if message:
            problems.append((f"playbooks.{action}", message))
    if "actions" in manifest:
        problems += custom_actions.problems(manifest["actions"], manifest["inputs"])
        for name, spec in manifest["actions"].items():
            if message := _playbook_problem(spec["playbook"], files, binaries):
                problems.append((f"actions.{name}.playbook", message))
    return problems


def _missing_field(error) -> str:
    if error.validator in ("required", "additionalProperties"):
        return str(error.message).split("'")[1]
    return ""


def _playbook_problem(playbook: str, files: dict[str, str], binaries: dict[str, str]) -> str | None:
    pure = PurePosixPath(playbook)
    if pure.is_absolute() or ".." in pure.parts or "\\" in playbook:
        return f"{playbook!r} leaves the template's folder"
    if pure.as_posix() in binaries:
        return f"{playbook!r} is not UTF-8 text"
    if pure.as_posix() not in files:
        return f"{playbook!r} does not exist in the template's folder"
    return None
