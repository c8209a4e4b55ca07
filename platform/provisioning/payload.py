"""What a run is given, as its sandbox gets it (see sandbox_init): the extra vars and the
inventory as `!unsafe` YAML, the known hosts, and the credentials' injection, written into a
named pipe. Free of Django."""

import contextlib
import errno
import json
import os
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import yaml

from core.access import Injection, TargetHost


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


def inventory(hosts: Sequence[TargetHost]) -> dict:
    """The run's inventory: localhost with the worker's own Python, and the target hosts in
    the group `targets` and in their own groups."""
    local = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    groups: dict[str, dict] = {"targets": {"hosts": {}}}
    for host in hosts:
        variables = {**host.variables, "ansible_host": host.address, "ansible_port": host.port}
        groups["targets"]["hosts"][host.name] = variables
        for group in host.groups:
            groups.setdefault(group, {"hosts": {}})["hosts"][host.name] = {}
    return {"all": {"hosts": {"localhost": local}, "children": groups if hosts else {}}}


def known_hosts(hosts: Sequence[TargetHost]) -> str:
    """Each host's pinned keys, as OpenSSH's known_hosts has them."""
    lines = []
    for host in hosts:
        where = host.address if host.port == 22 else f"[{host.address}]:{host.port}"
        lines += [f"{where} {key.strip()}" for key in host.host_keys if key.strip()]
    return "".join(f"{line}\n" for line in lines)


def build(
    *, private: str, extravars: dict, hosts: Sequence[TargetHost], injection: Injection
) -> dict:
    """What the sandbox's init program is given (see sandbox_init)."""
    return {
        "private_dir": private,
        "env": {
            **injection.env,
            "HOME": "{private}/home",
            **({"ANSIBLE_REMOTE_USER": injection.remote_user} if injection.remote_user else {}),
        },
        "files": {
            "extravars.yml": unsafe_yaml(extravars),
            "inventory.yml": unsafe_yaml(inventory(hosts)),
            "known_hosts": known_hosts(hosts),
        },
        "env_files": injection.files,
        "ssh_keys": injection.ssh_keys,
    }


def feed(fifo: Path, payload: dict, stop: threading.Event) -> None:
    """Write `payload` into the named pipe once the init program opens it (or give up when
    the run stops first)."""
    data = json.dumps(payload).encode()
    while not stop.is_set():
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:  # ENXIO: nobody reads yet; ENOENT: the run has ended
            if exc.errno != errno.ENXIO:
                return
            time.sleep(0.005)
            continue
        os.set_blocking(fd, True)
        with contextlib.suppress(BrokenPipeError), os.fdopen(fd, "wb") as pipe:
            pipe.write(data)
        return
