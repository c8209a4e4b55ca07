"""The first program of every run, started inside its sandbox: `python -I sandbox_init.py FIFO
COMMAND...`. Standard library only: the sandbox sees the interpreter, not the platform.

It reads what the run is given (a JSON payload) from FIFO, a named pipe in the run's data dir
that the worker writes to, so that nothing secret ever lies on disk outside the sandbox's
private, memory-backed /tmp. It writes the payload's files there (mode 0600), loads SSH keys
into an ssh-agent of the sandbox's own, sets the credentials' variables and runs COMMAND
(ansible-playbook). The payload:

    {"private_dir": "/tmp/gangplank", "env": {NAME: value}, "files": {relative path: text},
     "env_files": {NAME: text}, "ssh_keys": [private key, ...]}

`env_files` become files whose path is in the variable NAME. Paths in `env` and in COMMAND may
use `{private}` for the private dir.
"""

import json
import os
import signal
import subprocess
import sys
import time

AGENT_START_SECONDS = 10.0
FAILED_TO_START = 70  # the run's error says the sandbox could not start


def _write(path: str, text: str) -> None:
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def _start_agent(private: str, keys: list[str], env: dict) -> subprocess.Popen:
    socket_path = os.path.join(private, "agent.sock")
    agent = subprocess.Popen(
        ["ssh-agent", "-D", "-a", socket_path],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    deadline = time.monotonic() + AGENT_START_SECONDS
    while not os.path.exists(socket_path):
        if agent.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("ssh-agent did not start")
        time.sleep(0.01)
    env["SSH_AUTH_SOCK"] = socket_path
    for number, key in enumerate(keys, start=1):
        added = subprocess.run(
            ["ssh-add", "-q", "-"],
            input=key if key.endswith("\n") else key + "\n",
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if added.returncode != 0:
            raise RuntimeError(f"ssh-add refused SSH key {number}: {added.stderr.strip()}")
    return agent


def main(argv: list[str]) -> int:
    fifo, command = argv[1], argv[2:]
    with open(fifo, encoding="utf-8") as handle:
        payload = json.load(handle)
    private = payload["private_dir"]
    os.makedirs(private, mode=0o700, exist_ok=True)
    env = dict(os.environ)
    env.update(
        {name: value.replace("{private}", private) for name, value in payload["env"].items()}
    )
    for relative, text in payload["files"].items():
        _write(os.path.join(private, relative), text)
    for name, text in payload["env_files"].items():
        env[name] = os.path.join(private, "files", name)
        _write(env[name], text)
    command = [part.replace("{private}", private) for part in command]
    if not payload["ssh_keys"]:
        os.execvpe(command[0], command, env)
    agent = _start_agent(private, payload["ssh_keys"], env)
    child = subprocess.Popen(command, env=env)
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, lambda signum, frame: child.send_signal(signum))
    try:
        return child.wait()
    finally:
        agent.kill()


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except (OSError, RuntimeError, ValueError, KeyError) as exc:
        print(f"gangplank: the run's sandbox could not start: {exc}", file=sys.stderr)
        sys.exit(FAILED_TO_START)
