"""Loading the catalogue folder: validation with file and field, idempotence, versions, retiring."""

import os
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command

from catalog.models import CatalogSync, Template, TemplateVersion
from catalog.services import sync_catalog
from conftest import TEMPLATE_PLAYBOOK, write_template


def manifest(**changes):
    base = {
        "name": "Broken",
        "version": "1.0.0",
        "inputs": {"type": "object", "properties": {}},
        "playbooks": {"provision": "p.yml", "update": "p.yml", "deprovision": "p.yml"},
    }
    return {**base, **changes}


def problems_of(report: CatalogSync, slug: str) -> list[tuple[str, str]]:
    return [(p["file"], p["field"]) for p in report.problems if p["file"].startswith(slug)]


pytestmark = pytest.mark.django_db


def test_it_loads_templates_with_their_first_version(tmp_path):
    write_template(tmp_path, "alpha")

    report = sync_catalog(directory=tmp_path)

    assert report.created == ["alpha"] and report.problems == []
    template = Template.objects.get(slug="alpha")
    assert template.is_requestable and not template.is_broken
    version = template.current_version
    assert version.version == "1.0.0"
    assert set(version.files) == {"template.yml", "p.yml"}
    assert version.inputs_schema["additionalProperties"] is False


def test_a_second_sync_changes_nothing(tmp_path):
    write_template(tmp_path, "alpha")
    sync_catalog(directory=tmp_path)

    report = sync_catalog(directory=tmp_path)

    assert report.created == report.updated == report.retired == []
    assert TemplateVersion.objects.count() == 1


def test_a_bumped_version_is_recorded_and_the_old_one_kept(tmp_path):
    folder = write_template(tmp_path, "alpha")
    sync_catalog(directory=tmp_path)
    data = yaml.safe_load((folder / "template.yml").read_text())
    data["version"] = "1.1.0"
    data["description"] = "Now better."
    (folder / "template.yml").write_text(yaml.safe_dump(data))

    report = sync_catalog(directory=tmp_path)

    assert report.updated == ["alpha"]
    template = Template.objects.get(slug="alpha")
    assert template.current_version.version == "1.1.0"
    assert template.description == "Now better."
    assert sorted(template.versions.values_list("version", flat=True)) == ["1.0.0", "1.1.0"]


def test_changed_files_without_a_new_version_are_refused(tmp_path):
    folder = write_template(tmp_path, "alpha")
    sync_catalog(directory=tmp_path)
    (folder / "p.yml").write_text(TEMPLATE_PLAYBOOK + "# changed\n")

    report = sync_catalog(directory=tmp_path)

    assert problems_of(report, "alpha") == [("alpha/template.yml", "version")]
    template = Template.objects.get(slug="alpha")
    assert template.is_broken and template.is_requestable  # still serves 1.0.0
    assert template.current_version.files["p.yml"] == TEMPLATE_PLAYBOOK


