"""A template's fixtures, run as the worker runs them: gangplank-lint's proof that a template
provisions, updates (and runs its custom actions) and deprovisions, and leaves nothing behind.

A fixture is a file `tests/<name>.yml` in the template's folder:

    description: A dark site without a footer     # optional
    inputs: {title: Hello, theme: dark}           # the request's inputs (defaults filled in)
    update: {title: Hello again}                  # optional: the inputs an update changes
    uses:                                         # optional: the outputs of the services
      database: {dsn: "postgresql://..."}         #   that inputs picking a service name
    actions:                                      # optional: custom actions, in order
      - {name: restart, inputs: {reason: A test}}

Its runs go through provisioning.runner in the sandbox the workers use, with a private data
root and a fresh resources folder (`gangplank.resources_dir`), and the variables shaped by
provisioning.variables: provision, update, each action, deprovision, then the template's
`verify.yml` (when it has one) with the deprovision's variables, whose failure means that
deprovision left something behind. Pure: no database, no Django settings.
"""

import functools
import itertools
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from catalog import actions as custom_actions
from catalog.choice_specs import choice_sources
from catalog.lint_report import Finding, Level
from catalog.loader import Folder
from catalog.schema import StrictValidator, secret_names, validate_inputs
from core.durations import MAX_RUN_TIME, parse_duration
from core.errors import InvalidRequest
from provisioning import runner, sandbox, variables

FIXTURES_DIR = "tests"
VERIFY = "verify.yml"
TEAM = "lint"
SERVICE_ID = 1
FIXTURE_SCHEMA = {
    "type": "object",
    "required": ["inputs"],
    "additionalProperties": False,
    "properties": {
        "description": {"type": "string"},
        "inputs": {"type": "object"},
        "update": {"type": "object"},
        "uses": {"type": "object", "additionalProperties": {"type": "object"}},
        "actions": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name"],
                "additionalProperties": False,
                "properties": {"name": {"type": "string"}, "inputs": {"type": "object"}},
            },
        },
    },
}
_fixture_validator = StrictValidator(FIXTURE_SCHEMA)


def fixture_files(files: dict[str, str]) -> list[str]:
    """The template's fixtures: `tests/*.yml` (and `.yaml`), sorted."""
    return sorted(
        name
        for name in files
        if PurePosixPath(name).parent == PurePosixPath(FIXTURES_DIR)
        and PurePosixPath(name).suffix in (".yml", ".yaml")
    )


@functools.cache
def sandbox_problem() -> str | None:
    return sandbox.problem()


@dataclass(frozen=True)
class Step:
    name: str  # provision, update, an action's name, deprovision, verify
    playbook: str
    extravars: dict


def run_all(
    folder: Folder, *, sandboxed: bool, offline_problem: str, content: Path | None = None
) -> Iterator[Finding]:
    """Run each fixture of the (sound) template `folder`, with its requirements installed
    in `content`."""
    slug, fixtures = folder.slug, fixture_files(folder.files)
    where = f"{slug}/{FIXTURES_DIR}/"
    if offline_problem:
        said = "not run" if fixtures else "none, and none could run"
        message = f"{said} offline: {offline_problem}"
        yield Finding(slug, where, "fixtures", message, Level.SKIPPED)
        return
    if not fixtures:
        yield Finding(slug, where, "fixtures", "none (tests/*.yml)", Level.SKIPPED)
        return
    if sandboxed and (problem := sandbox_problem()):
        message = f"cannot run in the workers' sandbox (--no-sandbox runs without): {problem}"
        yield Finding(slug, where, "fixtures", message)
        return
    for name in fixtures:
        yield from _run_fixture(folder, name, sandboxed=sandboxed, content=content)


