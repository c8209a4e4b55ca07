"""`gangplank-lint DIR`: catalog.lint from the command line, without Django, a database or a
broker (`manage.py lint_catalog` takes the same options)."""

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from catalog.lint import DEFAULT_PROFILE, PROFILES, Options, lint


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("directory", help="the catalogue: a folder of template folders")
    parser.add_argument(
        "--profile",
        choices=PROFILES,
        default=DEFAULT_PROFILE,
        help=f"ansible-lint's rule profile (default: {DEFAULT_PROFILE})",
    )
    parser.add_argument(
        "--no-fixtures", action="store_true", help="do not run the templates' tests/*.yml"
    )
    parser.add_argument("--no-ansible-lint", action="store_true", help="do not run ansible-lint")
    parser.add_argument(
        "--no-sandbox",
        action="store_true",
        help="run the syntax checks, ansible-lint and the fixtures without bubblewrap "
        "(unsafe: a template's code then runs as this user, with its files and environment)",
    )
    parser.add_argument(
        "--galaxy-server",
        default=os.environ.get("GANGPLANK_GALAXY_SERVER", ""),
        help="where requirements.yml's Galaxy names come from (default: "
        "$GANGPLANK_GALAXY_SERVER, else ansible-galaxy's own)",
    )


def options_from(arguments: dict) -> Options:
    return Options(
        profile=arguments["profile"],
        ansible_lint=not arguments["no_ansible_lint"],
        fixtures=not arguments["no_fixtures"],
        sandboxed=not arguments["no_sandbox"],
        galaxy_server=arguments["galaxy_server"],
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="gangplank-lint",
        description="Check a Gangplank catalogue: manifests, playbooks' syntax, ansible-lint "
        "and the templates' fixtures, run in the workers' sandbox.",
    )
    add_arguments(parser)
    arguments = vars(parser.parse_args(argv))
    report = lint(Path(arguments["directory"]), options=options_from(arguments))
    print(report.text())
    return report.exit_code


if __name__ == "__main__":
    sys.exit(main())
