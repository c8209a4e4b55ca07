#!/usr/bin/env python
import os
import sys
from pathlib import Path


def main() -> None:
    # `platform/` is a source root (like src/), never a package: it would shadow the stdlib.
    sys.path.insert(1, str(Path(__file__).resolve().parent / "platform"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gangplank.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
