"""Real OpenSSH servers for the suite, each its own host.

Each host is Debian's `/usr/sbin/sshd` with its own host key, admin key pair (user `root`),
pid file and log, in its own network namespace (a veth pair in a /30 of a private range
picked per session) and in a private mount namespace where a per-host copy of `/etc` and
per-host `/home` and `/root` are bind-mounted: a user created on one host does not exist on
another. Without `ip` (or when a namespace cannot be made) the sshd listens on a free
127.0.0.1 port instead, still in its private mount namespace; without root there are no
per-host users at all, and the tests that need hosts are skipped.
"""

import contextlib
import ipaddress
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from testkit import free_port

SSHD = "/usr/sbin/sshd"
SSH_OPTIONS = ["-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=10"]
START_TIMEOUT = 20


class Unavailable(Exception):
    """Hosts cannot be made here; the message says why."""


def _run(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(argv, check=check, capture_output=True, text=True)


def keypair(directory: Path, name: str) -> tuple[Path, str]:
    """A new ed25519 key pair in `directory`: the private key's path and the public key line."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(path))
    return path, Path(f"{path}.pub").read_text().strip()


def _wait_for_banner(address: str, port: int, process: subprocess.Popen, log: Path) -> None:
    """Poll the port until sshd answers with its banner, or fail at the deadline."""
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"sshd on {address}:{port} died:\n{_tail(log)}")
        with (
            contextlib.suppress(OSError),
            socket.create_connection((address, port), timeout=1) as conn,
        ):
            conn.settimeout(2)
            if conn.recv(64).startswith(b"SSH-2.0-"):
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"sshd on {address}:{port} not ready:\n{_tail(log)}")
        time.sleep(0.05)


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:] if log.exists() else "(no log)"


@dataclass
class SshHost:
    """One running sshd: where it is, its host key, and its admin's key (user root)."""

    name: str
    address: str
    port: int
    directory: Path
    host_key: str  # "<type> <base64>", as an inventory pins it
    admin_key: Path  # the admin's private key file
    netns: str = ""
    veth: str = ""
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def admin_private_key(self) -> str:
        return self.admin_key.read_text()

    @property
    def known_hosts_line(self) -> str:
        where = self.address if self.port == 22 else f"[{self.address}]:{self.port}"
        return f"{where} {self.host_key}"

    @property
    def known_hosts(self) -> Path:
        return self.directory / "known_hosts"

    @property
    def log(self) -> Path:
        return self.directory / "sshd.log"

    def ssh(
        self, command: str, *, user: str = "root", key: Path | None = None, timeout: float = 30
    ) -> subprocess.CompletedProcess:
        """Run `command` on the host as `user` with `key` (the admin's by default), with real
        ssh checking the host's key."""
        argv = [
            "ssh", *SSH_OPTIONS,
            "-o", f"UserKnownHostsFile={self.known_hosts}",
            "-o", "StrictHostKeyChecking=yes",
            "-o", "GlobalKnownHostsFile=/dev/null",
            "-i", str(key or self.admin_key),
            "-p", str(self.port), f"{user}@{self.address}", command,
        ]  # fmt: skip
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)

    def root(self, command: str) -> str:
        """Run `command` as root and return its output; fail on a non-zero exit."""
        result = self.ssh(command)
        assert result.returncode == 0, f"{self.name}: {command!r} -> {result}"
        return result.stdout

    def stop(self) -> None:
        """Stop the sshd: the host no longer answers."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


class SshHosts:
    """Starts hosts on demand; `close()` stops every sshd and removes every namespace and veth."""

    def __init__(self, *, network: ipaddress.IPv4Network | None = None) -> None:
        if os.geteuid() != 0:
            raise Unavailable("SSH hosts need root (network and mount namespaces, per-host users)")
        if not Path(SSHD).exists() or not shutil.which("ssh"):
            raise Unavailable("SSH hosts need openssh-server and openssh-client")
        self.token = secrets.token_hex(3)
        self.use_netns = bool(shutil.which("ip")) and _netns_works(self.token)
        self.network = network or (_pick_network() if self.use_netns else None)
        self.subnets = self.network.subnets(new_prefix=30) if self.network else iter(())
        # Under /run rather than /tmp (mode 1777), so that sshd's StrictModes holds.
        self.base = Path(tempfile.mkdtemp(prefix="gangplank-ssh-", dir="/run"))
        self.hosts: list[SshHost] = []
        # sshd's privilege separation directory, which the Debian package makes at start.
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)

    def start(self, name: str, *, admin_key: Path | None = None) -> SshHost:
        """Start host `name`; root logs in with `admin_key` (a private key with its .pub
        beside it) when given, else with a key pair of the host's own."""
        directory = self.base / name
        directory.mkdir(mode=0o700, parents=True)
        host_key_path = directory / "ssh_host_ed25519_key"
        _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(host_key_path))
        host_key = " ".join(Path(f"{host_key_path}.pub").read_text().split()[:2])
        if admin_key is None:
            admin_key, admin_public = keypair(directory / "admin", "id_ed25519")
        else:
            admin_public = Path(f"{admin_key}.pub").read_text().strip()
        # The host's own /etc, /home and /root.
        _run("cp", "-a", "/etc", str(directory / "etc"))
        (directory / "home").mkdir(mode=0o755)
        (directory / "root" / ".ssh").mkdir(mode=0o700, parents=True)
        (directory / "root").chmod(0o700)
        authorized = directory / "admin_authorized_keys"
        authorized.write_text(admin_public + "\n")
        authorized.chmod(0o600)

        host = SshHost(
            name=name, address="127.0.0.1", port=22, directory=directory,
            host_key=host_key, admin_key=admin_key,
        )  # fmt: skip
        self.hosts.append(host)
        if self.use_netns:
            index = len(self.hosts)
            host.netns = f"gpssh-{self.token}-{index}"
            host.veth = f"gps{self.token}{index}"
            outside, inside = list(next(self.subnets).hosts())
            host.address = str(inside)
            _make_netns(host.netns, host.veth, outside, inside)
        else:
            host.port = free_port()
        host.known_hosts.write_text(host.known_hosts_line + "\n")

        config = directory / "sshd_config"
        config.write_text(
            "\n".join(
                [
                    f"ListenAddress {host.address}:{host.port}",
                    f"HostKey {host_key_path}",
                    f"PidFile {directory / 'sshd.pid'}",
                    f"AuthorizedKeysFile {authorized} .ssh/authorized_keys",
                    "PermitRootLogin prohibit-password",
                    "PubkeyAuthentication yes",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "UsePAM no",
                    # Checks the owner and modes of ~/.ssh and authorized_keys (and of
                    # every directory above the admin's absolute file).
                    f"StrictModes {'yes' if _strict_modes_ok(authorized) else 'no'}",
                    "UseDNS no",
                    "PrintMotd no",
                    "LogLevel VERBOSE",
                    "Subsystem sftp /usr/lib/openssh/sftp-server",
                    "",
                ]
            )
        )
        inner = (
            'mount --bind "$1/etc" /etc && mount --bind "$1/home" /home'
            ' && mount --bind "$1/root" /root'
            ' && exec "$2" -D -e -f "$1/sshd_config"'
        )
        argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c", inner, "sh"]
        argv += [str(directory), SSHD]
        if host.netns:
            argv = ["ip", "netns", "exec", host.netns, *argv]
        with open(host.log, "ab") as log:
            host.process = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )  # fmt: skip
        _wait_for_banner(host.address, host.port, host.process, host.log)
        return host

    def close(self) -> None:
        errors = []
        for host in self.hosts:
            try:
                host.stop()
            except Exception as error:  # clean up the others whatever happens
                errors.append(f"{host.name}: {error}")
            if host.veth:
                _run("ip", "link", "del", host.veth, check=False)
            if host.netns:
                _run("ip", "netns", "del", host.netns, check=False)
        self.hosts.clear()
        shutil.rmtree(self.base, ignore_errors=True)
        assert not errors, errors


