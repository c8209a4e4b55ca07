"""What the DORA figures cost with 100,000 runs: a history over ~1,000 services made with
bulk_create in a database of its own (dropped at the end), then the figures for all teams, one
team and one template over 90 days, and a Prometheus scrape, timed at 10,000 runs and at
100,000. Prints each median in ms with its query count, and last
`ratio: <ms at 100,000 / ms at 10,000>` of the figures for all teams.
"""

import argparse
import os
import random
import secrets
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

import psycopg
from run_overhead import ROOT, admin_sql, database_url

TEAMS, SERVICES, SMALL, LARGE, SPAN_DAYS = 10, 1000, 10_000, 100_000, 120
ACTIONS = [("provision", 10), ("update", 50), ("upgrade", 10), ("deprovision", 5),
           ("preview", 15), ("drift_check", 10)]  # fmt: skip
STATUSES = [("succeeded", 85), ("failed", 10), ("canceled", 5)]
CHANGES = {"provision", "update", "upgrade"}


def setup_django(env: dict[str, str], *, services: int = SERVICES):
    """Django on the bench database, migrated, with the catalogue, teams, services, a
    platform engineer; returns (platform engineer, services)."""
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gangplank.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from catalog.models import Template
    from catalog.services import sync_catalog
    from provisioning.models import Service
    from teams.models import GlobalRole, Team

    call_command("prepare_data_dir")
    call_command("migrate", interactive=False, verbosity=0)
    call_command("create_local_credentials")  # postgres-database needs shared-postgres
    sync_catalog(directory=ROOT / "playbooks")
    templates = list(
        Template.objects.filter(current_version__isnull=False).select_related("current_version")
    )
    teams = Team.objects.bulk_create(Team(slug=f"team-{n}", name=f"Team {n}") for n in range(TEAMS))
    user = get_user_model().objects.create_user(username="ops", password=secrets.token_hex(16))
    GlobalRole.objects.create(user=user, role="platform")
    services = Service.objects.bulk_create(
        Service(
            name=f"svc-{n}",
            team=teams[n % TEAMS],
            template=templates[n % len(templates)],
            template_version=templates[n % len(templates)].current_version,
            status="active",
        )
        for n in range(services)
    )
    return user, services


def add_history(services, count: int, rng: random.Random, now) -> None:
    """`count` finished runs at random times over the last SPAN_DAYS days, and the status
    events a failed change and (mostly) its restore leave."""
    from provisioning.models import Run, ServiceEvent

    # The history is in the past: keep the timestamps given, not the time of the insert.
    Run._meta.get_field("created_at").auto_now_add = False
    ServiceEvent._meta.get_field("created_at").auto_now_add = False
    actions, action_weights = zip(*ACTIONS, strict=True)
    statuses, status_weights = zip(*STATUSES, strict=True)
    runs, events = [], []
    for _ in range(count):
        service = services[rng.randrange(len(services))]
        action = rng.choices(actions, action_weights)[0]
        status = rng.choices(statuses, status_weights)[0]
        created = now - timedelta(seconds=rng.uniform(0, SPAN_DAYS * 86400))
        # Mostly seconds to minutes; one request in ten waits hours to days for approval.
        wait = rng.expovariate(1 / 120) + (rng.expovariate(1 / 86400) if rng.random() < 0.1 else 0)
        finished = min(created + timedelta(seconds=wait), now)
        runs.append(Run(service=service, action=action, status=status, created_at=created,
                        started_at=created, finished_at=finished,
                        template_version_id=service.template_version_id))  # fmt: skip
        if action in CHANGES and status == "failed":
            events.append(ServiceEvent(service=service, kind="status", from_status="updating",
                                       to_status="failed", created_at=finished))  # fmt: skip
            if rng.random() < 0.8:
                back = min(finished + timedelta(seconds=rng.expovariate(1 / 7200)), now)
                events.append(ServiceEvent(service=service, kind="status", from_status="updating",
                                           to_status="active", created_at=back))  # fmt: skip
    Run.objects.bulk_create(runs, batch_size=5000)
    ServiceEvent.objects.bulk_create(events, batch_size=5000)


