"""A template's requirements.yml: collections and roles installed by the sync with the real
`ansible-galaxy`, offline (a collection the suite builds itself, a collection folder and a
role folder the template ships), and used, read-only, by every run of that version."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from catalog import galaxy
from catalog.loader import load_folder
from catalog.models import Template
from catalog.services import sync_catalog
from conftest import free_port, request_via_api, wait_for_run, write_template
from provisioning.runner import run_playbook

SLUG = "toolbox"
ACTIONS = ("provision", "update", "deprovision")
BIN = Path(sys.executable).parent

GREET = """
from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec={"name": {"type": "str", "required": True}})
    module.exit_json(changed=False, greeting="Hello, %s!" % module.params["name"])


if __name__ == "__main__":
    main()
"""
SHOUT = GREET.replace('"Hello, %s!" % module.params["name"]', 'module.params["name"].upper()')
SHOUT = SHOUT.replace("greeting=", "shouted=")

PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  vars:
    content: "{{ lookup('env', 'ANSIBLE_COLLECTIONS_PATH').split(':')[0] | dirname }}"
  tasks:
    - name: Greet with the built collection's module
      mycorp.tools.greet: {name: "{{ gangplank.team }}"}
      register: greeted
    - name: Shout with the folder collection's module
      mycorp.extras.shout: {name: "{{ gangplank.service_name }}"}
      register: shouted
    - name: Use the role
      ansible.builtin.include_role: {name: greeter}
    - name: Try to change what was installed
      ansible.builtin.copy: {content: "tampered", dest: "{{ content }}/collections/intruder"}
      ignore_errors: true
      register: tampering
    - ansible.builtin.set_stats:
        data:
          greeting: "{{ greeted.greeting }}"
          shouted: "{{ shouted.shouted }}"
          role: "{{ greeter_said }}"
          content: "{{ content }}"
          tampered: "{{ not tampering.failed }}"
"""

REQUIREMENTS = {
    "collections": [
        {"name": "vendor/mycorp-tools-1.0.0.tar.gz", "type": "file"},
        {"name": "./vendor/extras", "type": "dir"},
    ],
    "roles": [{"src": "vendor/greeter-role", "name": "greeter"}],
}


def _galaxy(*args: str, cwd: Path) -> None:
    env = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(cwd), "LANG": "C.UTF-8"}
    subprocess.run([str(BIN / "ansible-galaxy"), *args], cwd=cwd, env=env, check=True,
                   capture_output=True)  # fmt: skip


@pytest.fixture(scope="module")
def tarball(tmp_path_factory) -> Path:
    """mycorp.tools 1.0.0, made with `ansible-galaxy collection init` and `build`: its module
    `greet` says hello."""
    work = tmp_path_factory.mktemp("collection")
    _galaxy("collection", "init", "mycorp.tools", "--init-path", "src", cwd=work)
    source = work / "src" / "mycorp" / "tools"
    (source / "plugins" / "modules").mkdir(parents=True, exist_ok=True)
    (source / "plugins" / "modules" / "greet.py").write_text(GREET)
    _galaxy("collection", "build", str(source), "--output-path", "dist", cwd=work)
    return work / "dist" / "mycorp-tools-1.0.0.tar.gz"


