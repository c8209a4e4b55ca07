"""kombu's filesystem transport, the embedded broker of `make run`, made to stop promptly.

The transport cannot wake on a new message: Celery's worker polls it in cycles of 2 s
(`drain_events(timeout=2.0)`) and, once told to stop, runs one more cycle before it shuts
down, so a warm shutdown spent up to 4 s polling an idle queue. This transport ends its
wait as soon as the worker is shutting down, and polls more often, so that a request is
also picked up sooner.
"""

import threading
from queue import Empty
from time import monotonic
from typing import Any

from celery.signals import worker_shutting_down
from kombu.transport import filesystem

_stopping = threading.Event()


@worker_shutting_down.connect
def _stop_polling(**kwargs: Any) -> None:
    _stopping.set()


class Transport(filesystem.Transport):
    polling_interval = 0.2

    def drain_events(self, connection: Any, timeout: float | None = None, **kwargs: Any) -> None:
        cycle = self.cycle
        assert cycle is not None  # made in __init__
        started = monotonic()
        while True:
            try:
                cycle.get(self._deliver, timeout=timeout)
            except Empty:
                waited = monotonic() - started
                if _stopping.is_set() or (timeout is not None and waited >= timeout):
                    raise TimeoutError() from None  # socket.timeout, which Celery expects
                pause = self.polling_interval or 0
                if timeout is not None:
                    pause = min(pause, timeout - waited)
                _stopping.wait(pause)
            else:
                return
