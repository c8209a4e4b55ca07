"""What a run is given beyond its inputs: the credentials' injection and the hosts it targets.

Plain data, free of Django, so that the ansible-runner wrapper (provisioning.runner) takes it
as it is: the credentials and inventories apps build it, the worker hands it over.
"""

from dataclasses import dataclass, field


@dataclass
class Injection:
    """What credentials put inside a run's sandbox, and nowhere else."""

    env: dict[str, str] = field(default_factory=dict)
    # Variable name -> a file's content: the file (mode 0600) lies in the sandbox's private
    # /tmp, and the variable holds its path.
    files: dict[str, str] = field(default_factory=dict)
    # Private keys, unencrypted (OpenSSH or PEM), loaded into an ssh-agent in the sandbox.
    ssh_keys: list[str] = field(default_factory=list)
    # The user that SSH connections to targets log in as (the ssh credential's username).
    remote_user: str = ""
    # Every value that must be masked in all the run emits.
    secrets: list[str] = field(default_factory=list)

    def __add__(self, other: "Injection") -> "Injection":
        return Injection(
            env={**self.env, **other.env},
            files={**self.files, **other.files},
            ssh_keys=[*self.ssh_keys, *other.ssh_keys],
            remote_user=other.remote_user or self.remote_user,
            secrets=[*self.secrets, *other.secrets],
        )


@dataclass(frozen=True)
class TargetHost:
    """A host a run reaches over SSH, with its pinned host keys ("<type> <base64>" each)."""

    name: str
    address: str
    port: int = 22
    groups: tuple[str, ...] = ()
    variables: dict = field(default_factory=dict)
    host_keys: tuple[str, ...] = ()
