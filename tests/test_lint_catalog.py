"""gangplank-lint and manage.py lint_catalog: a template repository's own CI, without the
platform's database or broker. Real ansible-playbook, ansible-lint and sandboxed runs."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError

from catalog.lint_cli import main
from catalog.lint_fixtures import plan
from catalog.loader import load_folder
from conftest import TEST_CATALOG
from factories import make_service
from provisioning.execution import extravars
from provisioning.models import Service
from provisioning.services import request_service
from testkit import ROOT, free_port

GANGPLANK_LINT = Path(sys.executable).parent / "gangplank-lint"

MANIFEST_YAML = """\
name: Note
description: A text file in the resources folder.
version: 1.0.0
category: testing
inputs:
  type: object
  required: [text]
  properties:
    text: {type: string, title: Text, maxLength: 100}
    token: {type: string, title: Token, format: password}
outputs:
  path: {title: Path}
playbooks: {provision: provision.yml, update: provision.yml, deprovision: deprovision.yml}
"""
MANIFEST = yaml.safe_load(MANIFEST_YAML)

# Passes only inside the workers' sandbox (its PID 1 is bubblewrap, its HOME in its own /tmp),
# given the variables a worker gives.
PROVISION = """\
- name: Write the note
  hosts: localhost
  gather_facts: false
  vars_files:
    - vars/common.yml
  tasks:
    - name: Check that the run is in the workers' sandbox, with their variables
      ansible.builtin.assert:
        that:
          - lookup('ansible.builtin.file', '/proc/1/cmdline') is search('bwrap')
          - lookup('ansible.builtin.env', 'HOME') == '/tmp/gangplank/home'
          - gangplank.keys() | sort == ['action', 'resources_dir', 'run_id', 'service_id',
            'service_name', 'team', 'uses']
        fail_msg: Not run as the workers run it.
        quiet: true

    - name: Write the note
      ansible.builtin.copy:
        dest: "{{ note_path }}"
        content: "{{ text }} ({{ gangplank.action }})\\n"
        mode: "0644"

    - name: Report the path
      ansible.builtin.import_tasks: tasks/report.yml
"""

# Folders tasks/ and vars/, which ansible-lint must not take for a role's.
COMMON = """\
note_path: "{{ gangplank.resources_dir }}/{{ gangplank.team }}-{{ gangplank.service_name }}.txt"
"""
REPORT = """\
- name: Report the path
  ansible.builtin.set_stats:
    data:
      path: "{{ note_path }}"
"""

DEPROVISION = """\
- name: Remove the note
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Remove the note
      ansible.builtin.file:
        path: "{{ gangplank.resources_dir }}/{{ gangplank.team }}-{{ gangplank.service_name }}.txt"
        state: absent
"""

LEAVING = """\
- name: Remove nothing
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Say so
      ansible.builtin.debug:
        msg: The note stays.
"""

VERIFY = """\
- name: Verify that the note is gone
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Look for files in the resources folder
      ansible.builtin.find:
        paths: "{{ gangplank.resources_dir }}"
        recurse: true
        hidden: true
      register: left

    - name: Check that there is none
      ansible.builtin.assert:
        that: left.matched == 0
        fail_msg: "Left behind: {{ left.files | map(attribute='path') | list }}"
        quiet: true
