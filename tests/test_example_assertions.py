"""The example templates' own checks of their inputs' shape match whole values: a value the
platform would refuse (a trailing newline) is refused by the playbook too, which runs its
assertions as a second line of defence. Real ansible-playbook runs of the real task files."""

import os
import subprocess
import sys
from pathlib import Path

import yaml

from conftest import EXAMPLE_CATALOG

# resources_dir is set per test, in its tmp_path: should a check pass, nothing lands elsewhere.
GOOD = {"team": "alpha", "service_name": "web", "service_id": 1}


class Unsafe(str):
    """A value as the platform hands inputs to playbooks: tagged !unsafe, never templated
    (templating would drop a trailing newline)."""


def _unsafe(dumper, value):
    return dumper.represent_scalar("!unsafe", str(value), style='"')


yaml.SafeDumper.add_representer(Unsafe, _unsafe)
# (label, template, task file, vars, the assertion's message when it refuses)
CASES = [
    ("site-team", "static-site", "check_path.yml",
     {"gangplank": {**GOOD, "team": Unsafe("alpha\n")}}, "resources_dir must be"),
    ("site-name", "static-site", "check_path.yml",
     {"gangplank": {**GOOD, "service_name": Unsafe("web\n")}}, "resources_dir must be"),
    ("workspace-name", "dev-workspace", "check_path.yml",
     {"gangplank": {**GOOD, "service_name": Unsafe("web\n")}}, "resources_dir must be"),
    ("workspace-branch", "dev-workspace", "converge.yml",
     {"gangplank": GOOD, "default_branch": Unsafe("main\n")}, "Invalid branch name."),
    ("database-name", "postgres-database", "converge.yml",
     {"gangplank": GOOD, "db_name": Unsafe("abc\n")}, "Invalid database name"),
    ("shell-username", "shell-account", "check.yml",
     {"gangplank": GOOD, "username": Unsafe("bob\n")}, "Invalid username"),
]  # fmt: skip
# The same checks pass what is valid (so a refusal above is the shape, not a missing var).
PASSING = [
    ("site-ok", "static-site", "check_path.yml", {"gangplank": GOOD}),
    ("workspace-ok", "dev-workspace", "check_path.yml", {"gangplank": GOOD}),
    ("shell-ok", "shell-account", "check.yml", {"gangplank": GOOD, "username": "bob"}),
]


def _play(label: str, template: str, tasks: str, variables: dict, out: Path) -> dict:
    folder = EXAMPLE_CATALOG / template
    resources = str(out.parent / "resources")
    variables = {**variables, "gangplank": {**variables["gangplank"], "resources_dir": resources}}
    return {
        "name": label,
        "hosts": "localhost",
        "gather_facts": False,
        "vars_files": [str(path) for path in sorted((folder / "vars").glob("*.yml"))],
        "vars": variables,
        "tasks": [
            {
                "block": [
                    {"ansible.builtin.include_tasks": str(folder / "tasks" / tasks)},
                    {"ansible.builtin.copy": {"content": "passed", "dest": str(out / label)}},
                ],
                "rescue": [
                    {
                        "ansible.builtin.copy": {
                            "content": "{{ ansible_failed_result.msg }}",
                            "dest": str(out / label),
                        }
                    }
                ],
            }
        ],
    }


def test_the_examples_assertions_refuse_a_trailing_newline(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    plays = [_play(label, t, f, v, out) for label, t, f, v, _ in CASES]
    plays += [_play(label, t, f, v, out) for label, t, f, v in PASSING]
    playbook = tmp_path / "checks.yml"
    playbook.write_text(yaml.safe_dump(plays))
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp"),
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
    }

    result = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c",
         "local", str(playbook)],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    outcomes = {path.name: path.read_text() for path in out.iterdir()}
    for label, *_, message in CASES:
        assert message in outcomes[label], (label, outcomes.get(label))
    for label, *_ in PASSING:
        assert outcomes[label] == "passed", (label, outcomes[label])
