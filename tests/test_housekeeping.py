"""Beat's sweep of the private data dirs a killed worker left behind."""

import os
import time
from pathlib import Path

import pytest

from factories import make_service
from provisioning import housekeeping
from provisioning.runner import data_dir_label, run_of_data_dir, run_playbook


@pytest.fixture
def runs_dir(settings, tmp_path):
    settings.RUNS_DIR = tmp_path / "runs"
    settings.GANGPLANK_RUN_LOST_AFTER_SECONDS = 60
    settings.RUNS_DIR.mkdir()
    return settings.RUNS_DIR


def data_dir(root, run_id, *, age: float):
    path = root / f"{data_dir_label(run_id)}-x1y2"
    (path / "project").mkdir(parents=True)
    then = time.time() - age
    os.utime(path, (then, then))
    return path


def test_it_removes_the_dir_of_a_run_that_has_ended(catalog, teams, runs_dir):
    run = make_service(template=catalog["echo"], team=teams["alpha"], name="gone").last_run
    path = data_dir(runs_dir, run.pk, age=120)

    assert housekeeping.remove_leftover_data_dirs() == 1
    assert not path.exists()


def test_it_keeps_the_dir_of_a_running_run(catalog, teams, runs_dir):
    run = make_service(template=catalog["echo"], team=teams["alpha"], name="busy").last_run
    run.status = "running"
    run.save(update_fields=["status"])
    path = data_dir(runs_dir, run.pk, age=3600)

    assert housekeeping.remove_leftover_data_dirs() == 0
    assert path.is_dir()


def test_it_keeps_a_young_dir_and_what_is_not_a_run_dir(catalog, teams, runs_dir):
    run = make_service(template=catalog["echo"], team=teams["alpha"], name="new").last_run
    young = data_dir(runs_dir, run.pk, age=5)
    other = runs_dir / "notes"
    other.mkdir()
    os.utime(other, (0, 0))

    assert housekeeping.remove_leftover_data_dirs() == 0
    assert young.is_dir() and other.is_dir()


def test_it_leads_a_data_dir_the_runner_made_back_to_its_run(tmp_path):
    playbook = """
- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.set_stats: {data: {data_dir: "{{ playbook_dir | dirname }}"}}
"""
    result = run_playbook(
        files={"play.yml": playbook},
        playbook="play.yml",
        extravars={},
        on_events=lambda events: None,
        data_root=tmp_path,
        label=data_dir_label(42),
    )

    assert result.ok
    assert run_of_data_dir(Path(result.outputs["data_dir"]).name) == 42
    assert run_of_data_dir("run-42") is None and run_of_data_dir("notes") is None