"""

FIXTURE = {"inputs": {"text": "first", "token": "s3cret-token"}, "update": {"text": "second"}}


def write_note(catalog: Path, slug: str = "note", **replaced: str) -> Path:
    """A sound template (it passes every check) in `catalog`, with files `replaced`."""
    files = {
        "template.yml": MANIFEST_YAML,
        "provision.yml": PROVISION,
        "tasks/report.yml": REPORT,
        "vars/common.yml": COMMON,
        "deprovision.yml": DEPROVISION,
        "verify.yml": VERIFY,
        "tests/basic.yml": yaml.safe_dump(FIXTURE),
        **replaced,
    }
    for name, text in files.items():
        path = catalog / slug / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return catalog / slug


def lint_lines(capsys, catalog: Path, *options: str) -> tuple[int, list[str]]:
    code = main([str(catalog), *options])
    return code, capsys.readouterr().out.splitlines()


def errors(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("ERROR")]


def test_it_passes_a_sound_catalogue_without_a_database_or_broker(tmp_path):
    # A slug that is no role name: ansible-lint must not take the folder for a role.
    write_note(tmp_path / "catalog", "team-note")
    # The repository's other files are not templates, and not linted as such.
    workflow = tmp_path / "catalog" / ".github" / "workflows" / "templates.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text(
        "on: [push]\njobs: {lint: {runs-on: x, steps: [{run: gangplank-lint .}]}}\n"
    )
    (tmp_path / "catalog" / "requirements.yml").write_text("collections: [{name: x.y\n")
    closed = free_port()
    env = {
        "PATH": os.environ["PATH"],
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{closed}/nowhere",
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{closed}/0",
    }

    done = subprocess.run(
        [str(GANGPLANK_LINT), "catalog"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout.splitlines()
    assert "OK      team-note: team-note/template.yml: manifest: valid" in out
    assert "OK      team-note: team-note/: syntax-check: 3 playbook(s)" in out
    assert "OK      -: .: ansible-lint (moderate): no finding" in out
    assert (
        "OK      team-note: team-note/tests/basic.yml: fixture tests/basic.yml: "
        "passed: provision, update, deprovision, verify"
    ) in out
    assert out[-1] == "gangplank-lint passed: 1 template(s)"
    assert "s3cret-token" not in done.stdout


def test_it_runs_fixtures_in_the_workers_sandbox_and_fails_them_outside_it(tmp_path, capsys):
    write_note(tmp_path)

    code, lines = lint_lines(capsys, tmp_path, "--no-ansible-lint", "--no-sandbox")

    assert code == 1
    assert errors(lines) == [
        "ERROR   note: note/provision.yml: fixture tests/basic.yml: provision: "
        "Check that the run is in the workers' sandbox, with their variables: "
        "Not run as the workers run it."
    ]


def test_it_fails_a_broken_manifest_and_names_its_file_and_field(tmp_path, capsys):
    write_note(tmp_path)
    broken = {**MANIFEST, "playbooks": {"provision": "provision.yml"}}
    write_note(tmp_path, "broken", **{"template.yml": yaml.safe_dump(broken)})

    code, lines = lint_lines(capsys, tmp_path, "--no-ansible-lint", "--no-fixtures")

    assert code == 1
    assert errors(lines) == [
        "ERROR   broken: broken/template.yml: manifest: playbooks: 'update' is a required property",
        "ERROR   broken: broken/template.yml: manifest: playbooks: "
        "'deprovision' is a required property",
    ]
    assert "OK      note: note/template.yml: manifest: valid" in lines
    assert lines[-1] == "gangplank-lint FAILED: 2 template(s), 2 error(s) in broken"


def test_it_fails_a_playbook_with_a_syntax_error_and_names_the_playbook(tmp_path, capsys):
    bad = DEPROVISION.replace("        state: absent\n", "        state: absent\n      bogus: 1\n")
    write_note(tmp_path, **{"deprovision.yml": bad})

    code, lines = lint_lines(capsys, tmp_path, "--no-ansible-lint", "--no-fixtures")

    assert code == 1
    [error] = errors(lines)
    assert error.startswith("ERROR   note: note/deprovision.yml: syntax-check: ")
    assert "conflicting action statements" in error


def test_it_reports_ansible_lint_findings_with_file_and_line(tmp_path, capsys):
    unnamed = DEPROVISION.replace("    - name: Remove the note\n", "    -\n")
    write_note(tmp_path, **{"deprovision.yml": unnamed})

    code, lines = lint_lines(capsys, tmp_path, "--no-fixtures")

    assert code == 1
    assert errors(lines) == [
        "ERROR   note: note/deprovision.yml:6: ansible-lint (moderate): "
        "name[missing]: All tasks should be named."
    ]


def test_the_profile_decides_which_ansible_lint_rules_apply(tmp_path, capsys):
    unnamed = DEPROVISION.replace("    - name: Remove the note\n", "    -\n")
    write_note(tmp_path, **{"deprovision.yml": unnamed})

    code, lines = lint_lines(capsys, tmp_path, "--no-fixtures", "--profile", "min")

    assert code == 0, lines
    assert "OK      -: .: ansible-lint (min): no finding" in lines


def test_it_fails_a_fixture_whose_run_fails_and_names_the_step(tmp_path, capsys):
    failing = PROVISION.replace(
        "    - name: Write the note\n      ansible.builtin.copy:",
        "    - name: Refuse\n      ansible.builtin.fail:\n        msg: No notes today.\n\n"
        "    - name: Write the note\n      ansible.builtin.copy:",
    )
    write_note(tmp_path, **{"provision.yml": failing})

    code, lines = lint_lines(capsys, tmp_path, "--no-ansible-lint")

    assert code == 1
    assert errors(lines) == [
        "ERROR   note: note/provision.yml: fixture tests/basic.yml: provision: "
        "Refuse: No notes today."
    ]


def test_it_fails_when_verify_finds_what_deprovision_left(tmp_path, capsys):
    write_note(tmp_path, **{"deprovision.yml": LEAVING})

    code, lines = lint_lines(capsys, tmp_path, "--no-ansible-lint")

    assert code == 1
    [error] = errors(lines)
    assert error.startswith(
        "ERROR   note: note/verify.yml: fixture tests/basic.yml: verify: "
        "deprovision left something behind: Check that there is none: Left behind: ["
    )
    assert "/lint-lint-basic.txt" in error


def test_it_refuses_a_fixture_whose_inputs_the_template_refuses(tmp_path, capsys):
    fixture = {"inputs": {"txt": "typo"}}
    write_note(tmp_path, **{"tests/basic.yml": yaml.safe_dump(fixture)})

    code, lines = lint_lines(capsys, tmp_path, "--no-ansible-lint")

    assert code == 1
    assert errors(lines) == [
        "ERROR   note: note/tests/basic.yml: fixture tests/basic.yml: "
        "inputs.text: This input is required.",
        "ERROR   note: note/tests/basic.yml: fixture tests/basic.yml: inputs.txt: Unknown input.",
    ]


def test_it_skips_fixtures_of_templates_that_reach_hosts_or_need_credentials(tmp_path, capsys):
    manifest = {**MANIFEST, "credentials": ["deploy-key"]}
    write_note(tmp_path, **{"template.yml": yaml.safe_dump(manifest)})

    code, lines = lint_lines(capsys, tmp_path, "--no-ansible-lint")

    assert code == 0, lines
    assert (
        "SKIPPED note: note/tests/: fixtures: not run offline: the template needs the "
        "platform's credentials deploy-key"
    ) in lines
    assert (
        "SKIPPED note: note/template.yml: manifest: not checked without the platform's "
        "database: that the credentials deploy-key exist; that version 1.0.0 was not "
        "published with other files"
    ) in lines


def test_the_manage_py_command_runs_without_a_database(tmp_path):
    write_note(tmp_path, "broken", **{"template.yml": "name: [unclosed\n"})
    closed = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{closed}/nowhere",
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{closed}/0",
    }
    command = [sys.executable, str(ROOT / "manage.py"), "lint_catalog"]
    options = ["--no-ansible-lint", "--no-fixtures"]

    good = subprocess.run(
        [*command, str(ROOT / "playbooks"), *options], env=env, capture_output=True, text=True
    )
    bad = subprocess.run(
        [*command, str(tmp_path), *options], env=env, capture_output=True, text=True
    )

    assert good.returncode == 0, good.stdout + good.stderr
    assert "OK      static-site: static-site/template.yml: manifest: valid" in good.stdout
    assert bad.returncode == 1
    assert "ERROR   broken: broken/template.yml: manifest: is not valid YAML" in bad.stdout
    assert "CommandError: 1 error(s) in the catalogue" in bad.stderr


def test_call_command_raises_on_errors(tmp_path):
    write_note(tmp_path, "broken", **{"template.yml": "name: [unclosed\n"})

    with pytest.raises(CommandError, match="1 error"):
        call_command("lint_catalog", str(tmp_path), "--no-ansible-lint", "--no-fixtures")


def test_an_ansible_lint_that_cannot_run_fails_the_lint_and_says_why(tmp_path, capsys):
    write_note(tmp_path)
    (tmp_path / ".ansible-lint").write_text("skip_list: [name[missing]]\n")

    code, lines = lint_lines(capsys, tmp_path, "--no-fixtures")

    assert code == 1
    [error] = errors(lines)
    assert error.startswith("ERROR   -: .: ansible-lint (moderate): did not run (rc 1): ")
    assert "yaml.parser.ParserError: while parsing a flow sequence" in error


@pytest.mark.django_db
def test_a_fixture_run_gets_its_variables_in_the_shape_a_worker_gives(
    catalog, teams, owner, settings
):
    db = make_service(template=catalog["provider"], team=teams["alpha"], name="orders-db")
    Service.objects.filter(pk=db.pk).update(outputs={"dsn": "postgres://db.example/orders"})
    inputs = {"database": str(db.pk), "label": "x"}
    app = request_service(
        user=owner, template=catalog["consumer"], team=teams["alpha"], name="app", inputs=inputs
    )
    folder = load_folder(TEST_CATALOG / "consumer")
    fixture = {"inputs": inputs, "uses": {"database": {"dsn": "postgres://db.example/orders"}}}
    folder.files["tests/basic.yml"] = yaml.safe_dump(fixture)

    steps, _ = plan(folder, "tests/basic.yml", resources_dir=Path(settings.RESOURCES_DIR))
    given = steps[0].extravars
    worker = extravars(app.last_run, secrets={})

    assert [step.name for step in steps] == ["provision", "update", "deprovision"]
    # The same variables, but for who the service is: the lint's is no service of a team.
    own = {"service_id", "service_name", "team", "run_id"}
    assert {k: v for k, v in given.items() if k != "gangplank"} == {
        k: v for k, v in worker.items() if k != "gangplank"
    }
    assert {k: v for k, v in given["gangplank"].items() if k not in own} == {
        k: v for k, v in worker["gangplank"].items() if k not in own
    }
    assert given["gangplank"].keys() == worker["gangplank"].keys()
    assert (
        given["gangplank"]["team"] == "lint" and given["gangplank"]["service_name"] == "lint-basic"
    )


SHOUT_MODULE = """\
from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec={"text": {"type": "str", "required": True}})
    module.exit_json(changed=False, shouted=module.params["text"].upper())


