"""What a catalogue source's fields may hold: pure checks, each giving a message or None.

The sources' services call these before writing (so the portal's form and the API get the
same messages); nothing here touches the database.
"""

import re
from urllib.parse import urlsplit

from catalog import git
from inventories.validation import host_key_problem

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")
SCHEMES = ("https", "http", "ssh", "git", "file")
# git's scp-like syntax: [user@]host:path, no slash before the colon.
SCP_RE = re.compile(r"^(?:(?P<user>[A-Za-z0-9._~-]+)@)?(?P<host>[A-Za-z0-9.-]+):(?P<path>.+)$")
# A remote helper ("ext::sh -c ...", "fd::0"): git runs a command for it.
HELPER_RE = re.compile(r"^[A-Za-z0-9+.-]*::")
# What `git check-ref-format` refuses anywhere in a name.
REF_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
MIN_SECRET, MAX_SECRET = 16, 200


def name_problem(value: str) -> str | None:
    if not NAME_RE.fullmatch(value):
        return "A slug: lowercase letters, digits and '-', at most 100 characters."
    return None


def transport(url: str) -> str:
    """ "ssh" for ssh:// and scp-like URLs, else the URL's scheme ("" when unparsable)."""
    if "://" in url:
        return url.split("://", 1)[0].lower()
    return "ssh" if SCP_RE.fullmatch(url) else ""


def url_problem(value: str) -> str | None:
    """A git URL the sync may fetch: https, http, ssh (or user@host:path), git or file."""
    if not value:
        return "Give the repository's URL."
    if len(value) > 500:
        return "At most 500 characters."
    if re.search(r"\s", value) or "\x00" in value:
        return "A URL has no spaces or control characters."
    if value.startswith("-"):
        return "A URL cannot start with '-'."
    if HELPER_RE.match(value):
        return "Remote helpers (such as ext::) are refused: use https://, ssh:// or file://."
    if "://" not in value:
        match = SCP_RE.fullmatch(value)
        if match is None or match["host"].startswith("-"):
            return "Use https://, http://, ssh://, git://, file:// or user@host:path."
        return None
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError:
        return "Not a valid URL."
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        return f"Unsupported scheme {scheme!r}: use {', '.join(SCHEMES)}."
    if parts.password is not None:
        return "Put no password in the URL: choose a credential instead."
    # A token is often given as the user name (https://<token>@host/...): it would be shown
    # and audited with the URL.
    if parts.username is not None and scheme != "ssh":
        return "Put no user name or token in the URL: choose a credential instead."
    if (parts.username or "").startswith("-"):
        return "A user name cannot start with '-'."
    if scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            return "A file URL is file:///absolute/path."
        if ".." in parts.path.split("/"):
            return "A file URL's path cannot climb with '..'."
        return None
    if not parts.hostname or parts.hostname.startswith("-"):
        return "The URL names no host."
    return None


def clear_text_problem(url: str) -> str | None:
    """A token or password credential's URL: https, or a loopback host (never in clear)."""
    if git.sends_in_clear(url):
        return (
            "A token or password is sent only over https:// (http:// or git:// would send it "
            "in clear), except to this machine (localhost, 127.0.0.0/8, ::1)."
        )
    return None


def branch_problem(value: str) -> str | None:
    """A branch or tag name as `git check-ref-format --branch` takes it."""
    if not value:
        return "Give a branch or a tag."
    if len(value) > 200:
        return "At most 200 characters."
    if value.startswith("-"):
        return "A branch cannot start with '-'."
    if value == "@" or "@{" in value:
        return "A branch cannot be '@' or hold '@{'."
    if ".." in value:
        return "A branch cannot hold '..'."
    if REF_FORBIDDEN.search(value):
        return "A branch has no spaces, control characters or any of ~ ^ : ? * [ \\."
    if value.startswith("/") or value.endswith(("/", ".")) or "//" in value:
        return "A branch cannot start or end with '/', end with '.', or hold '//'."
    for part in value.split("/"):
        if part.startswith(".") or part.endswith(".lock"):
            return "No part of a branch may start with '.' or end with '.lock'."
    return None


def path_problem(value: str) -> str | None:
    """A folder inside the repository: relative, never climbing out."""
    if len(value) > 500:
        return "At most 500 characters."
    if CONTROL_RE.search(value) or "\\" in value:
        return "A path uses '/' and no control characters."
    if value.startswith("/"):
        return "A path inside the repository: relative, without a leading '/'."
    if any(part == ".." for part in value.split("/")):
        return "A path cannot climb out with '..'."
    return None


def normal_path(value: str) -> str:
    """The path without '.' parts, empty parts or a trailing '/' ("" for the root)."""
    return "/".join(part for part in value.split("/") if part not in ("", "."))


def host_keys_problem(value: str) -> str | None:
    """The ssh server's public keys, one "<type> <base64>" a line, as inventories pin them."""
    if not value.strip():
        return None
    return host_key_problem(value)


def secret_problem(value: str) -> str | None:
    if not MIN_SECRET <= len(value) <= MAX_SECRET:
        return f"From {MIN_SECRET} to {MAX_SECRET} characters (or leave it out: one is generated)."
    if re.search(r"\s", value) or not value.isprintable():
        return "No spaces or control characters."
    return None
