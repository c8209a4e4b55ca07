"""The suite itself: `make test-fast` (`-m "not worker and not browser"`) selects no test that
starts the real worker or chromium, whether through a fixture or with a worker process of its
own; the test database is named after DATABASE_URL's, so that runs on one server don't meet."""

import json
import os
import subprocess
import sys
from urllib.parse import urlsplit

from conftest import ROOT

FAST = "not worker and not browser"

# Collects the suite as pytest would with `-m`, and prints the tests selected and those left
# out, each with every fixture it uses, directly or through other fixtures.
COLLECT = """
import json, sys, pytest

class Record:
    selected, deselected = {}, {}

    def pytest_deselected(self, items):
        Record.deselected.update({item.nodeid: sorted(item.fixturenames) for item in items})

    def pytest_collection_finish(self, session):
        Record.selected = {item.nodeid: sorted(item.fixturenames) for item in session.items}

code = pytest.main(
    ["--collect-only", "-q", "-p", "no:cacheprovider", "-m", sys.argv[1]], plugins=[Record()]
)
print("COLLECTED " + json.dumps([Record.selected, Record.deselected]))
sys.exit(code)
"""

# Tests that start worker processes of their own (worker_command, honcho, the bench).
OWN_WORKERS = (
    "tests/test_outages.py::",
    "tests/test_resilience.py::",
    "tests/test_sandbox.py::",
    "tests/test_deploy.py::test_make_run_carries_out_a_request_and_ctrl_c_stops_it_cleanly",
    "tests/test_bench.py::test_it_runs_the_run_overhead_bench",
)


def collected(expression: str) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """The tests `-m expression` selects and those it leaves out: {node id: fixtures}."""
    done = subprocess.run(
        [sys.executable, "-c", COLLECT, expression],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    line = next(line for line in done.stdout.splitlines() if line.startswith("COLLECTED "))
    selected, deselected = json.loads(line.removeprefix("COLLECTED "))
    return selected, deselected


def test_it_leaves_every_test_that_needs_the_worker_or_chromium_out_of_make_test_fast():
    fast, slow = collected(FAST)

    assert fast and slow
    for nodeid, fixtures in fast.items():
        assert not {"worker", "celery_worker", "browser_page"} & set(fixtures), nodeid
        assert not nodeid.startswith(OWN_WORKERS), nodeid
    assert any("celery_worker" in fixtures for fixtures in slow.values())
    assert any("browser_page" in fixtures for fixtures in slow.values())
    for own in OWN_WORKERS:
        assert any(nodeid.startswith(own) for nodeid in slow), own


def test_it_names_the_test_database_after_the_database_of_database_url(db):
    from django.db import connection

    name = urlsplit(os.environ["DATABASE_URL"]).path.lstrip("/")

    assert connection.settings_dict["NAME"] == f"test_{name}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_database()")
        assert cursor.fetchone() == (f"test_{name}",)
