"""The ansible-runner wrapper on its own: private data dirs, unsafe extra vars, outcomes."""

import sys
from pathlib import Path

from provisioning.payload import unsafe_yaml
from provisioning.runner import run_playbook

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


SNOOP = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Look for the secrets on the data dir's disk, and for them in the environment
      ansible.builtin.shell: grep -rlF -e "$NEEDLE" "{{ playbook_dir }}/.." || true
      environment: {NEEDLE: "{{ needle }}"}
      register: found
    - ansible.builtin.set_stats:
        data:
          on_disk: "{{ found.stdout_lines }}"
          token_set: "{{ lookup('env', 'API_TOKEN') | length > 0 }}"
          plain: "{{ lookup('env', 'PLAIN') }}"
          file_mode: "{{ lookup('pipe', 'stat -c %a ' ~ lookup('env', 'KUBECONFIG')) }}"
          file_text: "{{ lookup('file', lookup('env', 'KUBECONFIG')) | length }}"
"""


def test_nothing_secret_lies_in_the_data_dir_while_the_run_goes_on(tmp_path):
    from core.access import Injection

    needle = "s3cret-needle"
    injection = Injection(
        env={"API_TOKEN": f"{needle}-token", "PLAIN": "as {private} is"},
        files={"KUBECONFIG": f"apiVersion: v1 # {needle}-file\n"},
        secrets=[f"{needle}-token", f"apiVersion: v1 # {needle}-file\n"],
    )

    result = run_playbook(
        files={"p.yml": SNOOP},
        playbook="p.yml",
        extravars={"needle": needle, "password": f"{needle}-input"},
        on_events=lambda _: None,
        data_root=tmp_path,
        secrets=[f"{needle}-input"],
        injection=injection,
    )

    assert result.ok, result.error
    # Not the extra vars, nor the credentials, nor ansible-runner's command artifact.
    assert result.outputs["on_disk"] == []
    assert result.outputs["token_set"] is True
    assert result.outputs["plain"] == "as {private} is"  # values are never expanded
    assert result.outputs["file_mode"] == "600" and int(result.outputs["file_text"]) > 0


def test_a_sandbox_that_cannot_start_says_why(tmp_path):
    from core.access import Injection

    result = run_playbook(
        files={"play.yml": PLAYBOOK},
        playbook="play.yml",
        extravars={"message": "x"},
        on_events=lambda _: None,
        data_root=tmp_path,
        injection=Injection(ssh_keys=["not a key"]),
    )

    assert not result.ok
    assert "sandbox could not start" in result.error and "SSH key 1" in result.error
    assert list(tmp_path.iterdir()) == []


def test_a_changed_secret_shows_in_the_diff_as_masked_lines(tmp_path):
    play = (
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - name: Write the secret\n"
        "      ansible.builtin.copy: {content: '{{ secret }}', dest: '{{ path }}', mode: '0600'}\n"
    )
    path = str(tmp_path / "secret.txt")

    def run(secret, *, check):
        return run_playbook(
            files={"p.yml": play},
            playbook="p.yml",
            extravars={"secret": secret, "path": path},
            on_events=lambda _: None,
            data_root=tmp_path / "runs",
            check=check,
            secrets=["old-password", "new-password"],
            writable=[tmp_path],
        )

    assert run("old-password\n", check=False).ok
    preview = run("new-password\n", check=True)

    diff = preview.changes[0]["diff"]
    assert "-********" in diff and "+********" in diff
    assert "password" not in diff


def test_a_worker_whose_python_lives_under_tmp_still_runs_in_its_sandbox(tmp_path):
    import subprocess

    from conftest import ROOT

    venv = tmp_path / "venv"  # under /tmp, which the sandbox mounts a tmpfs over
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    (tmp_path / "data" / "project").mkdir(parents=True)
    probe = (
        "import subprocess, sys; sys.path.insert(0, sys.argv[1]); from pathlib import Path; "
        "from provisioning import sandbox; print(sandbox.problem()); "
        "argv = [sys.executable, '-I', '-c', 'print(42)']; "
        "command = sandbox.command(data_dir=Path(sys.argv[2]), writable=[], argv=argv); "
        "print(subprocess.run(command, capture_output=True, text=True).stdout.strip())"
    )

    answer = subprocess.run(
        [str(venv / "bin" / "python"), "-c", probe, str(ROOT / "platform"), str(tmp_path / "data")],
        capture_output=True,
        text=True,
        check=True,
    )

    assert answer.stdout.split() == ["None", "42"], answer.stdout + answer.stderr


SKIPPING = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Only outside check mode
      ansible.builtin.debug: {msg: applied}
      when: not ansible_check_mode
    - name: Run a command
      ansible.builtin.command: {argv: ["true"]}
      changed_when: true
    - name: Run a command per item
      ansible.builtin.command: {argv: [echo, "{{ item }}"]}
      loop: [a, b]
    - name: Never
      ansible.builtin.debug: {msg: never}
      when: false
    - name: Only in check mode, when there is something
      ansible.builtin.debug: {msg: nothing}
      when: ansible_check_mode and false
    - name: Read only
      ansible.builtin.command: {argv: ["true"]}
      check_mode: false
"""


def test_in_check_mode_it_lists_the_tasks_check_mode_skipped_and_not_the_others(tmp_path):
    def run(*, check):
        return run_playbook(
            files={"p.yml": SKIPPING},
            playbook="p.yml",
            extravars={},
            on_events=lambda _: None,
            data_root=tmp_path,
            check=check,
        )

    preview = run(check=True)

    assert preview.ok, preview.error
    assert preview.skipped == [
        {
            "task": "Only outside check mode",
            "host": "localhost",
            "reason": "Its condition keeps it out of check mode: not ansible_check_mode",
        },
        {
            "task": "Run a command",
            "host": "localhost",
            "reason": "Command would have run if not in check mode",
        },
        {
            "task": "Run a command per item",
            "host": "localhost",
            "reason": "Command would have run if not in check mode",
        },
    ]
    assert run(check=False).skipped == []