if __name__ == "__main__":
    main()
"""

SHOUTING = """\
- name: Write the note, shouted
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Shout the text
      mycorp.loud.shout:
        text: "{{ text }}"
      register: said

    - name: Write the note
      ansible.builtin.copy:
        dest: "{{ gangplank.resources_dir }}/{{ gangplank.team }}-{{ gangplank.service_name }}.txt"
        content: "{{ said.shouted }}\\n"
        mode: "0644"
"""


def test_it_installs_a_templates_requirements_for_its_checks_and_fixtures(tmp_path, capsys):
    collection = "vendor/loud"
    write_note(
        tmp_path,
        **{
            "provision.yml": SHOUTING,
            "requirements.yml": f"collections:\n  - {{name: {collection}, type: dir}}\n",
            f"{collection}/galaxy.yml": "namespace: mycorp\nname: loud\nversion: 1.0.0\n"
            "readme: README.md\nauthors: [tests]\n",
            f"{collection}/README.md": "# loud\n",
            f"{collection}/meta/runtime.yml": "requires_ansible: '>=2.15.0'\n",
            f"{collection}/plugins/modules/shout.py": SHOUT_MODULE,
        },
    )

    code, lines = lint_lines(capsys, tmp_path, "--no-ansible-lint")

    assert errors(lines) == [] and code == 0
    assert "OK      note: note/requirements.yml: requirements: installed" in lines
    assert any("fixture tests/basic.yml: passed" in line for line in lines)


def test_it_fails_a_template_whose_requirements_cannot_be_met(tmp_path, capsys):
    write_note(tmp_path, **{"requirements.yml": "collections:\n  - mycorp.nowhere\n"})
    closed = f"http://127.0.0.1:{free_port()}/"

    code, lines = lint_lines(capsys, tmp_path, "--no-ansible-lint", "--galaxy-server", closed)

    assert code == 1
    (error,) = errors(lines)
    assert error.startswith("ERROR   note: note/requirements.yml: requirements: ")
    assert not any("fixture" in line for line in lines)
