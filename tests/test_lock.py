"""The lock files: `make install` installs from them, and refuses a lock that pyproject.toml
has moved past (a dependency added or raised without `make lock`)."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECK = ROOT / ".ci" / "check_lock.py"
PYPROJECT = ROOT / "pyproject.toml"


def check(pyproject: Path = PYPROJECT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(CHECK), "--pyproject", str(pyproject)],
        capture_output=True,
        text=True,
        check=False,
    )


def with_dev_dependency(tmp_path: Path, line: str) -> Path:
    text = PYPROJECT.read_text()
    dev = "dev = [\n"
    assert dev in text
    changed = tmp_path / "pyproject.toml"
    changed.write_text(text.replace(dev, f'{dev}    "{line}",\n', 1))
    return changed


def test_it_finds_the_committed_lock_in_step_with_pyproject():
    result = check()
    assert result.returncode == 0, result.stderr


def test_it_names_a_dependency_added_without_relocking(tmp_path):
    result = check(with_dev_dependency(tmp_path, "a-package-nobody-locked>=1.0"))
    assert result.returncode == 1
    assert "a-package-nobody-locked>=1.0 is not in requirements.lock" in result.stderr
    assert "Run `make lock`" in result.stderr


def test_it_names_a_lower_bound_raised_past_the_locked_version(tmp_path):
    result = check(with_dev_dependency(tmp_path, "Django>=99"))
    assert result.returncode == 1
    assert "Django>=99 does not allow the locked Django==" in result.stderr


def test_it_ignores_a_dependency_whose_marker_excludes_the_locked_platform(tmp_path):
    result = check(with_dev_dependency(tmp_path, "pywin32>=300; sys_platform == 'win32'"))
    assert result.returncode == 0, result.stderr


def test_it_pins_every_package_with_its_hashes_and_a_setuptools_that_has_pkg_resources():
    for name in ("requirements.lock", "requirements-build.lock"):
        entries = re.split(r"\n(?=[A-Za-z0-9])", (ROOT / name).read_text())
        pins = [entry for entry in entries if re.match(r"[A-Za-z0-9][^ ]*==", entry)]
        assert len(pins) == len(entries) - 1, name  # all but the header
        unhashed = [entry.split()[0] for entry in pins if "--hash=sha256:" not in entry]
        assert unhashed == [], name
    build = (ROOT / "requirements-build.lock").read_text()
    setuptools = re.search(r"^setuptools==(\d+)\.", build, re.MULTILINE)
    assert setuptools and int(setuptools[1]) < 81
