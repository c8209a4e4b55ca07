"""Testing a catalogue where it is written: `gangplank-lint DIR` and `manage.py lint_catalog`.

Pure: no database, no broker, no Django settings. For each template folder of DIR it
- checks the manifest and its input schemas as a sync does (catalog.loader), saying which
  checks need the platform's database and were skipped;
- runs `ansible-playbook --syntax-check` on each playbook, built-in and custom action's;
- runs ansible-lint (`--offline`) with a profile (DEFAULT_PROFILE unless told);
- runs the template's fixtures (`tests/*.yml`, see catalog.lint_fixtures) in the workers'
  sandbox, unless the template reaches hosts or needs credentials.
Parsing a playbook runs code of its author's (lookups in imports' names, plugins beside it), so
the syntax checks and ansible-lint run in a bubblewrap sandbox too (provisioning.sandbox
`tool_command`): the folder read-only, no network, no process or file of the host's. Each has
an environment of its own (a temporary HOME, no variable of the caller's but PATH's system
part and LANG), this process's Python and Ansible, and an empty ansible.cfg.
"""

import json
import os
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import yaml

from catalog import galaxy, lint_fixtures
from catalog import lint_tools as tools
from catalog import requirements as galaxy_requirements
from catalog.choice_specs import choice_sources
from catalog.lint_report import CATALOGUE, Finding, Level, Report
from catalog.loader import MANIFEST, Folder, Problem, load_catalog

# ansible-lint's profiles, least strict first (each holds the rules of those before it).
PROFILES = ("min", "basic", "moderate", "safety", "shared", "production")
DEFAULT_PROFILE = "moderate"
# Where ansible-lint looks for its configuration in the repository (ansiblelint.cli).
LINT_CONFIGS = (
    ".ansible-lint", ".ansible-lint.yml", ".ansible-lint.yaml",
    ".config/ansible-lint.yml", ".config/ansible-lint.yaml",
)  # fmt: skip


@dataclass(frozen=True)
class Options:
    profile: str = DEFAULT_PROFILE
    ansible_lint: bool = True
    fixtures: bool = True
    sandboxed: bool = True  # False: every tool and fixture runs without bubblewrap (unsafe)
    # Where requirements.yml's Galaxy names are installed from ("": ansible-galaxy's default).
    galaxy_server: str = ""


def lint(directory: Path, *, options: Options = Options()) -> Report:
    """Lint every template folder of the catalogue `directory`."""
    directory = Path(directory).resolve()
    report = Report()
    if not directory.is_dir():
        report.findings.append(Finding(CATALOGUE, str(directory), "catalogue", "is not a folder"))
        return report
    if options.profile not in PROFILES:
        message = f"unknown ansible-lint profile {options.profile!r}; one of {', '.join(PROFILES)}"
        report.findings.append(Finding(CATALOGUE, str(directory), "ansible-lint", message))
        return report
    folders = load_catalog(directory)
    if not folders:
        report.findings.append(Finding(CATALOGUE, str(directory), "catalogue", "holds no template"))
    # ansible-lint reads only the template folders, not the repository's other files (its CI
    # workflows, ...), and runs once for all of them (it starts slowly) beside the rest.
    linted = [
        f.slug
        for f in folders
        if (directory / f.slug).is_dir() and not (directory / f.slug).is_symlink()
    ]
    with tempfile.TemporaryDirectory(prefix="gangplank-lint-content-") as installed:
        # Each template's requirements.yml, installed as a sync installs it, first: the
        # syntax checks, ansible-lint and the fixtures' runs then find its collections.
        contents: dict[str, Path | None] = {}
        for folder in folders:
            found, contents[folder.slug] = install_requirements(
                folder, into=Path(installed), server=options.galaxy_server
            )
            report.findings += found
        with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 1)) as pool:
            lint_run = None
            if options.ansible_lint and linted:
                # One run for all the templates: each one's collections are seen by all.
                present = [path for path in contents.values() if path is not None]
                findings = ansible_lint(
                    directory,
                    profile=options.profile,
                    folders=linted,
                    contents=present,
                    sandboxed=options.sandboxed,
                )
                lint_run = pool.submit(list, findings)
            templates = pool.map(
                lambda f: list(_template(directory, f, options, content=contents[f.slug])),
                folders,
            )
            for found in templates:
                report.findings += found
            if lint_run is not None:
                report.findings += lint_run.result()
    return report


