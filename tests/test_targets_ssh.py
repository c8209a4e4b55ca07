"""Templates that reach hosts over SSH, end to end: a platform engineer keeps the SSH
credential and the inventory of hosts (host keys pinned), a developer requests the
"Shell account" example, and a real worker runs it against real sshd hosts
(tests/sshhosts.py), checking each host's key."""

import pytest

from conftest import api_client_for, request_via_api, wait_for_run
from sshhosts import keypair

pytestmark = pytest.mark.worker

# A literal Jinja expression in the key's comment: it must reach the host as written.
COMMENT = "dev@laptop {{ lookup('pipe', 'id') }}"


@pytest.fixture
def admin_key(tmp_path):
    """The shell hosts' admin key, which the platform keeps as the shell-admin credential."""
    return keypair(tmp_path / "admin", "id_ed25519")[0]


@pytest.fixture
def shell_hosts(ssh_hosts, admin_key):
    return [ssh_hosts.start(name, admin_key=admin_key) for name in ("shell-a", "shell-b")]


@pytest.fixture
def platform_api(ops):
    return api_client_for(ops)


def set_up_shell_hosts(platform_api, catalog_dir, admin_key, hosts, *, host_keys=None):
    """What a platform engineer does: the shell-admin credential, the shared-hosts inventory
    (hosts in group shell, their keys pinned), then a sync of the catalogue."""
    from catalog.models import Template
    from catalog.services import sync_catalog

    host_keys = host_keys or {}
    response = platform_api.post(
        "/api/credentials/",
        {
            "name": "shell-admin",
            "type": "ssh",
            "description": "root on the shell hosts",
            "fields": {"username": "root", "private_key": admin_key.read_text()},
        },
        format="json",
    )
    assert response.status_code == 201, response.content[:1000]
    assert admin_key.read_text().splitlines()[1] not in response.content.decode()
    response = platform_api.post(
        "/api/inventories/",
        {
            "name": "shared-hosts",
            "description": "The shared shell hosts",
            "hosts": [
                {
                    "name": host.name,
                    "address": host.address,
                    "port": host.port,
                    "groups": ["shell"],
                    "variables": {},
                    "host_key": host_keys.get(host.name, host.host_key),
                }
                for host in hosts
            ],
        },
        format="json",
    )
    assert response.status_code == 201, response.content[:1000]
    sync_catalog(directory=catalog_dir)
    template = Template.objects.get(slug="shell-account")
    assert template.errors == [] and template.current_version is not None


def user_exists(host, username: str) -> bool:
    result = host.ssh(f"getent passwd {username}")
    assert result.returncode in (0, 2), result
    return result.returncode == 0


def run_log(api, run_id: int) -> str:
    """Every event of the run as the API gives them, host and stdout, one a line."""
    lines, after = [], 0
    while True:
        events = api.get(f"/api/runs/{run_id}/events/?after={after}").json()["results"]
        if not events:
            return "\n".join(lines)
        lines += [f"{event['host']} {event['event']} {event['stdout']}" for event in events]
        after = events[-1]["counter"]


