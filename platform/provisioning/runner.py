"""A thin wrapper around ansible-runner. It knows nothing of Django nor of the database.

`run_playbook` lays out a private data dir (mode 0700, removed afterwards, whatever the
end) and runs the playbook in a sandbox of its own (see `sandbox`): its environment is an
allow-list, and what is secret (the inputs as `!unsafe` extra vars, so Ansible treats them
as data, never as templates; credentials' variables, files and SSH keys) reaches the sandbox
through a named pipe and lives only in its memory-backed /tmp. The inventory holds localhost,
with this process's Python, and the target hosts, reached over SSH with their pinned host
keys. Events reach the caller in batches, on the caller's thread. Every secret value it is
given is masked in all it hands over or returns (events, outputs, changes, error).
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
from ansible_runner.config.runner import RunnerConfig

from core.access import Injection, TargetHost
from core.masking import masker
from provisioning import payload, sandbox

BATCH_SECONDS = 0.2
BATCH_SIZE = 200
TICK_SECONDS = 1.0
_END = object()  # put on the event queue by the runner thread when it is done
PAYLOAD_PIPE = "payload"  # the named pipe in the data dir that the sandbox reads its payload from
MAX_MESSAGE = 2000
MISSING_CONTENT = (
    "the collections and roles of this template version are not installed on this worker "
    "({}): a sync of the catalogue on this host installs them again"
)
# What ansible-runner sets for its event callback; the rest of the environment is ours.
RUNNER_ENV = ("ANSIBLE_CALLBACK_PLUGINS", "ANSIBLE_STDOUT_CALLBACK", "AWX_ISOLATED_DATA_DIR")
# Our stdout callback (ansible-runner's, with the reasons of skipped tasks), copied into the
# data dir, which the sandbox sees.
CALLBACK_SOURCE = Path(__file__).with_name("callback_plugin.py")
CALLBACK_NAME = "gangplank_display"
CALLBACK_DIR = "callback_plugins"
# What a skipped task's result says when check mode skipped it: a module's own words ("does
# not support check mode", "Command would have run if not in check mode"), or a condition
# that is false because the run is in check mode.
_CHECK_MODE_MESSAGE = re.compile(r"\bcheck mode\b", re.IGNORECASE)
_NOT_IN_CHECK_MODE = re.compile(r"\bnot\s*\(?\s*ansible_check_mode\b")
# How a playbook ended: ansible-runner's statuses, and ours when it ran out of time.
SUCCESSFUL, FAILED, CANCELED, TIMEOUT = "successful", "failed", "canceled", "timeout"


@dataclass
class PlaybookResult:
    status: str  # SUCCESSFUL, FAILED, CANCELED or TIMEOUT
    rc: int | None
    outputs: dict = field(default_factory=dict)
    error: str = ""
    # Tasks that changed (in check mode: would change), each {"task", "host", "diff"}.
    changes: list[dict] = field(default_factory=list)
    # In check mode, the tasks it skipped, whose effect it could not predict:
    # each {"task", "host", "reason"}, once per task and host.
    skipped: list[dict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == SUCCESSFUL and self.rc == 0


def data_dir_label(run_id: int) -> str:
    """The `label` for the private data dir of run `run_id`, so that a dir left behind
    leads back to its run (see `run_of_data_dir`)."""
    return f"run-{run_id}"


def run_of_data_dir(name: str) -> int | None:
    """The run a data dir's name leads back to, or None for a name `run_playbook` did not
    make with a `data_dir_label`."""
    match = re.fullmatch(r"run-(\d+)-\w+", name)  # <label>-<mkdtemp's random part>
    return int(match[1]) if match else None


def _write_data_dir(root: Path, label: str, files: dict[str, str]) -> Path:
    """The run's private data dir: its project files, nothing secret (that reaches the
    sandbox through a named pipe, see `payload`)."""
    root.mkdir(parents=True, exist_ok=True)
    data_dir = Path(tempfile.mkdtemp(prefix=f"{label}-", dir=root))  # mkdtemp makes it 0700
    project = data_dir / "project"
    for relative, text in files.items():
        target = project.joinpath(*PurePosixPath(relative).parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    (data_dir / CALLBACK_DIR).mkdir()
    shutil.copyfile(CALLBACK_SOURCE, data_dir / CALLBACK_DIR / f"{CALLBACK_NAME}.py")
    return data_dir


def _environment(
    config_env: dict, *, private: str, data_dir: Path, content: Path | None
) -> dict[str, str]:
    """The run's environment: an allow-list, never the worker's own (its database URL,
    keys and tokens); `content`'s collections and roles before Ansible's own paths."""
    bin_dir = str(Path(sys.executable).parent)
    callbacks = [str(data_dir / CALLBACK_DIR), config_env.get("ANSIBLE_CALLBACK_PLUGINS", "")]
    ssh_args = (
        "-C -o ControlMaster=auto -o ControlPersist=60s -o BatchMode=yes "
        f"-o StrictHostKeyChecking=yes -o UserKnownHostsFile={private}/known_hosts "
        "-o GlobalKnownHostsFile=/dev/null"
    )
    return {
        **{name: config_env[name] for name in RUNNER_ENV if name in config_env},
        "ANSIBLE_CALLBACK_PLUGINS": os.pathsep.join(path for path in callbacks if path),
        "ANSIBLE_STDOUT_CALLBACK": CALLBACK_NAME,
        "PATH": f"{bin_dir}{os.pathsep}{sandbox.PATH}",
        "HOME": f"{private}/home",
        "ANSIBLE_HOME": f"{private}/home/.ansible",
        "LANG": os.environ.get("LANG") or "C.UTF-8",
        "ANSIBLE_FORCE_COLOR": "1",
        "ANSIBLE_LOCAL_TEMP": f"{private}/ansible",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_NOCOWS": "1",
        # Modules would log their arguments (secrets among them) to syslog.
        "ANSIBLE_NO_TARGET_SYSLOG": "1",
        "ANSIBLE_HOST_KEY_CHECKING": "True",
        "ANSIBLE_SSH_ARGS": ssh_args,
        "ANSIBLE_TIMEOUT": "10",
        "ANSIBLE_INVENTORY_ENABLED": "yaml",
        **(
            {}
            if content is None
            else sandbox.content_paths(contents=[content], home=f"{private}/home")
        ),
    }


def _private_dir(data_dir: Path, *, sandboxed: bool) -> str:
    """Where the run's secrets live: the sandbox's own tmpfs, or (unsafe) its data dir."""
    return sandbox.PRIVATE_DIR if sandboxed else str(data_dir / "private")


def _runner(
    *, data_dir: Path, playbook: str, check: bool, sandboxed: bool, writable: Sequence[Path],
    content: Path | None, handle: Callable[[dict], bool], stop: threading.Event,
) -> ansible_runner.Runner:  # fmt: skip
    """An ansible-runner Runner whose command is the sandbox's, and environment the run's."""
    config = RunnerConfig(private_data_dir=str(data_dir), playbook=playbook, quiet=True)
    config.prepare()
    # Set here, not as `settings`: RunnerConfig drops those unless env/settings exists.
    config.pexpect_timeout = 0.5
    config.suppress_ansible_output = True
    config.suppress_output_file = True  # a stdout file in the artifacts: the log unmasked
    private = _private_dir(data_dir, sandboxed=sandboxed)
    playbook_command = [
        "ansible-playbook",
        "-i", f"{private}/inventory.yml",
        "-e", f"@{private}/extravars.yml",
        *(["--check", "--diff"] if check else []),
        playbook,
    ]  # fmt: skip
    fifo = str(data_dir / PAYLOAD_PIPE)
    if sandboxed:
        init = [sys.executable, "-I", sandbox.INIT_PATH, fifo, *playbook_command]
        readable = [] if content is None else [content]
        config.command = sandbox.command(
            data_dir=data_dir, writable=writable, readable=readable, argv=init
        )
    else:
        config.command = [sys.executable, "-I", str(sandbox.INIT_SOURCE), fifo, *playbook_command]
    config.env = _environment(config.env, private=private, data_dir=data_dir, content=content)
    return ansible_runner.Runner(config, event_handler=handle, cancel_callback=stop.is_set)


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
    injection: Injection | None = None,
    hosts: Sequence[TargetHost] = (),
    sandboxed: bool = True,
    writable: Sequence[Path] = (),
    content: Path | None = None,
) -> PlaybookResult:
    """Run `playbook` (a path within `files`) in a sandbox and return how it ended.

    `on_events` receives lists of ansible-runner event dicts, in counter order, at most
    every BATCH_SECONDS; `on_tick` is called about every TICK_SECONDS and stops the
    playbook by returning True; past `timeout` seconds the playbook is stopped too. All
    three are called on the calling thread. The run reaches `hosts` over SSH with what
    `injection` gives it (see core.access); `writable` folders are shared with the host.
    `secrets` and the injection's secrets are masked before anything leaves this function.
    The private data dir, named `<label>-<random>` under `data_root`, is removed on the way
    out; without `sandboxed`, the playbook runs as the worker itself (unsafe). `content`
    holds installed collections and roles (catalog.galaxy), read-only to the run.
    """
    if content is not None and not Path(content).is_dir():
        return PlaybookResult(status=FAILED, rc=None, error=MISSING_CONTENT.format(content))
    injection = injection or Injection()
    hide = masker([*secrets, *injection.secrets])
    data_dir = _write_data_dir(Path(data_root), label, files)
    events: queue.SimpleQueue = queue.SimpleQueue()
    outcome: dict = {}
    failures: list[str] = []
    messages: list[str] = []
    changes: list[dict] = []
    skipped: dict[tuple[str, str], dict] = {}
    stop = threading.Event()

    def handle(event: dict) -> bool:
        kind = event.get("event")
        raw = event.get("event_data") or {}
        if kind == "runner_on_ok" and (raw.get("res") or {}).get("changed"):
            # The diff from the values themselves, then masked: masked first, a changed
            # secret's before and after would both read MASK, and the diff show nothing.
            changes.append(hide(_change(raw)))
        if check and kind in ("runner_on_skipped", "runner_item_on_skipped"):
            reason = _check_mode_skip(raw)
            task, host = str(raw.get("task") or ""), str(raw.get("host") or "")
            if reason and (task, host) not in skipped:
                skipped[task, host] = hide({"task": task, "host": host, "reason": reason})
        event = hide(event)
        data = event.get("event_data") or {}
        result = data.get("res") or {}
        where = "" if data.get("host") in (None, "localhost") else f" on {data['host']}"
        if kind == "playbook_on_stats":
            outcome["outputs"] = data.get("artifact_data") or {}
        elif kind == "runner_on_failed" and not data.get("ignore_errors"):
            failures.append(f"{data.get('task', 'a task')}{where}: {result.get('msg') or 'failed'}")
        elif kind == "runner_on_unreachable":
            failures.append(f"{data.get('host')} unreachable: {result.get('msg') or 'no answer'}")
        elif kind == "verbose" and event.get("stdout", "").strip():
            messages.append(event["stdout"].strip())
        events.put(event)
        return False  # kept in the database by the caller, not in artifacts on disk

    def target() -> None:
        try:
            fifo = data_dir / PAYLOAD_PIPE
            os.mkfifo(fifo, 0o600)
            private = _private_dir(data_dir, sandboxed=sandboxed)
            given = payload.build(
                private=private, extravars=extravars, hosts=hosts, injection=injection
            )
            runner = _runner(
                data_dir=data_dir, playbook=playbook, check=check, sandboxed=sandboxed,
                writable=writable, content=content, handle=handle, stop=stop,
            )  # fmt: skip
            feeder = threading.Thread(target=payload.feed, args=(fifo, given, stop), daemon=True)
            feeder.start()
            runner.run()
            outcome["runner"] = runner
        except Exception as exc:  # reported as the run's error, not lost in a thread
            outcome["exception"] = hide(f"{type(exc).__name__}: {exc}")
        finally:
            events.put(_END)

    thread = threading.Thread(target=target, name="ansible-runner", daemon=True)
    watch = _Watch(stop=stop, on_tick=on_tick, timeout=timeout)
    try:
        with sandbox.held(data_dir):
            thread.start()
            _pump(events, on_events, watch)
    finally:
        stop.set()  # the playbook has ended, or the caller failed: never leave it running
        thread.join()
        shutil.rmtree(data_dir, ignore_errors=True)
    runner = outcome.get("runner")
    if runner is None:
        return PlaybookResult(status=FAILED, rc=None, error=outcome.get("exception", "no result"))
    result = PlaybookResult(
        status=TIMEOUT if watch.timed_out else runner.status,
        rc=runner.rc,
        outputs=outcome.get("outputs", {}),
        changes=changes,
        skipped=list(skipped.values()),
    )
    if watch.timed_out:
        result.error = f"timed out after {timeout:g} seconds"
    elif runner.status == CANCELED:
        result.error = "canceled"
    elif not result.ok:
        result.error = "; ".join(failures) or _ended(runner, messages)
    return result


def _ended(runner: ansible_runner.Runner, messages: list[str]) -> str:
    """The error of a run that failed before any task did: what it printed last."""
    said = " ".join(messages[-3:])[-MAX_MESSAGE:]
    ended = f"ansible-playbook ended {runner.status} (rc {runner.rc})"
    return f"{ended}: {said}" if said else ended


def _check_mode_skip(data: dict) -> str:
    """Why check mode skipped the task (or loop item) of a skipped event, or "" when it was
    skipped for a reason of its own (a condition false in any mode)."""
    result = data.get("res") or {}
    message = str(result.get("msg") or "")
    if _CHECK_MODE_MESSAGE.search(message):
        return message
    condition = result.get("false_condition")
    if isinstance(condition, str) and _NOT_IN_CHECK_MODE.search(condition):
        return f"Its condition keeps it out of check mode: {condition}"
    return ""


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
    def lines(value: object) -> list[str]:
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