@pytest.mark.parametrize(
    ("raw", "data", "field", "words"),
    [
        ("name: [unclosed", None, "", "not valid YAML"),
        ("- just\n- a list\n", None, "", "must be a mapping"),
        (None, manifest(version="one"), "version", "does not match"),
        (None, {k: v for k, v in manifest().items() if k != "name"}, "name", "required"),
        (None, manifest(colour="blue"), "colour", "not allowed"),
        (
            None,
            manifest(inputs={"type": "object", "properties": {"x": {"type": "strin"}}}),
            "inputs.properties.x.type",
            "invalid JSON Schema",
        ),
        (
            None,
            manifest(inputs={"type": "object", "properties": {"x": {"type": "object"}}}),
            "inputs.properties.x.type",
            "must be one of",
        ),
        (
            None,
            manifest(
                inputs={"type": "object", "properties": {"x": {"type": "string", "pattern": "("}}}
            ),
            "inputs.properties.x.pattern",
            "invalid JSON Schema",
        ),
        (None, manifest(lifetime={"default": "30d", "max": "7d"}), "lifetime.default", "longer"),
        (None, manifest(lifetime={"default": "7 days", "max": "30d"}), "lifetime.default", "match"),
        (None, manifest(timeout="6h"), "timeout", "at most 5h"),
        (None, manifest(drift_check="daily"), "drift_check", "does not match"),
        (
            None,
            manifest(inputs={"type": "object", "properties": {"db-name": {"type": "string"}}}),
            "inputs.properties.db-name",
            "variable name",
        ),
        (
            None,
            manifest(inputs={"type": "object", "properties": {"gangplank": {"type": "string"}}}),
            "inputs.properties.gangplank",
            "reserved",
        ),
        (
            None,
            manifest(inputs={"type": "object", "required": ["y"], "properties": {}}),
            "inputs.required",
            "not in properties",
        ),
        (
            None,
            manifest(
                inputs={"type": "object", "properties": {"n": {"type": "integer", "default": "x"}}}
            ),
            "inputs.properties.n.default",
            "Must be of type integer",
        ),
        (
            None,
            manifest(
                playbooks={"provision": "missing.yml", "update": "p.yml", "deprovision": "p.yml"}
            ),
            "playbooks.provision",
            "does not exist",
        ),
        (
            None,
            manifest(
                playbooks={"provision": "../other/p.yml", "update": "p.yml", "deprovision": "p.yml"}
            ),
            "playbooks.provision",
            "leaves the template's folder",
        ),
        (
            None,
            manifest(
                playbooks={"provision": "/etc/passwd", "update": "p.yml", "deprovision": "p.yml"}
            ),
            "playbooks.provision",
            "leaves the template's folder",
        ),
        (None, manifest(playbooks={"provision": "p.yml"}), "playbooks", "required"),
        (None, manifest(icon="rocket"), "icon", "unknown icon 'rocket'; one of: activity"),
        (None, manifest(icon=3), "icon", "is not of type 'string'"),
        (None, manifest(on_dependency_change="redeploy"), "on_dependency_change", "'update'"),
        (None, manifest(changelog="Fixed things."), "changelog", "is not of type 'array'"),
        (
            None,
            manifest(changelog=[{"version": "1.0.0", "changes": []}]),
            "changelog.0.changes",
            "should be non-empty",
        ),
        (
            None,
            manifest(changelog=[{"version": "1.0.0", "changes": "one line"}]),
            "changelog.0.changes",
            "is not of type 'array'",
        ),
        (
            None,
            manifest(changelog=[{"version": "latest", "changes": ["x"]}]),
            "changelog.0.version",
            "does not match",
        ),
        (
            None,
            manifest(changelog=[{"version": "1.0.0", "changes": ["x"], "date": "today"}]),
            "changelog.0",
            "'date' was unexpected",
        ),
        (
            None,
            manifest(changelog=[{"version": "1.1.0", "changes": ["from the future"]}]),
            "changelog.0.version",
            "1.1.0 is newer than the template's 1.0.0",
        ),
        (
            None,
            manifest(
                changelog=[
                    {"version": "1.0.0", "changes": ["a"]},
                    {"version": "1.0.0", "changes": ["b"]},
                ]
            ),
            "changelog.1.version",
            "1.0.0 appears more than once",
        ),
    ],
)
def test_a_broken_manifest_is_reported_with_file_and_field(tmp_path, raw, data, field, words):
    write_template(tmp_path, "good")
    write_template(tmp_path, "broken", manifest=data, raw=raw)

    report = sync_catalog(directory=tmp_path)

    assert report.created == ["good"]
    problems = [p for p in report.problems if p["file"].startswith("broken")]
    assert problems, report.problems
    assert problems[0]["file"] == "broken/template.yml"
    assert problems[0]["field"] == field
    assert words in problems[0]["message"]
    broken = Template.objects.get(slug="broken")
    assert broken.current_version is None and not broken.is_requestable
    assert broken.errors == problems
    assert Template.objects.get(slug="good").is_requestable


def test_symlinks_are_refused(tmp_path):
    folder = write_template(tmp_path, "linked")
    os.symlink("/etc/hostname", folder / "hostname")
    real = write_template(tmp_path / "elsewhere", "real")
    os.symlink(real, tmp_path / "alias")

    report = sync_catalog(directory=tmp_path)

    assert ("linked/hostname", "") in problems_of(report, "linked")
    assert ("alias", "") in problems_of(report, "alias")
    assert not Template.objects.filter(slug="linked", current_version__isnull=False).exists()


def test_a_template_whose_folder_is_gone_is_retired_not_deleted(tmp_path):
    write_template(tmp_path, "alpha")
    folder = write_template(tmp_path, "beta")
    sync_catalog(directory=tmp_path)
    (folder / "template.yml").unlink()
    (folder / "p.yml").unlink()
    folder.rmdir()

    report = sync_catalog(directory=tmp_path)

    assert report.retired == ["beta"]
    beta = Template.objects.get(slug="beta")
    assert beta.retired_at is not None and not beta.is_requestable
    assert beta.current_version.version == "1.0.0"

    write_template(tmp_path, "beta")
    sync_catalog(directory=tmp_path)
    assert Template.objects.get(slug="beta").is_requestable


def test_the_command_prints_each_problem_and_loads_the_rest(tmp_path, capsys):
    write_template(tmp_path, "good")
    write_template(tmp_path, "bad", manifest=manifest(version="x"))

    call_command("sync_catalog", "--dir", str(tmp_path))

    out, err = capsys.readouterr()
    assert "created: good" in out
    assert "bad/template.yml: version:" in err


def test_the_command_refuses_a_missing_folder(tmp_path):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="does not exist"):
        call_command("sync_catalog", "--dir", str(tmp_path / "nope"))


def test_the_shipped_catalogue_loads_without_problems(shared_postgres, shared_shell_hosts):
    report = sync_catalog(directory=Path(__file__).resolve().parent.parent / "playbooks")

    assert report.problems == []
    assert len(report.created) >= 3


def test_it_keeps_the_inputs_in_the_order_the_manifest_declares_them(catalog):
    """PostgreSQL's jsonb orders keys its own way (shortest first): the form, the API and
    the service page follow the manifest's order all the same."""
    from catalog.models import TemplateVersion

    version = TemplateVersion.objects.get(pk=catalog["static-site"].current_version_id)

    declared = ["title", "tagline", "theme", "show_footer", "max_size_mb"]
    assert list(version.manifest["inputs"]["properties"]) != declared  # as jsonb keeps them
    assert list(version.inputs_schema["properties"]) == declared
    database = TemplateVersion.objects.get(pk=catalog["postgres-database"].current_version_id)
    assert list(database.outputs) == ["dsn", "database", "role"]
