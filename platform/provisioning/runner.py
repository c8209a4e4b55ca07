"""A thin wrapper around ansible-runner. It knows nothing of the database.

`run_playbook` lays out a private data dir (mode 0700, removed afterwards, whatever the
end), writes the inputs as `!unsafe` extra vars so Ansible treats them as data, never as
templates, runs the playbook against localhost with this process's Python, and hands the
events to the caller in batches, on the caller's thread. Every secret value it is given is
masked in all it hands over or returns (events, outputs, changes, error).
"""

import difflib
import json
import os
import queue
import re
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import ansible_runner
import yaml

from core.masking import masker

BATCH_SECONDS = 0.2
BATCH_SIZE = 200
TICK_SECONDS = 1.0
_END = object()  # put on the event queue by the runner thread when it is done


@dataclass
class PlaybookResult:
    status: str  # ansible-runner's: successful, failed, canceled, timeout
    rc: int | None
    outputs: dict = field(default_factory=dict)
    error: str = ""
    # Tasks that changed (in check mode: would change), each {"task", "host", "diff"}.
    changes: list[dict] = field(default_factory=list)

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


def data_dir_label(run_id: int) -> str:
    """The `label` for the private data dir of run `run_id`, so that a dir left behind
    leads back to its run (see `run_of_data_dir`)."""
    return f"run-{run_id}"


def run_of_data_dir(name: str) -> int | None:
    """The run a data dir's name leads back to, or None for a name `run_playbook` did not
    make with a `data_dir_label`."""
    match = re.fullmatch(r"run-(\d+)-\w+", name)  # <label>-<mkdtemp's random part>
    return int(match[1]) if match else None


def _write_data_dir(root: Path, label: str, files: dict[str, str], extravars: dict) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    data_dir = Path(tempfile.mkdtemp(prefix=f"{label}-", dir=root))  # mkdtemp makes it 0700
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
    on_tick: Callable[[], bool] | None = None,
    timeout: float | None = None,
    secrets: Sequence[str] = (),
    label: str = "run",
) -> PlaybookResult:
    """Run `playbook` (a path within `files`) and return how it ended.

    `on_events` receives lists of ansible-runner event dicts, in counter order, at most
    every BATCH_SECONDS; `on_tick` is called about every TICK_SECONDS and stops the
    playbook by returning True; past `timeout` seconds the playbook is stopped too. All
    three are called on the calling thread. `secrets` (values within `extravars`) are masked
    before anything leaves this function. The private data dir, named `<label>-<random>`
    under `data_root`, is removed on the way out.
    """
    hide = masker(secrets)
    data_dir = _write_data_dir(Path(data_root), label, files, extravars)
    events: queue.SimpleQueue = queue.SimpleQueue()
    outcome: dict = {}
    failures: list[str] = []
    changes: list[dict] = []
    stop = threading.Event()

    def handle(event: dict) -> bool:
        event = hide(event)
        data = event.get("event_data") or {}
        kind = event.get("event")
        result = data.get("res") or {}
        if kind == "playbook_on_start":
            # ansible-playbook has read its extra vars: a worker killed from now on leaves
            # no secret behind in the data dir.
            (data_dir / "env" / "extravars").unlink(missing_ok=True)
        elif kind == "playbook_on_stats":
            outcome["outputs"] = data.get("artifact_data") or {}
        elif kind == "runner_on_failed" and not data.get("ignore_errors"):
            failures.append(f"{data.get('task', 'a task')}: {result.get('msg') or 'failed'}")
        elif kind == "runner_on_ok" and result.get("changed"):
            changes.append(_change(data))
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
                cancel_callback=stop.is_set,
                envvars={
                    "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
                    "ANSIBLE_FORCE_COLOR": "1",
                    "ANSIBLE_LOCAL_TEMP": str(data_dir / "tmp"),
                    "ANSIBLE_REMOTE_TEMP": str(data_dir / "tmp"),
                    "ANSIBLE_RETRY_FILES_ENABLED": "0",
                    "ANSIBLE_NOCOWS": "1",
                    # Modules would log their arguments (secrets among them) to syslog.
                    "ANSIBLE_NO_TARGET_SYSLOG": "1",
                },
                # No stdout file in the artifacts: it would hold the log unmasked.
                settings={
                    "suppress_ansible_output": True,
                    "suppress_output_file": True,
                    "pexpect_timeout": 0.5,
                },
            )
        except Exception as exc:  # reported as the run's error, not lost in a thread
            outcome["exception"] = hide(f"{type(exc).__name__}: {exc}")
        finally:
            events.put(_END)

    thread = threading.Thread(target=target, name="ansible-runner", daemon=True)
    watch = _Watch(stop=stop, on_tick=on_tick, timeout=timeout)
    try:
        thread.start()
        _pump(events, on_events, watch)
    finally:
        stop.set()  # the playbook has ended, or the caller failed: never leave it running
        thread.join()
        shutil.rmtree(data_dir, ignore_errors=True)
    runner = outcome.get("runner")
    if runner is None:
        return PlaybookResult(status="failed", rc=None, error=outcome.get("exception", "no result"))
    result = PlaybookResult(
        status="timeout" if watch.timed_out else runner.status,
        rc=runner.rc,
        outputs=outcome.get("outputs", {}),
        changes=changes,
    )
    if watch.timed_out:
        result.error = f"timed out after {timeout:g} seconds"
    elif runner.status == "canceled":
        result.error = "canceled"
    elif not result.ok:
        result.error = (
            "; ".join(failures) or f"ansible-playbook ended {runner.status} (rc {runner.rc})"
        )
    return result


def _change(data: dict) -> dict:
    """A changed task as {"task", "host", "diff"}, the diff as unified text."""
    diffs = (data.get("res") or {}).get("diff") or []
    if isinstance(diffs, dict):
        diffs = [diffs]
    texts = []
    for diff in diffs:
        if "prepared" in diff:
            texts.append(str(diff["prepared"]))
        elif "before" in diff or "after" in diff:
            texts.append(_unified(diff))
    return {"task": data.get("task", ""), "host": data.get("host", ""), "diff": "\n".join(texts)}


def _unified(diff: dict) -> str:
    def lines(value) -> list[str]:
        if isinstance(value, dict | list):
            value = json.dumps(value, indent=2, sort_keys=True)
        return str(value or "").splitlines(keepends=True)

    return "".join(
        difflib.unified_diff(
            lines(diff.get("before")),
            lines(diff.get("after")),
            fromfile=str(diff.get("before_header") or "before"),
            tofile=str(diff.get("after_header") or "after"),
        )
    )


@dataclass
class _Watch:
    """The caller's checks between batches: its tick (heartbeat, cancel) and the timeout."""

    stop: threading.Event
    on_tick: Callable[[], bool] | None
    timeout: float | None
    started: float = field(default_factory=time.monotonic)
    next_tick: float = 0.0
    timed_out: bool = False

    def check(self) -> None:
        now = time.monotonic()
        if (
            self.timeout is not None
            and now - self.started > self.timeout
            and not self.stop.is_set()
        ):
            self.timed_out = True
            self.stop.set()
        if self.on_tick is not None and now >= self.next_tick:
            self.next_tick = now + TICK_SECONDS
            if self.on_tick():
                self.stop.set()


def _pump(
    events: queue.SimpleQueue, on_events: Callable[[list[dict]], None], watch: _Watch
) -> None:
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
            watch.check()
    if batch:
        on_events(batch)
