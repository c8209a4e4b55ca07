"""The home page's server time with 10,000 services and 100,000 runs: the median over N
requests for a developer of a big team and for a platform engineer, with its query count.
Its database is its own, created on DATABASE_URL's server and dropped at the end.
Last line: `home: under 100 ms` (or `over`).
"""

import argparse
import os
import random
import secrets
import shutil
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_overhead import ROOT, admin_sql, database_url, django_ready

TARGET_MS = 100.0
BIG_TEAM = 2_000  # services of the developer's team


def build(*, services: int, runs_per_service: int, teams: int, seed: int = 1) -> dict:
    """Teams, users, the example catalogue, `services` services with `runs_per_service` runs
    each spread over 30 days, a few in progress and some waiting for approval."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from approvals.models import Approval
    from catalog.models import Template
    from catalog.services import sync_catalog
    from provisioning.models import Run, Service
    from teams.models import GlobalRole, Team

    rng = random.Random(seed)
    now = timezone.now()
    call_command("create_local_credentials")  # postgres-database needs shared-postgres
    sync_catalog(directory=ROOT / "playbooks")
    templates = list(
        Template.objects.filter(current_version__isnull=False).select_related("current_version")
    )
    for n in range(3):
        Template.objects.create(slug=f"broken-{n}", name=f"Broken {n}", errors=[{"message": "x"}])
    users = get_user_model().objects
    dev = users.create_user(username="dev", password=secrets.token_hex(16))
    ops = users.create_user(username="ops", password=secrets.token_hex(16))
    GlobalRole.objects.create(user=ops, role="platform")
    team_rows = [Team.objects.create(slug=f"team-{n}", name=f"Team {n}") for n in range(teams)]
    team_rows[0].members.add(dev)

    rows = []
    for n in range(services):
        team = team_rows[0] if n < BIG_TEAM else team_rows[1 + n % (teams - 1)]
        template = templates[n % len(templates)]
        roll = rng.random()
        status = "failed" if roll < 0.04 else "deprovisioned" if roll < 0.14 else "active"
        expires = now + timedelta(days=rng.uniform(-2, 40)) if rng.random() < 0.3 else None
        rows.append(
            Service(
                name=f"svc-{n}",
                team=team,
                template=template,
                template_version=template.current_version,
                inputs={"n": n},
                status=status,
                failed_action="update" if status == "failed" else "",
                drifted=status == "active" and rng.random() < 0.03,
                expires_at=expires,
                created_by=dev,
            )
        )
    made = Service.objects.bulk_create(rows, batch_size=2_000)

    runs, approvals = [], []
    for service in made:
        for k in range(runs_per_service):
            last = k == runs_per_service - 1
            status = "failed" if rng.random() < 0.08 else "succeeded"
            if last and service.status != "deprovisioned":
                roll = rng.random()
                status = {0: "queued", 1: "running", 2: "awaiting_approval"}.get(
                    int(roll * 100), status
                )
            action = "provision" if k == 0 else rng.choice(["update", "drift_check", "preview"])
            finished = None
            if status in ("succeeded", "failed"):
                finished = now - timedelta(days=30 * (runs_per_service - k) / runs_per_service)
                finished -= timedelta(minutes=rng.uniform(0, 600))
            runs.append(
                Run(
                    service=service,
                    action=action,
                    status=status,
                    template_version=service.template_version,
                    inputs=service.inputs,
                    created_by=dev,
                    finished_at=finished,
                    started_at=finished - timedelta(seconds=30) if finished else None,
                )
            )
    Run.objects.bulk_create(runs, batch_size=5_000)
    waiting = Run.objects.filter(status="awaiting_approval").select_related("service")
    for run in waiting:
        approvals.append(
            Approval(
                run=run,
                service=run.service,
                approvers="platform",
                requested_by=dev,
                expires_at=now + timedelta(days=rng.uniform(0.1, 7)),
            )
        )
    Approval.objects.bulk_create(approvals)
    with connection.cursor() as cursor:
        # auto_now_add stamped every row "now": spread them as the history says.
        cursor.execute(
            "UPDATE provisioning_run SET created_at = COALESCE(started_at - interval '5 seconds',"
            " now() - (id % 180) * interval '1 minute')"
        )
        cursor.execute(
            "UPDATE provisioning_service s SET last_run_id = r.last FROM (SELECT service_id,"
            " max(id) AS last FROM provisioning_run GROUP BY service_id) r"
            " WHERE r.service_id = s.id"
        )
        cursor.execute("ANALYZE")
    counts = {"services": Service.objects.count(), "runs": Run.objects.count()}
    return {"dev": dev, "ops": ops, **counts}


def measure(user, *, requests: int, warmup: int, show: bool = False) -> tuple[float, int]:
    """Median milliseconds of GET / served in-process (the whole Django stack: middleware,
    view, template), and the queries of one request."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(user)
    timings = []
    for n in range(warmup + requests):
        started = time.perf_counter()
        response = client.get("/")
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"GET / answered {response.status_code}")
        if n >= warmup:
            timings.append(elapsed * 1e3)
    with CaptureQueriesContext(connection) as queries:
        client.get("/")
    if show:
        for query in sorted(queries.captured_queries, key=lambda q: -float(q["time"]))[:5]:
            print(f"  {float(query['time']) * 1e3:6.1f} ms  {query['sql'][:300]}")
    return statistics.median(timings), len(queries)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=10_000)
    parser.add_argument("--runs-per-service", type=int, default=10)
    parser.add_argument("--teams", type=int, default=25)
    parser.add_argument("--requests", type=int, default=30, help="counted requests (30)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--show-queries", action="store_true", help="the 5 slowest of each")
    parser.add_argument("--keep-db", action="store_true", help="keep the database to explore")
    parser.add_argument(
        "--target-ms", type=float, default=TARGET_MS, help=f"exit 1 over it ({TARGET_MS:.0f})"
    )
    args = parser.parse_args()
    server_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/gangplank")
    tag = secrets.token_hex(4)
    data_root = Path(os.environ.get("GANGPLANK_DATA_DIR") or ROOT / "var" / "bench")
    data_dir = (data_root / f"home-{tag}").resolve()
    db_name = f"gangplank_bench_home_{tag}"
    env = {
        "DATABASE_URL": database_url(server_url, db_name), "GANGPLANK_DATA_DIR": str(data_dir),
        "GANGPLANK_HTTPS": "false", "ALLOWED_HOSTS": "testserver", "DEBUG": "false",
        "CELERY_BROKER_URL": "memory://",
    }  # fmt: skip
    data_dir.mkdir(parents=True)
    created = False
    try:
        admin_sql(server_url, "CREATE DATABASE {}", db_name)
        created = True
        django_ready(env, static=True)
        started = time.perf_counter()
        made = build(
            services=args.services, runs_per_service=args.runs_per_service, teams=args.teams
        )
        print(
            f"built {made['services']:,} services and {made['runs']:,} runs"
            f" in {time.perf_counter() - started:.0f} s"
        )
        worst = 0.0
        big = f"developer (team of {min(args.services, BIG_TEAM):,})"
        for label, user in ((big, made["dev"]), ("platform", made["ops"])):
            median, queries = measure(
                user, requests=args.requests, warmup=args.warmup, show=args.show_queries
            )
            worst = max(worst, median)
            print(f"{label}: median {median:.1f} ms over {args.requests}, {queries} queries")
        print(f"home: {'under' if worst < args.target_ms else 'over'} {args.target_ms:.0f} ms")
        return 0 if worst < args.target_ms else 1
    except (OSError, psycopg.Error, RuntimeError) as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1
    finally:
        if "django.db" in sys.modules:
            sys.modules["django.db"].connections.close_all()
        if created and args.keep_db:
            print(f"kept database {db_name}")
        elif created:
            admin_sql(server_url, "DROP DATABASE IF EXISTS {} WITH (FORCE)", db_name)
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
