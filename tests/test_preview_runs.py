"""A preview you can act on, with the real worker and the example Developer workspace: renaming
its branch is a command, which check mode skips; the preview says it could not predict it,
and applying the preview renames the branch. Then the preview's raw log."""

import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import request_via_api, wait_for_run

pytestmark = pytest.mark.worker


@pytest.fixture
def no_workspace(settings):
    """No folder left for the workspace `branchy` (by an earlier session, whose service had
    another id: the template would refuse to take it over), and none left after."""
    path = Path(settings.RESOURCES_DIR) / "workspaces" / "alpha" / "branchy"
    shutil.rmtree(path, ignore_errors=True)
    yield
    shutil.rmtree(path, ignore_errors=True)


def test_a_preview_says_what_check_mode_skipped_and_applying_it_does_that_too(
    no_workspace, worker, catalog, api, client, owner
):
    created = request_via_api(
        api, "dev-workspace", "branchy", {"default_branch": "main", "with_venv": False}
    )
    assert wait_for_run(api, created["last_run"]["id"])["status"] == "succeeded"
    path = Path(api.get(f"/api/services/{created['id']}/").json()["outputs"]["path"])

    response = api.post(
        f"/api/services/{created['id']}/preview/",
        {"inputs": {"default_branch": "trunk", "description": "Trunk-based"}},
        format="json",
    )
    assert response.status_code == 202, response.json()
    preview = wait_for_run(api, response.json()["id"])

    assert preview["status"] == "succeeded", preview
    assert "Write the README" in [change["task"] for change in preview["changes"]]
    skipped = {task["task"]: task for task in preview["skipped_tasks"]}
    assert skipped["Rename the current branch"] == {
        "task": "Rename the current branch",
        "host": "localhost",
        "reason": "Command would have run if not in check mode",
    }
    # Skipped by its own condition (no email asked for), in any mode: predicted.
    assert "Set the git user email" not in skipped
    assert branch(path) == "main"

    response = api.post(f"/api/runs/{preview['id']}/apply/")
    assert response.status_code == 202, response.json()
    applied = wait_for_run(api, response.json()["id"])

    assert (applied["action"], applied["status"], applied["preview"]) == (
        "update",
        "succeeded",
        preview["id"],
    )
    assert applied["inputs"] == preview["inputs"]
    assert applied["skipped_tasks"] == []
    assert branch(path) == "trunk"
    assert api.get(f"/api/services/{created['id']}/").json()["outputs"]["branch"] == "trunk"
    assert api.post(f"/api/runs/{preview['id']}/apply/").status_code == 409

    # The preview's log as plain text, in the portal and the API.
    client.force_login(owner)
    text = client.get(f"/runs/{preview['id']}/log.txt").content.decode()
    assert "TASK [Rename the current branch]" in text and "\x1b" not in text and "\r" not in text
    saved = client.get(f"/runs/{preview['id']}/download/")
    assert saved["Content-Disposition"] == f"attachment; filename=run-{preview['id']}.log"
    assert saved.content.decode() == text
    assert api.get(f"/api/runs/{preview['id']}/log/").content.decode() == text


def branch(path: Path) -> str:
    return subprocess.run(
        ["git", "-C", str(path), "symbolic-ref", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
