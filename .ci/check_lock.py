"""Fail when requirements.lock no longer satisfies pyproject.toml.

Every runtime dependency and every one of the `dev` extra must be pinned in the lock at a
version its specifier allows; otherwise someone added or changed a dependency without
running `make lock`, and the message says so. `make install` runs it before installing.
"""

import argparse
import re
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.MULTILINE)
# The lock's target (see LOCK_FLAGS in the Makefile): markers are judged for it.
TARGET = {
    "python_version": "3.11",
    "python_full_version": "3.11.0",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "os_name": "posix",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
}


def pins(lock_text: str) -> dict[str, Version]:
    """The lock's pinned versions by canonical package name."""
    return {canonicalize_name(name): Version(version) for name, version in PIN.findall(lock_text)}


def problems(*, pyproject: Path, lock: Path) -> list[str]:
    """What the lock fails to satisfy, one line per dependency; empty when it is in step."""
    project = tomllib.loads(pyproject.read_text())["project"]
    wanted = [*project["dependencies"], *project.get("optional-dependencies", {}).get("dev", [])]
    pinned = pins(lock.read_text())
    found = []
    for line in wanted:
        requirement = Requirement(line)
        if requirement.marker and not requirement.marker.evaluate({**TARGET, "extra": "dev"}):
            continue
        version = pinned.get(canonicalize_name(requirement.name))
        if version is None:
            found.append(f"{requirement} is not in {lock.name}")
        elif not requirement.specifier.contains(version, prereleases=True):
            found.append(f"{requirement} does not allow the locked {requirement.name}=={version}")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pyproject", type=Path, default=ROOT / "pyproject.toml")
    parser.add_argument("--lock", type=Path, default=ROOT / "requirements.lock")
    args = parser.parse_args()
    found = problems(pyproject=args.pyproject, lock=args.lock)
    if found:
        print(f"{args.lock.name} is out of step with {args.pyproject.name}:", file=sys.stderr)
        for line in found:
            print(f"  {line}", file=sys.stderr)
        print("Run `make lock` and commit the lock files.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