def test_it_provisions_updates_and_deprovisions_a_shell_account_on_every_host(
    worker, catalog_dir, platform_api, api, admin_key, shell_hosts, tmp_path
):
    set_up_shell_hosts(platform_api, catalog_dir, admin_key, shell_hosts)
    old_key, old_public = keypair(tmp_path / "dev", "old")
    new_key, new_public = keypair(tmp_path / "dev", "new")

    service = request_via_api(
        api,
        "shell-account",
        "dora-shell",
        {"username": "dora", "public_key": f"{old_public.rsplit(' ', 1)[0]} {COMMENT}"},
    )
    run = wait_for_run(api, service["last_run"]["id"], timeout=180)

    assert run["status"] == "succeeded", run
    assert run["outputs"] == {"username": "dora", "hosts": ["shell-a", "shell-b"]}
    for host in shell_hosts:
        logged_in = host.ssh(
            "id -un; echo $SHELL; cat ~/.ssh/authorized_keys", user="dora", key=old_key
        )
        assert logged_in.returncode == 0, (host.name, logged_in)
        whoami, shell, authorized = logged_in.stdout.splitlines()
        assert (whoami, shell) == ("dora", "/bin/bash")
        assert authorized.endswith(COMMENT)  # as written, never evaluated
        assert host.root("stat -c '%a %U' ~dora/.ssh/authorized_keys").split() == ["600", "dora"]

    response = api.post(
        f"/api/services/{service['id']}/update/",
        {"inputs": {"public_key": new_public, "shell": "/bin/sh"}},
        format="json",
    )
    assert response.status_code == 202, response.json()
    run = wait_for_run(api, response.json()["id"], timeout=180)

    assert run["status"] == "succeeded", run
    for host in shell_hosts:
        assert host.ssh("true", user="dora", key=old_key).returncode == 255, host.name
        logged_in = host.ssh("id -un; echo $SHELL", user="dora", key=new_key)
        assert logged_in.stdout.split() == ["dora", "/bin/sh"], (host.name, logged_in)

    response = api.post(f"/api/services/{service['id']}/deprovision/", {}, format="json")
    assert response.status_code == 202, response.json()
    run = wait_for_run(api, response.json()["id"], timeout=180)

    assert run["status"] == "succeeded", run
    for host in shell_hosts:
        assert not user_exists(host, "dora"), host.name
        assert host.root("ls -A /home").strip() == "", host.name


def test_it_refuses_to_take_over_a_user_it_did_not_create(
    worker, catalog_dir, platform_api, api, admin_key, shell_hosts, tmp_path
):
    set_up_shell_hosts(platform_api, catalog_dir, admin_key, shell_hosts)
    shell_b = shell_hosts[1]
    shell_b.root("useradd --create-home --comment 'Eve, by hand' eve")
    _, public = keypair(tmp_path / "dev", "eve")

    service = request_via_api(
        api, "shell-account", "eve-shell", {"username": "eve", "public_key": public}
    )
    run = wait_for_run(api, service["last_run"]["id"], timeout=180)

    assert run["status"] == "failed"
    assert 'A user named "eve" already exists on shell-b' in run["error"]
    assert shell_b.root("getent passwd eve").split(":")[4] == "Eve, by hand"
    assert shell_b.root("ls -A ~eve").count(".ssh") == 0


def test_it_fails_a_run_on_a_host_whose_key_is_not_the_pinned_one(
    worker, catalog_dir, platform_api, api, admin_key, shell_hosts, tmp_path
):
    shell_a, shell_b = shell_hosts
    # shell-b answers with a key other than the one the inventory pins for it.
    set_up_shell_hosts(
        platform_api, catalog_dir, admin_key, shell_hosts,
        host_keys={"shell-b": shell_a.host_key},
    )  # fmt: skip
    _, public = keypair(tmp_path / "dev", "frank")

    service = request_via_api(
        api, "shell-account", "frank-shell", {"username": "frank", "public_key": public}
    )
    run = wait_for_run(api, service["last_run"]["id"], timeout=180)

    assert run["status"] == "failed"
    assert "shell-b" in run["error"]
    assert "host key" in (run["error"] + run_log(api, run["id"])).lower()
    assert not user_exists(shell_b, "frank")


def test_it_fails_a_run_with_an_unreachable_host_and_keeps_the_other_hosts_results(
    worker, catalog_dir, platform_api, api, admin_key, shell_hosts, tmp_path
):
    set_up_shell_hosts(platform_api, catalog_dir, admin_key, shell_hosts)
    shell_a, shell_b = shell_hosts
    shell_b.stop()
    key, public = keypair(tmp_path / "dev", "grace")

    service = request_via_api(
        api, "shell-account", "grace-shell", {"username": "grace", "public_key": public}
    )
    run = wait_for_run(api, service["last_run"]["id"], timeout=180)

    assert run["status"] == "failed"
    assert "shell-b" in run["error"]
    assert "unreachable" in run["error"].lower() or "connect" in run["error"].lower()
    log = run_log(api, run["id"])
    assert "shell-a runner_on_ok" in log
    assert "shell-b runner_on_unreachable" in log
    # shell-a went on: its account is there and works.
    assert shell_a.ssh("id -un", user="grace", key=key).stdout.strip() == "grace"