def install_requirements(
    folder: Folder, *, into: Path, server: str
) -> tuple[list[Finding], Path | None]:
    """Install the sound template `folder`'s requirements.yml under `into`, as a sync does:
    the findings, and the installed path (None without requirements, or when they failed)."""
    if not folder.ok or folder.requirements is None or folder.path is None:
        return [], None
    slug, file = folder.slug, f"{folder.slug}/{galaxy.FILE}"
    if refused := galaxy_requirements.source_problems(folder.requirements, server=server):
        return [Finding(slug, file, "requirements", f"{f}: {m}") for f, m in refused], None
    dest = into / slug
    try:
        galaxy.install(folder=folder.path, dest=dest, server=server)
    except galaxy.InstallError as exc:
        return [Finding(slug, file, "requirements", str(exc))], None
    return [Finding(slug, file, "requirements", "installed", Level.OK)], dest


def _template(
    directory: Path, folder: Folder, options: Options, *, content: Path | None
) -> Iterator[Finding]:
    slug = folder.slug
    manifest_file = f"{slug}/{MANIFEST}"
    for problem in folder.problems:
        yield Finding(slug, problem.file, "manifest", _problem_text(problem))
    if not folder.ok:
        return
    if folder.requirements is not None and content is None:
        return  # its requirements could not be installed: said already
    manifest = folder.manifest or {}
    yield Finding(slug, manifest_file, "manifest", "valid", Level.OK)
    if database := database_checks(manifest):
        yield Finding(slug, manifest_file, "manifest", database, Level.SKIPPED)
    playbooks = playbooks_of(manifest)
    if lint_fixtures.VERIFY in folder.files:
        playbooks.append(lint_fixtures.VERIFY)
    yield from syntax_check(
        directory / slug,
        slug=slug,
        playbooks=playbooks,
        content=content,
        sandboxed=options.sandboxed,
    )
    if options.fixtures:
        yield from lint_fixtures.run_all(
            folder,
            sandboxed=options.sandboxed,
            offline_problem=offline_problem(manifest),
            content=content,
        )


def _problem_text(problem: Problem) -> str:
    return f"{problem.field}: {problem.message}" if problem.field else problem.message


def playbooks_of(manifest: dict) -> list[str]:
    """Every playbook the manifest names, built-in and custom actions', each once."""
    named = [*manifest["playbooks"].values()]
    named += [spec["playbook"] for spec in (manifest.get("actions") or {}).values()]
    return list(dict.fromkeys(named))


def database_checks(manifest: dict) -> str:
    """What a sync checks against the platform's database that the lint cannot, or ""."""
    checks = []
    credentials = [*(manifest.get("credentials") or [])]
    credentials += [
        source["credential"]
        for source in choice_sources(manifest["inputs"], "url").values()
        if source.get("credential")
    ]
    if credentials:
        checks.append(f"that the credentials {', '.join(sorted(set(credentials)))} exist")
    inventories = sorted(
        {source["inventory"] for source in choice_sources(manifest["inputs"], "inventory").values()}
        | ({manifest["targets"]["inventory"]} if manifest.get("targets") else set())
    )
    if inventories:
        checks.append(f"that the inventories {', '.join(inventories)} exist")
    templates = sorted(
        {s["services"]["template"] for s in choice_sources(manifest["inputs"], "services").values()}
    )
    if templates:
        checks.append(f"that the templates {', '.join(templates)} are published")
    checks.append(f"that version {manifest['version']} was not published with other files")
    return "not checked without the platform's database: " + "; ".join(checks)


def offline_problem(manifest: dict) -> str:
    """Why the template's fixtures cannot run here (it reaches hosts or needs credentials),
    or ""."""
    if manifest.get("targets") or choice_sources(manifest["inputs"], "inventory"):
        return "the template reaches hosts (targets or host choices) of the platform's inventories"
    if manifest.get("credentials"):
        return f"the template needs the platform's credentials {', '.join(manifest['credentials'])}"
    return ""


def syntax_check(
    path: Path,
    *,
    slug: str,
    playbooks: list[str],
    content: Path | None = None,
    sandboxed: bool = True,
) -> Iterator[Finding]:
    """`ansible-playbook --syntax-check` on the playbooks, all at once, then one by one
    when that fails, so that each error names its playbook (`content`: the template's
    installed requirements)."""
    command = [tools.tool_path("ansible-playbook"), "--syntax-check", "-i", "localhost,"]
    contents = [content] if content is not None else []
    step = "syntax-check"
    try:
        if (
            tools.run(
                [*command, *playbooks], cwd=path, sandboxed=sandboxed, contents=contents
            ).returncode
            == 0
        ):
            yield Finding(slug, f"{slug}/", step, f"{len(playbooks)} playbook(s)", Level.OK)
            return
        for playbook in playbooks:
            done = tools.run([*command, playbook], cwd=path, sandboxed=sandboxed, contents=contents)
            if done.returncode != 0:
                yield Finding(
                    slug, f"{slug}/{playbook}", step, tools.error_lines(done.stderr or done.stdout)
                )
    except tools.SandboxUnavailable as exc:
        yield Finding(slug, f"{slug}/", step, tools.unsandboxed(str(exc)))
    except subprocess.TimeoutExpired:
        yield Finding(slug, f"{slug}/", step, f"took over {tools.TOOL_TIMEOUT}s")


