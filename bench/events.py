"""How fast a run's events are stored: N ansible-runner events through `record_events` in the
worker's batches, against a plain COPY of the same rows into the same table. Its database is
its own, created on DATABASE_URL's server and dropped at the end.
Last line: `ratio: <platform rate / COPY rate>`.
"""

import argparse
import json
import os
import secrets
import shutil
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_overhead import ROOT, admin_sql, database_url, django_ready

COLUMNS = ("run_id", "counter", "event", "task", "host", "stdout", "data", "created_at")


def make_runs(count: int) -> list[int]:
    """`count` runs of one service, for the events to belong to."""
    from django.contrib.auth import get_user_model

    from catalog.models import Template
    from catalog.services import sync_catalog
    from provisioning.models import Run, Service
    from teams.models import Team

    sync_catalog(directory=ROOT / "playbooks")
    template = Template.objects.select_related("current_version").get(slug="static-site")
    team = Team.objects.create(slug="bench", name="Bench")
    user = get_user_model().objects.create_user(username="bench", password=secrets.token_hex(16))
    service = Service.objects.create(
        name="events",
        team=team,
        template=template,
        template_version=template.current_version,
        inputs={},
        created_by=user,
    )
    runs = Run.objects.bulk_create(
        Run(
            service=service,
            action="provision",
            status="succeeded",
            template_version=template.current_version,
            inputs={},
            created_by=user,
        )
        for _ in range(count)
    )
    return [run.pk for run in runs]


def events(count: int) -> list[dict]:
    """Events as ansible-runner hands them over: a task's start and one result a host."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    made = []
    for counter in range(1, count + 1):
        task = f"Install package {counter // 3}"
        host = f"web-{counter % 7}.example.internal"
        created = (start + timedelta(milliseconds=counter)).isoformat()
        made.append(
            {
                "uuid": secrets.token_hex(16),
                "counter": counter,
                "event": "runner_on_ok" if counter % 3 else "playbook_on_task_start",
                "stdout": f"\x1b[0;32mok: [{host}] => (item=package-{counter})\x1b[0m",
                "created": created,
                "event_data": {
                    "task": task,
                    "host": host,
                    "play": "Provision",
                    "task_action": "ansible.builtin.package",
                    "res": {"changed": counter % 2 == 0, "msg": "ok " * 20, "rc": 0},
                },
            }
        )
    return made


def through_platform(stream: list[dict], *, run_id: int, batch: int) -> float:
    """Seconds to store `stream` with record_events, a batch at a time as the worker does."""
    from provisioning.execution import record_events

    started = time.perf_counter()
    for first in range(0, len(stream), batch):
        record_events(stream[first : first + batch], run_id=run_id)
    return time.perf_counter() - started


def through_copy(stream: list[dict], *, run_id: int) -> float:
    """Seconds of one COPY of the same rows into the table (made ready beforehand)."""
    from django.db import connection

    from provisioning.models import RunEvent

    rows = []
    for event in stream:
        data = event["event_data"]
        created = datetime.fromisoformat(event["created"])
        values = (event["counter"], event["event"], data["task"], data["host"], event["stdout"])
        rows.append((run_id, *values, json.dumps(data), created))
    statement = f"COPY {RunEvent._meta.db_table} ({', '.join(COLUMNS)}) FROM STDIN"
    connection.ensure_connection()
    started = time.perf_counter()
    with connection.connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
    return time.perf_counter() - started


def measure(*, count: int, batch: int, repeat: int) -> tuple[float, float]:
    """Median rows/s of each way over `repeat` rounds, each into runs of its own."""
    from provisioning.models import RunEvent

    stream = events(count)
    run_ids = iter(make_runs(2 * repeat))
    platform, copied = [], []
    for _ in range(repeat):
        platform_run, copy_run = next(run_ids), next(run_ids)
        platform.append(count / through_platform(stream, run_id=platform_run, batch=batch))
        copied.append(count / through_copy(stream, run_id=copy_run))
        for run_id in (platform_run, copy_run):
            stored = RunEvent.objects.filter(run_id=run_id).count()
            if stored != count:
                raise RuntimeError(f"run {run_id} holds {stored} events, not {count}")
    return statistics.median(platform), statistics.median(copied)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2_000, help="events stored each way")
    parser.add_argument("--batch", type=int, default=200, help="events a record_events call")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the median is kept")
    args = parser.parse_args()
    if args.events < 1 or args.batch < 1 or args.repeat < 1:
        parser.error("--events, --batch and --repeat must be at least 1")
    server_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/gangplank")
    tag = secrets.token_hex(4)
    data_root = Path(os.environ.get("GANGPLANK_DATA_DIR") or ROOT / "var" / "bench")
    data_dir = (data_root / f"bench-{tag}").resolve()
    db_name = f"gangplank_bench_{tag}"
    env = {
        "DATABASE_URL": database_url(server_url, db_name),
        "GANGPLANK_DATA_DIR": str(data_dir),
        "GANGPLANK_HTTPS": "false",
    }
    data_dir.mkdir(parents=True)
    created = False
    try:
        admin_sql(server_url, "CREATE DATABASE {}", db_name)
        created = True
        django_ready(env)
        platform, copied = measure(count=args.events, batch=args.batch, repeat=args.repeat)
        print(f"{args.events:,} events, batches of {args.batch}, median of {args.repeat}:")
        print(f"platform: {platform:,.0f} rows/s (record_events)")
        print(f"COPY: {copied:,.0f} rows/s")
        print(f"ratio: {platform / copied:.2f}")
        return 0
    except (OSError, psycopg.Error, RuntimeError) as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1
    finally:
        if "django.db" in sys.modules:
            sys.modules["django.db"].connections.close_all()
        if created:
            admin_sql(server_url, "DROP DATABASE IF EXISTS {} WITH (FORCE)", db_name)
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