def write_toolbox(root: Path, tarball: Path, *, requirements: dict = REQUIREMENTS) -> Path:
    """The template: the built tarball, a collection folder, a role folder, a playbook
    using all three."""
    folder = write_template(root, SLUG, properties={})
    (folder / "p.yml").write_text(PLAYBOOK)
    (folder / "requirements.yml").write_text(yaml.safe_dump(requirements))
    vendor = folder / "vendor"
    vendor.mkdir()
    shutil.copy(tarball, vendor / tarball.name)
    extras = vendor / "extras"
    (extras / "plugins" / "modules").mkdir(parents=True)
    (extras / "meta").mkdir()
    (extras / "galaxy.yml").write_text(
        "namespace: mycorp\nname: extras\nversion: 0.1.0\nreadme: README.md\nauthors: [tests]\n"
    )
    (extras / "README.md").write_text("# extras\n")
    (extras / "meta" / "runtime.yml").write_text("requires_ansible: '>=2.15.0'\n")
    (extras / "plugins" / "modules" / "shout.py").write_text(SHOUT)
    role = vendor / "greeter-role"
    (role / "tasks").mkdir(parents=True)
    (role / "meta").mkdir()
    (role / "meta" / "main.yml").write_text(
        "galaxy_info: {author: tests, description: greets, license: MIT}\ndependencies: []\n"
    )
    (role / "tasks" / "main.yml").write_text(
        "- ansible.builtin.set_fact: {greeter_said: hi from the role}\n"
    )
    return folder


@pytest.fixture
def installed(settings):
    """The collections folder of the toolbox template, emptied before and after."""
    path = Path(settings.COLLECTIONS_DIR) / SLUG
    shutil.rmtree(path, ignore_errors=True)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def problems(report, slug=SLUG) -> list[tuple[str, str, str]]:
    return [(p["file"], p["field"], p["message"]) for p in report.problems
            if p["file"].startswith(f"{slug}/")]  # fmt: skip


def test_it_runs_a_playbook_with_the_collections_and_the_role_the_template_ships(
    worker, api, tmp_path, tarball, installed
):
    write_toolbox(tmp_path, tarball)
    report = sync_catalog(directory=tmp_path)
    assert report.problems == [] and report.created == [SLUG]
    version = Template.objects.get(slug=SLUG).current_version
    content = version.content_path
    assert content is not None and content.parent == installed
    assert (content / "collections/ansible_collections/mycorp/tools/plugins/modules").is_dir()
    assert (content / "roles/greeter/tasks/main.yml").is_file()
    assert "vendor/mycorp-tools-1.0.0.tar.gz" not in version.files  # binary: not stored

    created = request_via_api(api, SLUG, "tools-1", {})
    run = wait_for_run(api, created["last_run"]["id"])

    assert run["status"] == "succeeded", run["error"]
    assert run["outputs"] == {
        "greeting": "Hello, alpha!",
        "shouted": "TOOLS-1",
        "role": "hi from the role",
        "content": str(content),
        "tampered": False,  # the sandbox sees it read-only
    }
    assert not (content / "collections" / "intruder").exists()


def test_a_run_of_a_version_whose_collections_are_missing_fails_readably(
    worker, api, tmp_path, tarball, installed
):
    write_toolbox(tmp_path, tarball)
    sync_catalog(directory=tmp_path)
    shutil.rmtree(installed)

    created = request_via_api(api, SLUG, "tools-2", {})
    run = wait_for_run(api, created["last_run"]["id"])

    assert run["status"] == "failed"
    assert "collections and roles of this template version are not installed" in run["error"]
    assert "a sync of the catalogue on this host installs them again" in run["error"]


@pytest.mark.django_db
def test_a_sync_installs_a_missing_path_again_and_a_second_sync_changes_nothing(
    tmp_path, tarball, installed
):
    write_toolbox(tmp_path, tarball)
    sync_catalog(directory=tmp_path)
    content = Template.objects.get(slug=SLUG).current_version.content_path
    marker = content / "roles" / "marker"
    marker.write_text("kept")

    sync_catalog(directory=tmp_path)
    assert marker.exists()  # not installed twice
    shutil.rmtree(installed)
    report = sync_catalog(directory=tmp_path)

    assert report.problems == [] and report.created == report.updated == []
    assert (content / "collections/ansible_collections/mycorp/extras").is_dir()
    assert list(installed.iterdir()) == [content]  # no staging folder left


