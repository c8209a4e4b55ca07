"""What a hostile playbook can find: printed as JSON for set_stats."""

import json
import os
import subprocess
import sys


def readable(path):
    try:
        with open(path, "rb") as handle:
            return bool(handle.read(1))
    except OSError:
        return False


def listing(path):
    try:
        return sorted(os.listdir(path))
    except OSError:
        return []


def text(path):
    try:
        with open(path, "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


paths = [path for path in sys.argv[1].split(",") if path]
pids = [name for name in os.listdir("/proc") if name.isdigit()]
own = str(os.getpid())
psql = (
    subprocess.run(
        ["psql", "-w", "-X", "-c", "select 1"], capture_output=True, text=True, check=False
    )
    if any(os.access(os.path.join(d, "psql"), os.X_OK) for d in os.environ["PATH"].split(":"))
    else None
)
found = {
    "env": sorted(os.environ),
    "dsn_values": sorted(
        name
        for name, value in os.environ.items()
        if any(scheme in value for scheme in ("postgres", "redis://", "amqp://", "sqlite"))
    ),
    "readable": sorted(p for p in paths if not os.path.isdir(p) and readable(p)),
    "listings": {p: listing(p) for p in paths if os.path.isdir(p) and listing(p)},
    "processes": sorted(text(f"/proc/{pid}/cmdline").strip() for pid in pids),
    "environs": sorted(
        pid for pid in pids if pid != own and "DATABASE_URL" in text(f"/proc/{pid}/environ")
    ),
    "sockets": sorted(
        path
        for path in ("/var/run/postgresql", "/run/postgresql", "/var/run/redis", "/run/redis")
        if os.path.exists(path)
    ),
    "psql": psql.returncode if psql else None,
    "home": sorted(os.listdir(os.path.expanduser("~")))
    if os.path.isdir(os.path.expanduser("~"))
    else [],
}
print(json.dumps(found))