def _strict_modes_ok(path: Path) -> bool:
    """Whether every directory above `path` is safe in sshd's eyes (owned by root, not
    group- or world-writable)."""
    for parent in path.parents:
        info = parent.stat()
        if info.st_uid != 0 or info.st_mode & 0o022:
            return False
    return True


def _pick_network() -> ipaddress.IPv4Network:
    """A /24 of 10.200.0.0/13 that no interface or route here uses (random per session)."""
    used = _run("ip", "-4", "route", "show", "table", "all", check=False).stdout
    used += _run("ip", "-4", "addr", check=False).stdout
    for _ in range(50):
        second, third = random.randint(200, 207), random.randint(0, 255)
        network = ipaddress.ip_network(f"10.{second}.{third}.0/24")
        prefix = str(network.network_address).rsplit(".", 1)[0] + "."
        if prefix not in used:
            return network
    raise Unavailable("no free private /24 for the SSH hosts")


def _netns_works(token: str) -> bool:
    name = f"gpssh-{token}-probe"
    made = _run("ip", "netns", "add", name, check=False).returncode == 0
    if made:
        _run("ip", "netns", "del", name, check=False)
    return made


def _make_netns(netns: str, veth: str, outside, inside) -> None:
    peer = veth + "p"
    try:
        _run("ip", "netns", "add", netns)
        _run("ip", "link", "add", veth, "type", "veth", "peer", "name", peer)
        _run("ip", "link", "set", peer, "netns", netns)
        _run("ip", "addr", "add", f"{outside}/30", "dev", veth)
        _run("ip", "link", "set", veth, "up")
        _run("ip", "-n", netns, "addr", "add", f"{inside}/30", "dev", peer)
        _run("ip", "-n", netns, "link", "set", peer, "up")
        _run("ip", "-n", netns, "link", "set", "lo", "up")
    except subprocess.CalledProcessError as error:
        raise RuntimeError(f"cannot make namespace {netns}: {error.stderr}") from error
