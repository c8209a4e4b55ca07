"""What `make run` starts once the set-up is done: honcho running the Procfile's web, worker
and beat, stopped cleanly by Ctrl-C, with the URL and login printed once all three are up.

- Ctrl-C reaches this process alone. A terminal sends it to its foreground process group,
  which was make's too; make then reports the interrupted recipe as an error. This process
  takes the foreground for a group of its own, and gives it back when it ends.
- Each process is stopped by signalling it alone, as a container runtime does. honcho
  signals each process's whole group, which killed the worker's pool processes in the
  middle of Celery's warm shutdown (so the Procfile `exec`s its commands: the signal
  reaches the program, not a shell). A process gets GRACE seconds before it is killed.
- The URL and login come last, under the processes' banners, where they stay visible.
"""

import os
import re
import signal
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path

import honcho.manager
from honcho import environ
from honcho.compat import ProcessManager
from honcho.manager import Manager
from honcho.printer import Message, Printer

ROOT = Path(__file__).resolve().parent.parent
GRACE = 8  # seconds (honcho's is 5, shorter than a worker's warm shutdown on a busy machine)
# What the worker and beat print once they are up.
READY = {"worker": re.compile(r"celery@\S+ ready\."), "beat": re.compile(r"beat: Starting\.\.\.")}


class SignalTheProcess(ProcessManager):
    """Stops a process by signalling it, not its group; honcho kills the group after GRACE."""

    def terminate(self, pid: int) -> None:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)


class WatchingPrinter(Printer):
    """honcho's printer, noting when the worker and beat say they are up."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.up = {name: threading.Event() for name in READY}

    def write(self, message: Message) -> None:
        super().write(message)
        kind = (message.name or "").split(".")[0]
        if kind in READY and not self.up[kind].is_set():
            text = message.data
            if isinstance(text, bytes):
                text = text.decode(errors="replace")
            if READY[kind].search(text):
                self.up[kind].set()


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def announce(manager: Manager, printer: WatchingPrinter, port: int) -> None:
    """Once the portal answers and the worker and beat are up: the URL and how to log in."""
    while not answers(f"http://127.0.0.1:{port}/healthz"):
        time.sleep(0.2)
    for event in printer.up.values():
        event.wait()
    # The settings' default data dir; `make run` sets no other unless GANGPLANK_DATA_DIR does.
    data = Path(os.environ.get("GANGPLANK_DATA_DIR") or ROOT / "var")
    shown = os.path.relpath(data) if data.is_relative_to(Path.cwd()) else str(data)
    password_file = data / "admin-password"
    try:
        login = f"Log in as admin, password {password_file.read_text().strip()}"
    except OSError:
        login = "Log in as admin"
    lines = [
        "",
        f"Gangplank is running on http://127.0.0.1:{port}/",
        f"{login} (the generated one, kept in {os.path.join(shown, 'admin-password')}).",
        f"Ctrl-C stops web, worker and beat; the data stays in {shown}/.",
        "",
    ]
    for line in lines:
        manager.events.put(Message("line", line, datetime.now(), "system", None))


@contextmanager
def foreground() -> Iterator[None]:
    """This process in a process group of its own, in the terminal's foreground (when there
    is a terminal and make has its foreground); the foreground back to make at the end."""
    try:
        tty = os.open("/dev/tty", os.O_RDWR)
    except OSError:
        yield
        return
    try:
        if os.tcgetpgrp(tty) != os.getpgrp():  # make runs in the background: leave it so
            yield
            return
        try:
            os.setpgid(0, 0)
        except OSError:  # a session leader already: nobody shares its group
            yield
            return
        with give_terminal(tty, os.getpgrp()):
            yield
    finally:
        os.close(tty)


@contextmanager
def give_terminal(tty: int, group: int) -> Iterator[None]:
    # A background group setting the foreground gets SIGTTOU unless it ignores it.
    previous = os.tcgetpgrp(tty)
    signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    os.tcsetpgrp(tty, group)
    # Ctrl-Z would stop this process but not make: the terminal would hang on a stopped group.
    signal.signal(signal.SIGTSTP, signal.SIG_IGN)
    try:
        yield
    finally:
        with suppress(OSError):
            os.tcsetpgrp(tty, previous)


def main() -> int:
    port = int(os.environ.get("PORT", "8000"))
    # The links in notifications and the sources' webhook URLs name this server.
    os.environ.setdefault("GANGPLANK_BASE_URL", f"http://127.0.0.1:{port}")
    procfile = environ.parse_procfile((ROOT / "Procfile").read_text())
    printer = WatchingPrinter(sys.stdout)
    manager = Manager(printer)
    manager._procmgr = SignalTheProcess()
    honcho.manager.KILL_WAIT = GRACE
    for process in environ.expand_processes(procfile.processes, port=port):
        manager.add_process(process.name, process.cmd, env={**os.environ, **process.env})
    threading.Thread(target=announce, args=(manager, printer, port), daemon=True).start()
    with foreground():
        manager.loop()
    codes = [process.get("returncode") for process in manager._processes.values()]
    # Stopped on request (Ctrl-C, SIGTERM), and every process ended well: a clean stop.
    if manager.returncode in (130, 143) and all(code == 0 for code in codes):
        return 0
    return manager.returncode or 1


if __name__ == "__main__":
    sys.exit(main())