def test_without_the_sandbox_the_run_uses_them_too(tmp_path, tarball):
    folder = write_toolbox(tmp_path / "catalog", tarball)
    content = tmp_path / "installed"
    galaxy.install(folder=folder, dest=content)
    play = PLAYBOOK.replace("gangplank.team", "'ops'").replace("gangplank.service_name", "'x'")

    result = run_playbook(
        files={"p.yml": play},
        playbook="p.yml",
        extravars={},
        on_events=lambda _: None,
        data_root=tmp_path / "runs",
        sandboxed=False,
        content=content,
    )

    assert result.ok, result.error
    assert result.outputs["greeting"] == "Hello, ops!" and result.outputs["role"]


@pytest.mark.django_db
def test_a_requirement_that_cannot_be_met_is_the_templates_error(
    tmp_path, tarball, installed, settings
):
    settings.GANGPLANK_GALAXY_SERVER = f"http://127.0.0.1:{free_port()}/"  # nobody answers
    wanted = {**REQUIREMENTS, "collections": [*REQUIREMENTS["collections"], "community.absent"]}
    write_toolbox(tmp_path, tarball, requirements=wanted)
    write_template(tmp_path, "plain")

    report = sync_catalog(directory=tmp_path)

    [(file, field, message)] = problems(report)
    assert (file, field) == (f"{SLUG}/requirements.yml", "")
    assert message.startswith("ansible-galaxy collection install failed: [ERROR]:")
    assert "Connection refused" in message
    assert Template.objects.get(slug=SLUG).current_version is None
    assert Template.objects.get(slug="plain").is_requestable  # the others load
    assert not installed.exists() or list(installed.iterdir()) == []  # nothing half installed


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ({"name": "vendor/missing.tar.gz", "type": "file"}, "does not exist in the template"),
        ({"name": "../toolbox-2/x.tar.gz", "type": "file"}, "leaves the template's folder"),
        ({"name": "/etc", "type": "dir"}, "leaves the template's folder"),
        ({"name": "https://example.com/c.tar.gz", "type": "url"}, "type: url"),
        ({"name": "https://example.com/c.git", "type": "git"}, "type: git"),
    ],
)
def test_a_local_source_that_is_missing_or_leaves_the_folder_is_the_templates_error(
    tmp_path, tarball, installed, entry, words
):
    wanted = {**REQUIREMENTS, "collections": [entry, *REQUIREMENTS["collections"]]}
    write_toolbox(tmp_path, tarball, requirements=wanted)
    write_template(tmp_path, "plain")

    report = sync_catalog(directory=tmp_path)

    [(file, field, message)] = problems(report)
    assert file == f"{SLUG}/requirements.yml" and field.startswith("collections[0].")
    assert words in message
    assert not installed.exists()  # refused before ansible-galaxy ran
    assert Template.objects.get(slug="plain").is_requestable


@pytest.mark.django_db
def test_a_galaxy_server_other_than_the_deployments_is_refused(tmp_path, tarball, installed):
    evil = {"name": "evil.tools", "source": "https://galaxy.example.net/"}
    wanted = {**REQUIREMENTS, "collections": [evil, *REQUIREMENTS["collections"]]}
    write_toolbox(tmp_path, tarball, requirements=wanted)

    report = sync_catalog(directory=tmp_path)

    [(_, field, message)] = problems(report)
    assert field == "collections[0].source"
    assert "is not this deployment's Galaxy server (https://galaxy.ansible.com)" in message
    assert not installed.exists()


@pytest.mark.django_db
def test_a_tarball_changed_without_a_version_bump_is_refused(tmp_path, tarball, installed):
    folder = write_toolbox(tmp_path, tarball)
    sync_catalog(directory=tmp_path)
    before = Template.objects.get(slug=SLUG).current_version
    shipped = folder / "vendor" / tarball.name
    shipped.write_bytes(shipped.read_bytes() + b"\x00tampered")

    report = sync_catalog(directory=tmp_path)

    assert [(f, m) for f, _, m in problems(report) if f] == [
        (
            f"{SLUG}/template.yml",
            "the files changed but version 1.0.0 was already published; bump the version",
        )
    ]
    template = Template.objects.get(slug=SLUG)
    assert template.current_version == before and template.is_broken
    assert [path.name for path in installed.iterdir()] == [before.content_path.name]


