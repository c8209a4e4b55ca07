"""A TCP proxy on a loopback port that holds its first connections until all of them have
arrived, then lets them through together: two runs that talk to a server through it start
their first session at the same moment, so a check-then-act race between them happens
every time instead of now and then."""

import contextlib
import socket
import threading
from collections.abc import Iterator


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


class Gate:
    def __init__(self, *, upstream: tuple[str, int], hold: int) -> None:
        self.upstream = upstream
        self.hold = hold
        self.held: list[socket.socket] = []
        self.opened = False
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]

    def _forward(self, client: socket.socket) -> None:
        server = socket.create_connection(self.upstream)
        self.sockets.append(server)
        for source, sink in ((client, server), (server, client)):
            threading.Thread(target=_pipe, args=(source, sink), daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                client, _ = self.listener.accept()
                with self.lock:
                    self.sockets.append(client)
                    if self.opened:
                        self._forward(client)
                        continue
                    self.held.append(client)
                    if len(self.held) >= self.hold:
                        self.opened = True
                        for waiting in self.held:
                            self._forward(waiting)

    @contextlib.contextmanager
    def running(self) -> Iterator["Gate"]:
        threading.Thread(target=self._accept, daemon=True).start()
        try:
            yield self
        finally:
            with contextlib.suppress(OSError):
                self.listener.shutdown(socket.SHUT_RDWR)
            self.listener.close()
            for sock in self.sockets:
                with contextlib.suppress(OSError):
                    sock.close()
