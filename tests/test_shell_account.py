"""The "Shell account" example's playbooks, run by the sandboxed runner against two real sshd
hosts (tests/sshhosts.py), as the worker runs them: inputs as unsafe extra vars, the hosts
in group `targets`, the admin key in the sandbox's ssh-agent, host keys pinned."""

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from core.access import Injection, TargetHost
from provisioning.runner import run_playbook
from sshhosts import keypair

TEMPLATE = Path(__file__).resolve().parent.parent / "playbooks" / "shell-account"
FILES = {
    str(path.relative_to(TEMPLATE)): path.read_text()
    for path in sorted(TEMPLATE.rglob("*"))
    if path.is_file()
}


@pytest.fixture
def admin_key(tmp_path):
    return keypair(tmp_path / "admin", "id_ed25519")[0]


@pytest.fixture
def shell_hosts(ssh_hosts, admin_key):
    return [ssh_hosts.start(name, admin_key=admin_key) for name in ("shell-a", "shell-b")]


def targets(hosts, **host_keys) -> list[TargetHost]:
    return [
        TargetHost(
            name=host.name, address=host.address, port=host.port, groups=("shell",),
            host_keys=(host_keys.get(host.name.replace("-", "_"), host.host_key),),
        )
        for host in hosts
    ]  # fmt: skip


def run(action: str, inputs: dict, *, hosts, admin_key, data_root, service_id=41, **host_keys):
    events = []
    result = run_playbook(
        files=FILES,
        playbook=f"{action}.yml",
        extravars={**inputs, "gangplank": {"service_id": service_id, "action": action}},
        on_events=events.extend,
        data_root=data_root,
        hosts=targets(hosts, **host_keys),
        injection=Injection(
            ssh_keys=[admin_key.read_text()], remote_user="root", secrets=[admin_key.read_text()]
        ),
    )
    return result, events


def test_it_creates_updates_and_removes_the_account_on_every_host(shell_hosts, admin_key, tmp_path):
    old_key, old_public = keypair(tmp_path / "dev", "old")
    new_key, new_public = keypair(tmp_path / "dev", "new")
    # A Jinja expression in the comment stays as written: inputs are data.
    literal = old_public.rsplit(" ", 1)[0] + " me {{ lookup('pipe', 'id') }}"
    common = {"hosts": shell_hosts, "admin_key": admin_key, "data_root": tmp_path / "runs"}
    (tmp_path / "runs").mkdir()

    result, _ = run("provision", {"username": "dora", "public_key": literal}, **common)

    assert result.ok, result.error
    assert result.outputs == {"username": "dora", "hosts": ["shell-a", "shell-b"]}
    for host in shell_hosts:
        logged_in = host.ssh("id -un && cat ~/.ssh/authorized_keys", user="dora", key=old_key)
        assert logged_in.stdout.splitlines() == ["dora", literal], (host.name, logged_in)
        assert host.root("getent passwd dora").split(":")[4] == "gangplank service 41"

    again, _ = run("provision", {"username": "dora", "public_key": literal}, **common)
    assert again.ok and again.changes == []

    inputs = {"username": "dora", "public_key": new_public, "shell": "/bin/sh"}
    result, _ = run("update", inputs, **common)

    assert result.ok, result.error
    for host in shell_hosts:
        assert host.ssh("true", user="dora", key=old_key).returncode == 255
        logged_in = host.ssh("id -un; echo $SHELL", user="dora", key=new_key)
        assert logged_in.stdout.split() == ["dora", "/bin/sh"], (host.name, logged_in)

    result, _ = run("deprovision", {"username": "dora"}, **common)

    assert result.ok, result.error
    for host in shell_hosts:
        assert host.ssh("getent passwd dora").returncode == 2
        assert host.root("ls -A /home").strip() == ""


def test_it_leaves_alone_a_user_it_did_not_create(shell_hosts, admin_key, tmp_path):
    shell_a, shell_b = shell_hosts
    shell_b.root("useradd --create-home --comment 'Eve, by hand' eve")
    _, public = keypair(tmp_path / "dev", "eve")
    common = {"hosts": shell_hosts, "admin_key": admin_key, "data_root": tmp_path}

    result, _ = run("provision", {"username": "eve", "public_key": public}, **common)

    assert not result.ok
    assert 'A user named "eve" already exists on shell-b' in result.error
    assert shell_b.root("ls -A ~eve").count(".ssh") == 0

    result, _ = run("deprovision", {"username": "eve"}, **common)

    assert result.ok, result.error
    assert shell_b.root("getent passwd eve").split(":")[4] == "Eve, by hand"
    assert shell_a.ssh("getent passwd eve").returncode == 2


