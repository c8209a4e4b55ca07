"""A template's changelog, declared in its manifest, newest first as ops write them:

    changelog:
      - version: 1.3.0
        changes:
          - Large databases wait for a platform engineer's approval.
          - New input `description`, stored as the database's comment.
      - version: 1.2.0
        changes: [Connection limit up to 500.]

Each change is one line of Markdown (`code`, *emphasis*, links), rendered safely on the
template's page (core.markdown). An entry may not be newer than the manifest's `version`,
and each version appears once. Pure: no database.
"""

from dataclasses import dataclass

from packaging.version import InvalidVersion, Version

VERSION_PATTERN = r"^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$"
MAX_CHANGE_LENGTH = 1000

SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["version", "changes"],
        "additionalProperties": False,
        "properties": {
            "version": {"type": "string", "pattern": VERSION_PATTERN},
            "changes": {
                "type": "array",
                "minItems": 1,
                "items": {"type": "string", "minLength": 1, "maxLength": MAX_CHANGE_LENGTH},
            },
        },
    },
}


@dataclass(frozen=True)
class Entry:
    version: str
    changes: tuple[str, ...]


def _key(version: str) -> Version:
    try:
        return Version(version)
    except InvalidVersion:  # the schema's pattern lets through only what packaging reads
        return Version("0")


def problems(declared: list[dict], version: str) -> list[tuple[str, str]]:
    """What is wrong with a manifest's (well-shaped) `changelog`, as (field, message)."""
    found = []
    seen: set[str] = set()
    for index, entry in enumerate(declared):
        where = f"changelog.{index}.version"
        if entry["version"] in seen:
            found.append((where, f"{entry['version']} appears more than once"))
        seen.add(entry["version"])
        if _key(entry["version"]) > _key(version):
            found.append((where, f"{entry['version']} is newer than the template's {version}"))
    return found


def entries(declared: list[dict] | None) -> list[Entry]:
    """The changelog's entries, newest first whatever order the manifest gives them in."""
    items = [Entry(e["version"], tuple(e["changes"])) for e in declared or []]
    return sorted(items, key=lambda entry: _key(entry.version), reverse=True)
