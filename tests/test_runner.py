"""The ansible-runner wrapper on its own: private data dirs, unsafe extra vars, outcomes."""

import sys
from pathlib import Path

from provisioning.runner import run_playbook, unsafe_yaml

PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.stat: {path: "{{ playbook_dir }}/.."}
      register: data_dir
    - ansible.builtin.debug: msg="{{ message }}"
    - ansible.builtin.set_stats:
        data:
          echo: "{{ message }}"
          python: "{{ ansible_python_interpreter }}"
          data_dir: "{{ data_dir.stat.path }}"
          mode: "{{ data_dir.stat.mode }}"
"""


def test_it_runs_in_a_private_data_dir_that_is_removed_after(tmp_path):
    batches = []

    result = run_playbook(
        files={"play.yml": PLAYBOOK},
        playbook="play.yml",
        extravars={"message": "hi"},
        on_events=batches.append,
        data_root=tmp_path,
    )

    assert result.ok and result.rc == 0
    assert result.outputs["echo"] == "hi"
    assert result.outputs["mode"] == "0700"
    assert Path(result.outputs["data_dir"]).resolve().parent == tmp_path.resolve()
    assert list(tmp_path.iterdir()) == []
    assert result.outputs["python"] == sys.executable


def test_it_hands_over_events_in_batches_in_order(tmp_path):
    batches = []

    run_playbook(
        files={"play.yml": PLAYBOOK},
        playbook="play.yml",
        extravars={"message": "x"},
        on_events=batches.append,
        data_root=tmp_path,
    )

    counters = [event["counter"] for batch in batches for event in batch]
    assert counters == list(range(1, len(counters) + 1))
    assert len(batches) < len(counters)
    assert batches[-1][-1]["event"] == "playbook_on_stats"


def test_strings_are_unsafe_so_never_templated(tmp_path):
    literal = "{{ lookup('pipe', 'echo pwned') }}"

    result = run_playbook(
        files={"play.yml": PLAYBOOK},
        playbook="play.yml",
        extravars={"message": literal},
        on_events=lambda _: None,
        data_root=tmp_path,
    )

    assert result.outputs["echo"] == literal


def test_the_extra_vars_file_tags_every_string_value():
    text = unsafe_yaml({"name": "x", "n": 3, "ok": True, "nested": {"list": ["y"]}})

    assert 'name: !unsafe "x"' in text and "n: 3" in text and "ok: true" in text
    assert '- !unsafe "y"' in text
    assert "nested:\n  list:\n" in text  # keys name variables and stay plain


def test_a_failed_task_is_the_error(tmp_path):
    play = (
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n"
        '    - name: Break\n      ansible.builtin.fail: {msg: "nope"}\n'
    )

    result = run_playbook(
        files={"p.yml": play},
        playbook="p.yml",
        extravars={},
        on_events=lambda _: None,
        data_root=tmp_path,
    )

    assert not result.ok and result.status == "failed" and result.rc == 2
    assert result.error == "Break: nope"
    assert list(tmp_path.iterdir()) == []


def test_a_broken_playbook_fails_cleanly(tmp_path):
    result = run_playbook(
        files={"p.yml": "- hosts: [unclosed"},
        playbook="p.yml",
        extravars={},
        on_events=lambda _: None,
        data_root=tmp_path,
    )

    assert not result.ok and result.rc not in (0, None)
    assert list(tmp_path.iterdir()) == []
