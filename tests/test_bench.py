"""The benches still run: a smoke run of each (the smallest sizes), as `make bench*` runs them,
each in a database of its own; it ends well and prints its figures and its last line."""

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

BIN = Path(sys.executable).parent
NUMBER = r"[\d.,]+"
SMOKE = {  # the smallest runs of each bench, started together (about 50 s on 2 cores, loaded)
    "run_overhead": ["--runs", "1", "--warmup", "0"],
    "dora": ["--services", "20", "--runs", "100", "400", "--repeat", "1"],
    "home": [
        *("--services", "60", "--runs-per-service", "2", "--teams", "3"),
        *("--requests", "1", "--warmup", "1"),
        # Load from other runs on the machine is no regression: the real bench keeps 100 ms.
        *("--target-ms", "2000"),
    ],
    "events": ["--events", "50", "--batch", "20", "--repeat", "1"],
}
DEADLINE = 240


@pytest.fixture(scope="module")
def benches(request, tmp_path_factory) -> dict:
    """The smoke runs of the benches this session tests, started at once, each with a data
    dir of its own: {name: (process, its output file, its data dir)}."""
    selected = {item.name for item in request.session.items if item.module is request.module}
    started = {}
    for name, args in SMOKE.items():
        if f"test_it_runs_the_{name}_bench" not in selected:
            continue
        folder = tmp_path_factory.mktemp(f"bench-{name}")
        data_dir, output = folder / "data", folder / "output.txt"
        data_dir.mkdir()
        env = {
            **os.environ,
            "GANGPLANK_DATA_DIR": str(data_dir),
            "GANGPLANK_HTTPS": "false",
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        }
        with open(output, "wb") as handle:
            command = [sys.executable, str(ROOT / "bench" / f"{name}.py"), *args]
            process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT
            )
        started[name] = (process, output, data_dir)
    yield started
    for process, _, _ in started.values():
        if process.poll() is None:  # SIGINT: the bench still drops its database on the way out
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def finished(benches: dict, name: str) -> tuple[list[str], Path]:
    """The bench's output lines once it exited 0, and its data dir."""
    process, output, data_dir = benches[name]
    try:
        process.wait(timeout=DEADLINE)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{name} still runs after {DEADLINE} s:\n{output.read_text()}")
    text = output.read_text()
    assert process.returncode == 0, f"{name} exited {process.returncode}:\n{text}"
    return text.strip().splitlines(), data_dir


def assert_lines(lines: list[str], *patterns: str) -> None:
    """Each pattern matches a line of its own, in this order."""
    rest = iter(lines)
    for pattern in patterns:
        assert any(re.fullmatch(pattern, line.strip()) for line in rest), (pattern, lines)


@pytest.mark.worker  # the bench starts a celery worker
def test_it_runs_the_run_overhead_bench(benches):
    lines, data_dir = finished(benches, "run_overhead")

    assert_lines(
        lines,
        rf"platform #1: +{NUMBER} ms \(queued \d+, in worker \d+, http\+poll -?\d+ ms\)",
        rf"bare +#1: +{NUMBER} ms",
        rf"sandbox start: {NUMBER} ms \(bwrap \.\.\. true\) vs {NUMBER} ms \(true\)",
        rf"platform median: {NUMBER} ms over 1 runs",
        rf"bare median: {NUMBER} ms over 1 runs",
        rf"platform overhead: -?{NUMBER} ms",
    )
    assert re.fullmatch(rf"ratio: {NUMBER}", lines[-1]), lines
    assert list(data_dir.iterdir()) == []  # its own data dir within, removed


def test_it_runs_the_dora_bench(benches):
    lines, _ = finished(benches, "dora")

    figures = [
        rf"overall +{NUMBER} ms, 6 queries \(deployments \d+, .*\)",
        rf"team +{NUMBER} ms, 6 queries \(.*\)",
        rf"template +{NUMBER} ms, 6 queries \(.*\)",
        rf"/metrics +{NUMBER} ms, \d+ queries",
    ]
    assert_lines(lines, "100 runs:", *figures, "400 runs:", *figures)
    assert re.fullmatch(rf"ratio: {NUMBER} \(overall, 400 runs / 100 runs\)", lines[-1]), lines


def test_the_dora_bench_refuses_sizes_that_make_no_sense():
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "dora.py"), "--runs", "400", "100"],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 2
    assert "--runs needs 0 < SMALL < LARGE" in done.stderr


def test_it_runs_the_home_bench(benches):
    lines, data_dir = finished(benches, "home")

    assert_lines(
        lines,
        r"built 60 services and 120 runs in \d+ s",
        rf"developer \(team of 60\): median {NUMBER} ms over 1, \d+ queries",
        rf"platform: median {NUMBER} ms over 1, \d+ queries",
    )
    assert lines[-1] == "home: under 2000 ms"
    assert list(data_dir.iterdir()) == []


def test_it_runs_the_events_bench(benches):
    lines, data_dir = finished(benches, "events")

    assert_lines(
        lines,
        r"50 events, batches of 20, median of 1:",
        rf"platform: {NUMBER} rows/s \(record_events\)",
        rf"COPY: {NUMBER} rows/s",
    )
    assert re.fullmatch(rf"ratio: {NUMBER}", lines[-1]), lines
    assert list(data_dir.iterdir()) == []
