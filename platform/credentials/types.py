"""The credential types: one row each, with its fields and what it gives a run.

A type's plain fields are stored in `Credential.values`, its secret fields encrypted in
`Credential.secrets`. `env` has no fixed fields: its fields are the variables themselves,
each secret unless a platform engineer declares it plain (a host, a port: shown, and not
masked in what runs print).
"""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
    load_ssh_private_key,
)

from core.access import Injection
from credentials.models import CredentialType

VARIABLE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_VARIABLES = 50
MAX_VALUE = 64 * 1024
# Variables the sandbox sets itself (or that change how the tools inside it behave).
RESERVED_NAMES = frozenset({"PATH", "HOME", "LANG", "TMPDIR", "SHELL", "USER", "SSH_AUTH_SOCK"})
RESERVED_PREFIXES = ("LC_", "ANSIBLE_", "RUNNER_", "AWX_", "PYTHON", "LD_", "GANGPLANK_")


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    secret: bool = False
    required: bool = True
    multiline: bool = False
    help: str = ""


@dataclass(frozen=True)
class Kind:
    """A credential type: its fields, how its values are checked and how they are injected.

    `inject(prefix, values)` gets the plain and secret values together and returns what
    the run receives (its `secrets` filled in by `injection`); `check(values)` returns
    messages by field name.
    """

    type: str
    fields: tuple[Field, ...]
    inject: Callable[[str, dict[str, str]], Injection]
    check: Callable[[dict[str, str]], dict[str, list[str]]] = lambda values: {}
    # The fields are the variables themselves (env).
    variables: bool = False


def prefix_of(name: str) -> str:
    """The variables' prefix for a credential: `shared-postgres` -> `SHARED_POSTGRES`."""
    return name.upper().replace("-", "_")


def variable_problem(name: str) -> str | None:
    """Why `name` cannot be a variable a credential sets, or None."""
    if not VARIABLE_RE.fullmatch(name):
        return (
            f"{name!r} is not a variable name (letters, digits and _, not starting with a digit)."
        )
    if name.upper() in RESERVED_NAMES or name.upper().startswith(RESERVED_PREFIXES):
        return f"{name} is set by the sandbox itself; choose another name."
    return None


def open_private_key(text: str, passphrase: str = "") -> str:
    """The private key, unencrypted, as OpenSSH PEM. Raises KeyProblem naming the field."""
    data = text.strip().encode() + b"\n"
    password = passphrase.encode() if passphrase else None
    loader = load_ssh_private_key if b"OPENSSH PRIVATE KEY" in data else load_pem_private_key
    try:
        key = loader(data, password=password)
    except TypeError:
        if password is None:
            raise KeyProblem(
                "passphrase", "The key is protected by a passphrase: give it."
            ) from None
        raise KeyProblem("passphrase", "This key has no passphrase: leave it blank.") from None
    except ValueError:
        if password is not None and _encrypted(data):
            raise KeyProblem("passphrase", "The passphrase does not open this key.") from None
        raise KeyProblem("private_key", "Not a private key in OpenSSH or PEM format.") from None
    except Exception:  # unsupported algorithms and the like
        raise KeyProblem("private_key", "Not a private key this platform can use.") from None
    try:
        opened = key.private_bytes(Encoding.PEM, PrivateFormat.OpenSSH, NoEncryption())
    except ValueError:
        raise KeyProblem("private_key", "Not a key type SSH can use.") from None
    return opened.decode()


def _encrypted(data: bytes) -> bool:
    if b"OPENSSH PRIVATE KEY" in data:
        try:
            load_ssh_private_key(data, password=None)
        except TypeError:
            return True
        except ValueError:
            return False
        return False
    return b"ENCRYPTED" in data


class KeyProblem(Exception):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


def _check_ssh(values: dict[str, str]) -> dict[str, list[str]]:
    if not values.get("private_key"):
        return {}
    try:
        open_private_key(values["private_key"], values.get("passphrase", ""))
    except KeyProblem as problem:
        return {problem.field: [problem.message]}
    return {}


def _inject_ssh(prefix: str, values: dict[str, str]) -> Injection:
    key = open_private_key(values["private_key"], values.get("passphrase", ""))
    return Injection(
        env={f"{prefix}_USERNAME": values["username"]},
        ssh_keys=[key],
        remote_user=values["username"],
        secrets=[key],
    )


def _inject_password(prefix: str, values: dict[str, str]) -> Injection:
    return Injection(
        env={
            f"{prefix}_USERNAME": values.get("username", ""),
            f"{prefix}_PASSWORD": values["password"],
        }
    )


def _inject_token(prefix: str, values: dict[str, str]) -> Injection:
    return Injection(env={f"{prefix}_TOKEN": values["token"]})


def _inject_env(prefix: str, values: dict[str, str]) -> Injection:
    return Injection(env=dict(values))


def _check_file(values: dict[str, str]) -> dict[str, list[str]]:
    problem = variable_problem(values["variable"]) if values.get("variable") else None
    return {"variable": [problem]} if problem else {}


def _inject_file(prefix: str, values: dict[str, str]) -> Injection:
    return Injection(files={values.get("variable") or f"{prefix}_FILE": values["content"]})


KINDS: dict[str, Kind] = {
    kind.type: kind
    for kind in (
        Kind(
            CredentialType.SSH,
            (
                Field("username", "Username", help="The user SSH connections log in as."),
                Field(
                    "private_key",
                    "Private key",
                    secret=True,
                    multiline=True,
                    help="OpenSSH or PEM format; loaded into the run's ssh-agent.",
                ),
                Field("passphrase", "Passphrase", secret=True, required=False),
            ),
            _inject_ssh,
            _check_ssh,
        ),
        Kind(
            CredentialType.PASSWORD,
            (
                Field("username", "Username", required=False),
                Field("password", "Password", secret=True),
            ),
            _inject_password,
        ),
        Kind(CredentialType.TOKEN, (Field("token", "Token", secret=True),), _inject_token),
        Kind(CredentialType.ENV, (), _inject_env, variables=True),
        Kind(
            CredentialType.FILE,
            (
                Field(
                    "variable",
                    "Variable",
                    required=False,
                    help="The variable that holds the file's path; <NAME>_FILE when blank.",
                ),
                Field("content", "Content", secret=True, multiline=True),
            ),
            _inject_file,
            _check_file,
        ),
    )
}


def injection(
    *, type: str, name: str, values: Mapping[str, str], secret: Mapping[str, str]
) -> Injection:
    """What a credential gives a run: its type's injection, with every secret value (and
    what is derived from them) to be masked."""
    kind = KINDS[type]
    given = kind.inject(prefix_of(name), {**values, **secret})
    given.secrets = [*secret.values(), *given.secrets]
    return given