def test_it_gives_a_username_asked_for_by_two_services_at_once_to_one_of_them(
    ssh_hosts, admin_key, tmp_path
):
    host = ssh_hosts.start("shell-a", admin_key=admin_key)
    _, public = keypair(tmp_path / "dev", "zed")
    common = {"hosts": [host], "admin_key": admin_key, "data_root": tmp_path}
    barrier = threading.Barrier(2)

    def provision(service_id: int):
        barrier.wait(timeout=10)
        inputs = {"username": "zed", "public_key": public}
        return run("provision", inputs, service_id=service_id, **common)[0]

    with ThreadPoolExecutor(2) as pool:
        results = dict(zip((41, 42), pool.map(provision, (41, 42)), strict=True))

    assert sorted(result.ok for result in results.values()) == [False, True], (
        [r.error for r in results.values()],
        host.root("getent passwd zed; ls -la /home /home/zed; umask; grep -i home /etc/login.defs"),
    )
    winner = next(service for service, result in results.items() if result.ok)
    loser = 83 - winner
    assert 'A user named "zed" already exists on shell-a' in results[loser].error
    assert host.root("getent passwd zed").split(":")[4] == f"gangplank service {winner}"

    result, _ = run("deprovision", {"username": "zed"}, service_id=loser, **common)

    assert result.ok, result.error
    assert host.root("getent passwd zed").split(":")[4] == f"gangplank service {winner}"


KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE3Yq6Xv2J6x3pbZ0u0bJv7m7t4G0k0u0bJv7m7t4G0k"


@pytest.mark.parametrize(
    "public_key",
    [f'command="sh" {KEY}', "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIbad", f"{KEY}\nssh-rsa AAAA"],
    ids=["options", "not-a-key", "two-lines"],
)
def test_it_refuses_what_is_not_one_public_key(shell_hosts, admin_key, tmp_path, public_key):
    common = {"hosts": shell_hosts, "admin_key": admin_key, "data_root": tmp_path}

    result, _ = run("provision", {"username": "mallory", "public_key": public_key}, **common)

    assert not result.ok
    assert "Invalid SSH public key" in result.error
    assert all(host.ssh("getent passwd mallory").returncode == 2 for host in shell_hosts)


def test_it_reaches_no_host_whose_key_is_not_the_pinned_one(shell_hosts, admin_key, tmp_path):
    shell_a, shell_b = shell_hosts
    _, public = keypair(tmp_path / "dev", "frank")
    common = {"hosts": shell_hosts, "admin_key": admin_key, "data_root": tmp_path}

    result, events = run(
        "provision", {"username": "frank", "public_key": public}, shell_b=shell_a.host_key, **common
    )

    assert not result.ok
    assert "shell-b unreachable" in result.error
    assert "host key" in result.error.lower()
    assert shell_b.ssh("getent passwd frank").returncode == 2
    assert any(
        e["event"] == "runner_on_ok" and e["event_data"]["host"] == "shell-a" for e in events
    )


def test_it_fails_on_an_unreachable_host_and_goes_on_with_the_others(
    shell_hosts, admin_key, tmp_path
):
    shell_a, shell_b = shell_hosts
    shell_b.stop()
    key, public = keypair(tmp_path / "dev", "grace")
    common = {"hosts": shell_hosts, "admin_key": admin_key, "data_root": tmp_path}

    result, events = run("provision", {"username": "grace", "public_key": public}, **common)

    assert not result.ok
    assert "shell-b unreachable" in result.error
    assert shell_a.ssh("id -un", user="grace", key=key).stdout.strip() == "grace"
    results = [
        (e["event"], e["event_data"])
        for e in events
        if e["event"].startswith("runner_on_") and e["event"] != "runner_on_start"
    ]
    created = {
        (kind, data["host"])
        for kind, data in results
        if data["task"] == "Create or update the account"
    }
    assert created == {("runner_on_ok", "shell-a")}
    assert ("runner_on_unreachable", "shell-b") in {(kind, data["host"]) for kind, data in results}