def test_binary_files_stay_out_of_the_files_but_count_in_the_digest(tmp_path, tarball):
    folder = write_toolbox(tmp_path, tarball)
    loaded = load_folder(folder)
    name = f"vendor/{tarball.name}"

    assert loaded.ok, loaded.problems
    assert name not in loaded.files and "vendor/extras/galaxy.yml" in loaded.files
    assert set(loaded.binaries) == {name}
    (folder / name).write_bytes(b"\x8b other bytes")
    assert load_folder(folder).digest != loaded.digest


def test_a_folder_without_binaries_keeps_the_digest_it_always_had(tmp_path):
    import hashlib
    import json

    loaded = load_folder(write_template(tmp_path, "plain"))

    expected = hashlib.sha256(json.dumps(loaded.files, sort_keys=True).encode()).hexdigest()
    assert loaded.binaries == {} and loaded.digest == expected


def test_the_size_limits_count_binary_files(tmp_path, tarball):
    folder = write_toolbox(tmp_path, tarball)
    (folder / "vendor" / "extras" / "huge.bin").write_bytes(b"\xff" * (2 * 1024 * 1024))

    loaded = load_folder(folder)

    assert [p.message for p in loaded.problems] == [
        "is too large: at most 200 files and 2097152 bytes"
    ]


def test_a_galaxy_failure_leaves_no_half_installed_folder(tmp_path, tarball):
    folder = write_toolbox(tmp_path / "catalog", tarball)
    wanted = {**REQUIREMENTS, "roles": [*REQUIREMENTS["roles"], "nobody.nothing"]}
    (folder / "requirements.yml").write_text(yaml.safe_dump(wanted))
    dest = tmp_path / "installed" / "1.0.0-abc"

    with pytest.raises(galaxy.InstallError, match="ansible-galaxy role install failed"):
        galaxy.install(folder=folder, dest=dest, server=f"http://127.0.0.1:{free_port()}/")

    # The collections had been installed before the role failed: none of it is kept.
    assert list(dest.parent.iterdir()) == []


def test_ansible_galaxy_gets_a_clean_environment(tmp_path, tarball, monkeypatch):
    """Not the platform's secrets, nor an ansible.cfg the template's author ships."""
    monkeypatch.setenv("DATABASE_URL", "postgres://secret@db/x")
    folder = write_toolbox(tmp_path / "catalog", tarball)
    (folder / "ansible.cfg").write_text(
        "[galaxy]\nserver_list = theirs\n[galaxy_server.theirs]\nurl = http://127.0.0.1:9/\n"
    )
    wanted = {"collections": ["community.absent"]}
    (folder / "requirements.yml").write_text(yaml.safe_dump(wanted))
    server = f"http://127.0.0.1:{free_port()}/"

    with pytest.raises(galaxy.InstallError) as raised:
        galaxy.install(folder=folder, dest=tmp_path / "dest", server=server)

    assert server.rstrip("/") in str(raised.value) and ":9/" not in str(raised.value)
    assert "DATABASE_URL" not in galaxy._environment(tmp_path, server="")
    assert os.environ["DATABASE_URL"]  # still the platform's own


def test_a_playbook_that_is_not_text_is_said_to_be_so(tmp_path):
    folder = write_template(tmp_path, "plain")
    (folder / "p.yml").write_bytes(b"\xff\xfe binary")

    loaded = load_folder(folder)

    assert {(p.field, p.message) for p in loaded.problems} == {
        ("", "is not UTF-8 text"),  # the file itself
        *((f"playbooks.{action}", "'p.yml' is not UTF-8 text") for action in ACTIONS),
    }
