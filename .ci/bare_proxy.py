"""The package mirrors, and nothing else, for a machine in a network namespace of its own.

Listens on 127.0.0.1:PORT *inside* the namespace given (a path such as /run/netns/NAME) and
connects out from this machine's namespace: apt's plain HTTP requests are relayed as sent
(servers accept the absolute form), pip's HTTPS goes through CONNECT. Only the hosts in
ALLOWED are reached; any other gets 403. Used by .ci/bare-debian; stops with its parent.
"""

import contextlib
import ctypes
import os
import socket
import sys
import threading

ALLOWED = {"deb.debian.org", "pypi.org", "files.pythonhosted.org"}
CLONE_NEWNET = 0x40000000


def setns(fd: int) -> None:
    if ctypes.CDLL(None, use_errno=True).setns(fd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns")


def relay(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, target):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def serve(client: socket.socket) -> None:
    with client:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = client.recv(65536)
            if not chunk or len(head) > 65536:
                return
            head += chunk
        method, target = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")[:2]
        if method == "CONNECT":
            host, port = target.rsplit(":", 1)
        elif target.startswith("http://"):
            host, _, port = target[len("http://") :].split("/", 1)[0].partition(":")
            port = port or "80"
        else:
            host = port = ""
        if host not in ALLOWED or port not in ("80", "443"):
            client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return
        try:
            upstream = socket.create_connection((host, int(port)), timeout=30)
        except OSError:
            client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return
        with upstream:
            upstream.settimeout(None)
            if method == "CONNECT":
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                rest = head.split(b"\r\n\r\n", 1)[1]
                if rest:
                    upstream.sendall(rest)
            else:
                upstream.sendall(head)
            back = threading.Thread(target=relay, args=(upstream, client), daemon=True)
            back.start()
            relay(client, upstream)
            back.join()


def main() -> None:
    namespace, port = sys.argv[1], int(sys.argv[2])
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    inside = os.open(namespace, os.O_RDONLY)
    setns(inside)
    listener = socket.create_server(("127.0.0.1", port))
    setns(home)  # what it connects to, it connects to from here
    print(f"proxy for {', '.join(sorted(ALLOWED))} on 127.0.0.1:{port} in {namespace}", flush=True)
    while True:
        client, _ = listener.accept()
        threading.Thread(target=serve, args=(client,), daemon=True).start()


if __name__ == "__main__":
    main()