def ansible_lint(
    directory: Path,
    *,
    profile: str,
    folders: list[str],
    contents: Sequence[Path] = (),
    sandboxed: bool = True,
) -> Iterator[Finding]:
    """ansible-lint's findings for the catalogue, one per rule and place, each given to the
    template whose folder it is in (one run for all: it starts slowly, and so it sees every
    template's installed collections). Its warnings (of `warn_list`, or experimental rules)
    are WARNING, not failures. The repository's configuration applies, unless it names
    `rulesdir`; ANSIBLE_CONFIG is empty (lint_tools)."""
    step = f"ansible-lint ({profile})"
    config, refused = lint_config(directory)
    if refused:
        yield Finding(CATALOGUE, config, step, refused)
        return
    argv = [
        tools.tool_path("ansible-lint"), "--offline", "--nocolor", "--profile", profile,
        "-c", str(directory / config) if config else os.devnull, "-f", "json", ".",
    ]  # fmt: skip
    # Given as lintables, folders with tasks/ would be taken for roles: lint "." less the rest.
    argv += [f"--exclude={e.name}" for e in sorted(directory.iterdir()) if e.name not in folders]
    if not Path(argv[0]).exists():
        yield Finding(CATALOGUE, ".", step, "ansible-lint is not installed")
        return
    try:
        done = tools.run(argv, cwd=directory, sandboxed=sandboxed, contents=contents)
    except tools.SandboxUnavailable as exc:
        yield Finding(CATALOGUE, ".", step, tools.unsandboxed(str(exc)))
        return
    except subprocess.TimeoutExpired:
        yield Finding(CATALOGUE, ".", step, f"took over {tools.TOOL_TIMEOUT}s")
        return
    try:
        issues = json.loads(done.stdout or "[]")
    except json.JSONDecodeError:
        issues = None
    if not isinstance(issues, list) or (done.returncode not in (0, 2) and not issues):
        said = tools.error_lines(done.stderr or done.stdout)
        yield Finding(CATALOGUE, ".", step, f"did not run (rc {done.returncode}): {said}")
        return
    for issue in issues:
        where = issue.get("location") or {}
        file = _relative(str(where.get("path") or ""), directory)
        line = (where.get("lines") or {}).get("begin")
        line = line or ((where.get("positions") or {}).get("begin") or {}).get("line")
        template = file.split("/")[0] if file.split("/")[0] in folders else CATALOGUE
        message = f"{issue.get('check_name')}: {issue.get('description')}"
        # The code-climate format calls ansible-lint's warnings "minor", its errors "major".
        level = Level.WARNING if issue.get("severity") in ("minor", "info") else Level.ERROR
        yield Finding(template, f"{file}:{line}" if line else file, step, message, level)
    if not any(issue.get("severity") not in ("minor", "info") for issue in issues):
        yield Finding(CATALOGUE, ".", step, "no failure" if issues else "no finding", Level.OK)


def lint_config(directory: Path) -> tuple[str, str]:
    """The repository's ansible-lint configuration (its path in `directory`, or "") and why
    it is refused, or "": settings are data, but `rulesdir` would load rule code of the
    repository's into the lint (a file that is no YAML mapping is left to ansible-lint)."""
    for name in LINT_CONFIGS:
        if (directory / name).is_file():
            try:
                data = yaml.safe_load((directory / name).read_bytes())
            except (yaml.YAMLError, OSError):
                return name, ""
            if isinstance(data, dict) and "rulesdir" in data:
                return (
                    name,
                    "rulesdir is not allowed: gangplank-lint runs no rule of the repository's",
                )
            return name, ""
    return "", ""


def _relative(reported: str, directory: Path) -> str:
    path = Path(reported)
    if path.is_absolute():
        try:
            return path.relative_to(directory).as_posix()
        except ValueError:
            return reported
    return path.as_posix()
