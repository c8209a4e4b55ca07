"""The suite's SSH hosts are real, separate hosts: own address, host key, users and homes."""

import shlex
from pathlib import Path

from sshhosts import keypair


def test_it_starts_hosts_with_their_own_host_keys_reachable_as_root(ssh_hosts):
    one, two = ssh_hosts.start("one"), ssh_hosts.start("two")

    assert one.host_key != two.host_key
    assert (one.address, one.port) != (two.address, two.port)
    assert one.root("id -un").strip() == "root"
    assert two.root("id -un").strip() == "root"
    # The client checks the pinned key: one's known_hosts does not fit two.
    two.directory.joinpath("known_hosts").write_text(
        f"{two.known_hosts_line.split()[0]} {one.host_key}\n"
    )
    refused = two.ssh("true")
    assert refused.returncode != 0
    assert "HOST IDENTIFICATION HAS CHANGED" in refused.stderr


def test_it_keeps_users_and_homes_apart_between_hosts(ssh_hosts, tmp_path):
    one, two = ssh_hosts.start("one"), ssh_hosts.start("two")
    key, public = keypair(tmp_path, "alice")

    one.root(
        "useradd --create-home --password '*' alice"
        " && install -d -m 700 -o alice -g alice ~alice/.ssh"
        f" && echo {shlex.quote(public)} > ~alice/.ssh/authorized_keys"
        " && chown alice:alice ~alice/.ssh/authorized_keys && chmod 600 ~alice/.ssh/authorized_keys"
    )

    logged_in = one.ssh("id -un && echo $HOME", user="alice", key=key)
    assert logged_in.stdout.split() == ["alice", "/home/alice"], logged_in
    assert two.ssh("getent passwd alice").returncode == 2
    assert two.root("ls -A /home").strip() == ""
    assert two.ssh("true", user="alice", key=key).returncode == 255
    # Nor on the machine the suite runs on.
    assert "alice" not in Path("/etc/passwd").read_text()


def test_it_makes_a_stopped_host_unreachable(ssh_hosts):
    one, two = ssh_hosts.start("one"), ssh_hosts.start("two")

    one.stop()

    assert one.ssh("true", timeout=30).returncode == 255
    assert two.root("echo up").strip() == "up"


def test_it_falls_back_to_loopback_ports_where_namespaces_cannot_be_made():
    from sshhosts import SshHosts

    hosts = SshHosts()
    hosts.use_netns = False  # as where `ip` is missing
    try:
        one, two = hosts.start("one"), hosts.start("two")
        assert one.address == two.address == "127.0.0.1" and one.port != two.port
        one.root("useradd --no-create-home bob")
        assert two.ssh("getent passwd bob").returncode == 2
    finally:
        hosts.close()
    assert not hosts.base.exists()