def _run_fixture(
    folder: Folder, name: str, *, sandboxed: bool, content: Path | None
) -> Iterator[Finding]:
    slug, file = folder.slug, f"{folder.slug}/{name}"
    manifest = folder.manifest or {}
    timeout = parse_duration(manifest["timeout"]) if "timeout" in manifest else MAX_RUN_TIME
    with tempfile.TemporaryDirectory(prefix="gangplank-lint-") as temp:
        resources, data_root = Path(temp, "resources"), Path(temp, "runs")
        resources.mkdir()
        try:
            steps, secrets = plan(folder, name, resources_dir=resources)
        except FixtureError as exc:
            for message in exc.messages:
                yield Finding(slug, file, f"fixture {name}", message)
            return
        for step in steps:
            result = runner.run_playbook(
                files=folder.files,
                playbook=step.playbook,
                extravars=step.extravars,
                on_events=lambda _: None,
                data_root=data_root,
                timeout=timeout.total_seconds(),
                secrets=secrets,
                label=f"lint-{slug}",
                sandboxed=sandboxed,
                writable=[resources],
                content=content,
            )
            if not result.ok:
                said = result.error or f"ended {result.status}"
                if step.name == "verify":
                    said = f"deprovision left something behind: {said}"
                yield Finding(slug, f"{slug}/{step.playbook}", f"fixture {name}: {step.name}", said)
                return
        yield Finding(slug, file, f"fixture {name}", _passed(steps), Level.OK)


def _passed(steps: list[Step]) -> str:
    return "passed: " + ", ".join(step.name for step in steps)


class FixtureError(Exception):
    def __init__(self, messages: list[str]):
        super().__init__("; ".join(messages))
        self.messages = messages


def plan(folder: Folder, name: str, *, resources_dir: Path) -> tuple[list[Step], list[str]]:
    """The runs of fixture `name`, whose resources folder is `resources_dir`, and the secret
    values they carry; FixtureError when the fixture is not one."""
    manifest = folder.manifest or {}
    try:
        fixture = yaml.safe_load(folder.files[name])
    except yaml.YAMLError as exc:
        raise FixtureError([f"is not valid YAML: {exc}"]) from None
    if errors := sorted(_fixture_validator.iter_errors(fixture), key=lambda e: list(e.path)):
        raise FixtureError([_schema_message(error) for error in errors])
    schema = manifest["inputs"]
    inputs = _valid(schema, fixture["inputs"], "inputs")
    updated = _valid(schema, {**inputs, **fixture.get("update", {})}, "update")
    uses = fixture.get("uses") or {}
    if unknown := sorted(set(uses) - set(choice_sources(schema, "services"))):
        message = "not an input that picks a service (its choices' services)"
        raise FixtureError([f"uses.{key}: {message}" for key in unknown])
    declared = custom_actions.declared(manifest)
    names = secret_names(schema)
    secrets = [str(v) for given in (inputs, updated) for k, v in given.items() if k in names]
    service_name = _service_name(name)
    run_ids = itertools.count(1)

    def step(action: str, playbook: str, given: dict, parameters: dict | None = None) -> Step:
        built = variables.extravars(
            inputs=given,
            parameters=parameters or {},
            service_id=SERVICE_ID,
            service_name=service_name,
            team=TEAM,
            run_id=next(run_ids),
            action=action,
            resources_dir=str(resources_dir),
            uses=uses,
        )
        return Step(action, playbook, built)

    playbooks = manifest["playbooks"]
    steps = [
        step("provision", playbooks["provision"], inputs),
        step("update", playbooks["update"], updated),
    ]
    for index, call in enumerate(fixture.get("actions") or []):
        action = declared.get(call["name"])
        if action is None:
            known = ", ".join(declared) or "none"
            raise FixtureError([f"actions.{index}.name: unknown action {call['name']!r} ({known})"])
        parameters = _valid(action.inputs, call.get("inputs") or {}, f"actions.{index}.inputs")
        steps.append(step(action.name, action.playbook, updated, parameters))
    steps.append(step("deprovision", playbooks["deprovision"], updated))
    if VERIFY in folder.files:
        steps.append(Step("verify", VERIFY, steps[-1].extravars))
    return steps, secrets


def _valid(schema: dict, given: dict, where: str) -> dict:
    try:
        return validate_inputs(schema, given)
    except InvalidRequest as exc:
        errors: Any = exc.errors["inputs"]
        messages = [
            f"{where}.{key}: {message}" if key else f"{where}: {message}"
            for key, said in (errors.items() if isinstance(errors, dict) else [("", errors)])
            for message in said
        ]
        raise FixtureError(messages) from None


def _schema_message(error) -> str:
    where = ".".join(str(part) for part in error.path)
    return f"{where}: {error.message}" if where else error.message


def _service_name(fixture: str) -> str:
    """A service name as the platform allows them (provisioning.rules), from the fixture's."""
    stem = re.sub(r"[^a-z0-9-]+", "-", PurePosixPath(fixture).stem.lower()).strip("-")
    return f"lint-{stem}"[:63].rstrip("-")
