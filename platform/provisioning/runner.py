"""A thin wrapper around ansible-runner. It knows nothing of the database.

`run_playbook` lays out a private data dir (mode 0700, removed afterwards, whatever the
end), writes the inputs as `!unsafe` extra vars so Ansible treats them as data, never as
templates, runs the playbook against localhost with this process's Python, and hands the
events to the caller in batches, on the caller's thread.
"""

import os
import queue
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import ansible_runner
import yaml

BATCH_SECONDS = 0.2
BATCH_SIZE = 200
_END = object()  # put on the event queue by the runner thread when it is done


@dataclass
class PlaybookResult:
    status: str  # ansible-runner's: successful, failed, canceled, timeout
    rc: int | None
    outputs: dict = field(default_factory=dict)
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "successful" and self.rc == 0


class _UnsafeDumper(yaml.SafeDumper):
    pass


def _represent_unsafe(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    return dumper.represent_scalar("!unsafe", value, style='"')


def _represent_mapping(dumper: yaml.SafeDumper, value: dict) -> yaml.Node:
    # Keys stay plain strings: they name variables, only values carry user data.
    pairs = [
        (dumper.represent_scalar("tag:yaml.org,2002:str", str(key)), dumper.represent_data(item))
        for key, item in sorted(value.items())
    ]
    return yaml.MappingNode("tag:yaml.org,2002:map", pairs)


_UnsafeDumper.add_representer(str, _represent_unsafe)
_UnsafeDumper.add_representer(dict, _represent_mapping)


def unsafe_yaml(variables: dict) -> str:
    """YAML for extra vars where every string is tagged `!unsafe` (never templated)."""
    return yaml.dump(variables, Dumper=_UnsafeDumper, sort_keys=True, allow_unicode=True)


def _write_data_dir(root: Path, files: dict[str, str], extravars: dict) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    data_dir = Path(tempfile.mkdtemp(prefix="run-", dir=root))  # mkdtemp makes it 0700
    project = data_dir / "project"
    for relative, text in files.items():
        target = project.joinpath(*PurePosixPath(relative).parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    (data_dir / "inventory").mkdir()
    (data_dir / "inventory" / "hosts").write_text(
        f"localhost ansible_connection=local ansible_python_interpreter={sys.executable}\n"
    )
    (data_dir / "env").mkdir()
    (data_dir / "env" / "extravars").write_text(unsafe_yaml(extravars), encoding="utf-8")
    (data_dir / "tmp").mkdir()
    return data_dir


def run_playbook(
    *,
    files: dict[str, str],
    playbook: str,
    extravars: dict,
    on_events: Callable[[list[dict]], None],
    data_root: Path,
    check: bool = False,
) -> PlaybookResult:
    """Run `playbook` (a path within `files`) and return how it ended.

    `on_events` receives lists of ansible-runner event dicts, in counter order, at most
    every BATCH_SECONDS, always on the calling thread.
    """
    data_dir = _write_data_dir(Path(data_root), files, extravars)
    events: queue.SimpleQueue = queue.SimpleQueue()
    outcome: dict = {}
    failures: list[str] = []

    def handle(event: dict) -> bool:
        data = event.get("event_data") or {}
        if event.get("event") == "playbook_on_stats":
            outcome["outputs"] = data.get("artifact_data") or {}
        if event.get("event") == "runner_on_failed" and not data.get("ignore_errors"):
            message = (data.get("res") or {}).get("msg") or "failed"
            failures.append(f"{data.get('task', 'a task')}: {message}")
        events.put(event)
        return False  # kept in the database by the caller, not in artifacts on disk

    def target() -> None:
        try:
            bin_dir = str(Path(sys.executable).parent)
            outcome["runner"] = ansible_runner.run(
                private_data_dir=str(data_dir),
                playbook=playbook,
                cmdline="--check --diff" if check else None,
                quiet=True,
                event_handler=handle,
                cancel_callback=lambda: False,
                envvars={
                    "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
                    "ANSIBLE_FORCE_COLOR": "1",
                    "ANSIBLE_LOCAL_TEMP": str(data_dir / "tmp"),
                    "ANSIBLE_REMOTE_TEMP": str(data_dir / "tmp"),
                    "ANSIBLE_RETRY_FILES_ENABLED": "0",
                    "ANSIBLE_NOCOWS": "1",
                },
                settings={"suppress_ansible_output": True},
            )
        except Exception as exc:  # reported as the run's error, not lost in a thread
            outcome["exception"] = f"{type(exc).__name__}: {exc}"
        finally:
            events.put(_END)

    thread = threading.Thread(target=target, name="ansible-runner", daemon=True)
    try:
        thread.start()
        _pump(events, on_events)
    finally:
        thread.join()
        shutil.rmtree(data_dir, ignore_errors=True)
    runner = outcome.get("runner")
    if runner is None:
        return PlaybookResult(status="failed", rc=None, error=outcome.get("exception", "no result"))
    result = PlaybookResult(status=runner.status, rc=runner.rc, outputs=outcome.get("outputs", {}))
    if not result.ok:
        result.error = (
            "; ".join(failures) or f"ansible-playbook ended {runner.status} (rc {runner.rc})"
        )
    return result


def _pump(events: queue.SimpleQueue, on_events: Callable[[list[dict]], None]) -> None:
    """Hand events over in batches until the runner thread says it has ended."""
    batch: list[dict] = []
    deadline = time.monotonic() + BATCH_SECONDS
    while True:
        try:
            event = events.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            event = None
        if event is _END:
            break
        if event is not None:
            batch.append(event)
        if batch and (len(batch) >= BATCH_SIZE or time.monotonic() >= deadline):
            on_events(batch)
            batch = []
        if time.monotonic() >= deadline:
            deadline = time.monotonic() + BATCH_SECONDS
    if batch:
        on_events(batch)