def measure(user, services, repeat: int, show_queries: bool) -> dict:
    """Median ms and query count of the 90-day figures, for all, one team, one template."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from metrics.dora import dora

    cases = {
        "overall": {},
        "team": {"team": services[0].team},
        "template": {"template": services[0].template},
    }
    results = {}
    for name, kwargs in cases.items():
        dora(user=user, days=90, **kwargs)  # warm the caches and the user's role
        timings = []
        for _ in range(repeat):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                report = dora(user=user, days=90, **kwargs)
                timings.append(time.perf_counter() - started)
        results[name] = (statistics.median(timings) * 1e3, len(queries))
        if show_queries:
            for query in queries.captured_queries:
                print(f"    {query['time']}s {query['sql'][:150]}")
        total = report.total
        print(f"  {name:9} {results[name][0]:8.1f} ms, {len(queries)} queries "
              f"(deployments {total.deployments}, failure rate "
              f"{total.change_failure_rate or 0:.3f}, lead median {total.lead_time_median}, "
              f"restores {total.restores})", flush=True)  # fmt: skip
    from prometheus_client import generate_latest

    from metrics.prometheus import registry

    timings = []
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            generate_latest(registry)
            timings.append(time.perf_counter() - started)
    results["/metrics"] = (statistics.median(timings) * 1e3, len(queries))
    print(f"  /metrics  {results['/metrics'][0]:8.1f} ms, {len(queries)} queries", flush=True)
    return results


def bench(args, env: dict[str, str]) -> None:
    from django.db import connection
    from django.utils import timezone

    small_count, large_count = args.runs
    user, services = setup_django(env, services=args.services)
    rng, now = random.Random(args.seed), timezone.now()
    add_history(services, small_count, rng, now)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"{small_count:,} runs:")
    small = measure(user, services, args.repeat, args.queries)
    add_history(services, large_count - small_count, rng, now)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"{large_count:,} runs:")
    large = measure(user, services, args.repeat, args.queries)
    ratio = large["overall"][0] / small["overall"][0]
    print(f"ratio: {ratio:.2f} (overall, {large_count:,} runs / {small_count:,} runs)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed calls of each (5)")
    parser.add_argument("--seed", type=int, default=42, help="of the random history (42)")
    parser.add_argument("--queries", action="store_true", help="print each query and its time")
    parser.add_argument("--services", type=int, default=SERVICES, help=f"({SERVICES:,})")
    parser.add_argument(
        "--runs", type=int, nargs=2, default=[SMALL, LARGE], metavar=("SMALL", "LARGE"),
        help=f"runs of the first and the second measure ({SMALL:,} {LARGE:,})",
    )  # fmt: skip
    args = parser.parse_args()
    if not (0 < args.runs[0] < args.runs[1] and args.services > 0):
        parser.error("--runs needs 0 < SMALL < LARGE, and --services at least 1")
    server_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/gangplank")
    if not server_url.startswith("postgres"):
        print("bench/dora.py needs a PostgreSQL DATABASE_URL", file=sys.stderr)
        return 1
    tag = secrets.token_hex(4)
    db_name = f"gangplank_bench_dora_{tag}"
    data_root = Path(os.environ.get("GANGPLANK_DATA_DIR") or ROOT / "var" / "bench")
    data_root.mkdir(parents=True, exist_ok=True)
    env = {"DATABASE_URL": database_url(server_url, db_name), "GANGPLANK_HTTPS": "false",
           "GANGPLANK_DATA_DIR": str(data_root.resolve())}  # fmt: skip
    created = False
    try:
        admin_sql(server_url, "CREATE DATABASE {}", db_name)
        created = True
        bench(args, env)
        return 0
    except (OSError, psycopg.Error) as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1
    finally:
        if "django.db" in sys.modules:
            sys.modules["django.db"].connections.close_all()
        if created:
            admin_sql(server_url, "DROP DATABASE IF EXISTS {} WITH (FORCE)", db_name)


if __name__ == "__main__":
    sys.exit(main())
