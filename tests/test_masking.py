"""Masking (core.masking): every shape a secret takes in Ansible's output is masked, multi-line
secrets line by line too, without Django, and a multi-line secret never shows in a preview."""

import json
import secrets as random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, api_client_for, request_via_api, wait_for_run
from core.masking import MASK, MIN_LINE, mask, masker
from provisioning.models import Run, RunEvent

# The shape of a PEM key: 64-character lines between a header and a footer.
KEY_LINES = [
    "-----BEGIN OPENSSH PRIVATE KEY-----",
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW",
    "QyNTUxOQAAACDk9yUqJ3HRL2pYgPv0ZmNq8uVwAnvBQEmnhZ0fQx5qPAAAAJgX1cS3F9XE",
    "twAAAAtzc2gtZWQyNTUxOQAAACDk9yUqJ3HRL2pYgPv0ZmNq8uVwAnvBQEmnhZ0fQx5qPA",
    "-----END OPENSSH PRIVATE KEY-----",
]
KEY = "\n".join(KEY_LINES) + "\n"


def shown_lines(text: str) -> list[str]:
    """The lines of `text` that masking must hide (those of MIN_LINE characters or more)."""
    return [line.strip() for line in text.splitlines() if len(line.strip()) >= MIN_LINE]


def assert_hidden(text: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in text
        for line in shown_lines(secret):
            assert line not in text, f"the line {line!r} is in {text!r}"


def test_it_imports_no_django_module():
    code = (
        "import sys; sys.path.insert(0, 'platform'); import core.masking; "
        "print([m for m in sys.modules if m.startswith('django')])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )

    assert out.stdout.strip() == "[]"


def test_masking_is_done_in_this_module_alone():
    from core import secrets

    assert not hasattr(secrets, "mask") and not hasattr(secrets, "masker")


def test_it_masks_a_multi_line_key_whole_as_one_mask():
    assert mask(f"key: {KEY}end", secrets=[KEY]) == f"key: {MASK}\nend"
    assert mask(KEY.rstrip("\n"), secrets=[KEY]) == MASK


def test_it_masks_a_key_whose_line_breaks_a_pty_turned_into_crlf():
    masked = mask(f"ok: {KEY.replace(chr(10), chr(13) + chr(10))}done", secrets=[KEY])

    assert masked == f"ok: {MASK}\r\ndone"


def test_it_masks_a_key_printed_by_ansible_in_colour_one_line_at_a_time():
    coloured = "".join(f"\x1b[0;33m    {line}\x1b[0m\r\n" for line in KEY_LINES)

    masked = mask(coloured, secrets=[KEY])

    assert masked == f"\x1b[0;33m    {MASK}\x1b[0m\r\n"


def test_it_masks_a_key_in_a_unified_diff_coloured_or_not():
    diff = "--- before\n+++ after\n@@ -0,0 +1,5 @@\n" + "".join(f"+{k}\n" for k in KEY_LINES)
    coloured = "".join(f"\x1b[0;32m+{line}\x1b[0m\r\n" for line in KEY_LINES)

    assert mask(diff, secrets=[KEY]) == f"--- before\n+++ after\n@@ -0,0 +1,5 @@\n+{MASK}\n"
    assert mask(coloured, secrets=[KEY]) == f"\x1b[0;32m+{MASK}\x1b[0m\r\n"


def test_it_masks_each_line_of_a_key_on_its_own_in_shapes_it_cannot_foresee():
    # Old and new lines interleaved, each in another order, re-wrapped in a YAML list.
    interleaved = "\n".join(f"-old line {n}\n+{line}" for n, line in enumerate(KEY_LINES[::-1]))
    listed = "\n".join(f"  - '{line}'" for line in KEY_LINES)

    for text in (interleaved, listed):
        masked = mask(text, secrets=[KEY])
        assert_hidden(masked, KEY)
        assert masked.count(MASK) == len(KEY_LINES)
    assert "-old line 0" in mask(interleaved, secrets=[KEY])


def test_it_masks_a_key_json_escaped_with_its_newlines_and_colours():
    ansible = "".join(f"\x1b[0;33m{line}\x1b[0m\r\n" for line in KEY_LINES)
    event = {"stdout": ansible, "res": {"content": KEY, "msg": ["a", KEY]}}

    as_json = json.dumps(event)
    masked = mask(as_json, secrets=[KEY])

    assert_hidden(masked, KEY)
    assert json.loads(masked)["res"]["content"] == MASK + "\n"
    assert json.loads(masked)["stdout"] == f"\x1b[0;33m{MASK}\x1b[0m\r\n"
    assert_hidden(json.dumps(mask(event, secrets=[KEY])), KEY)


def test_it_leaves_short_lines_of_a_secret_alone_elsewhere_but_masks_them_within_it():
    secret = 'credentials = {\n  "password": "x-very-secret"\n}\n'

    assert mask(f"before\n{secret}after", secrets=[secret]) == f"before\n{MASK}\nafter"
    assert mask('  "password": "x-very-secret"', secrets=[secret]) == f"  {MASK}"
    assert mask("if (x) { y }", secrets=[secret]) == "if (x) { y }"
    assert mask("a ~ b }", secrets=["a\n~\n}"]) == "a ~ b }"


def test_it_masks_json_and_non_ascii_escaped_variants_and_dict_keys():
    secret = 'pässwörd "quoted" \\ back'
    value = {
        secret: "key",
        "ascii": json.dumps({"k": secret}),
        "utf8": json.dumps({"k": secret}, ensure_ascii=False),
        "nested": [("tuple", f"<{secret}>")],
    }

    masked = mask(value, secrets=[secret])

    assert masked == {
        MASK: "key",
        "ascii": f'{{"k": "{MASK}"}}',
        "utf8": f'{{"k": "{MASK}"}}',
        "nested": [["tuple", f"<{MASK}>"]],
    }


def test_it_masks_a_multi_line_non_ascii_secret_escaped_line_by_line():
    secret = "première ligne\r\nseconde ligne"

    for text in (json.dumps(secret), json.dumps(secret, ensure_ascii=False)):
        assert mask(text, secrets=[secret]) == f'"{MASK}"'
    for line in ("première ligne", "seconde ligne"):
        assert mask(json.dumps(f"> {line}"), secrets=[secret]) == f'"> {MASK}"'


def test_it_masks_the_longest_secret_where_several_start_at_one_place():
    lines = "line-one\nline-two"
    longer = "line-one\nline-two\nline-three"

    assert mask(f"[{longer}]", secrets=[lines, longer, "line"]) == f"[{MASK}]"
    assert mask("abcdef abc", secrets=["abc", "abcdef"]) == f"{MASK} {MASK}"
    assert mask("nothing here", secrets=[None, ""]) == "nothing here"


def test_it_masks_an_event_with_a_big_key_in_well_under_a_millisecond():
    keys = [KEY.replace("AAAA", f"{n:04d}") for n in range(5)]
    hide = masker(keys)
    event = {"stdout": "x" * 20_000, "event_data": {"res": {"msg": "y" * 20_000, "k": keys[3]}}}

    started = time.perf_counter()
    for _ in range(100):
        masked = hide(event)
    per_event = (time.perf_counter() - started) / 100

    assert masked["event_data"]["res"]["k"] == MASK + "\n"
    assert per_event < 0.005, f"{per_event * 1000:.2f} ms per 40 kB event"


# --- a multi-line secret through a real worker, in a preview's diff ---


def pem(label: str) -> str:
    body = [random.token_urlsafe(48) for _ in range(3)]
    return "\n".join([f"-----BEGIN {label} KEY-----", *body, f"-----END {label} KEY-----"]) + "\n"


@pytest.mark.worker
def test_it_shows_no_line_of_a_multi_line_secret_in_a_preview_s_diff_events_or_answers(
    worker, catalog, owner, settings
):
    api = api_client_for(owner)
    first, second = pem("FIRST"), pem("SECOND")
    answers: list[str] = []

    created = request_via_api(api, "secret-file", "keyed", {"key": first})
    answers.append(json.dumps(created))
    provisioned = wait_for_run(api, created["last_run"]["id"])
    assert provisioned["status"] == "succeeded", provisioned
    path = Path(provisioned["outputs"]["path"])
    assert path.read_text() == first  # the playbook got the key, newlines and all

    response = api.post(
        f"/api/services/{created['id']}/preview/", {"inputs": {"key": second}}, format="json"
    )
    assert response.status_code == 202, response.json()
    answers.append(response.content.decode())
    preview = wait_for_run(api, response.json()["id"])

    assert preview["status"] == "succeeded", preview
    assert [change["task"] for change in preview["changes"]] == ["Write the key"]
    assert path.read_text() == first  # a preview changes nothing
    stdout = "".join(RunEvent.objects.filter(run_id=preview["id"]).values_list("stdout", flat=True))
    # Ansible printed the diff, coloured, each side masked whole.
    assert f"\x1b[0;31m-{MASK}\x1b[0m\r\n" in stdout, stdout
    assert f"\x1b[0;32m+{MASK}\x1b[0m\r\n" in stdout, stdout
    for run_id in (provisioned["id"], preview["id"]):
        for path_ in (f"/api/runs/{run_id}/", f"/api/runs/{run_id}/events/"):
            answers.append(api.get(path_).content.decode())
        run = Run.objects.get(pk=run_id)
        answers.append(json.dumps([run.changes, run.outputs, run.error]))
        events = RunEvent.objects.filter(run_id=run_id).values_list("stdout", "data")
        answers.extend(json.dumps([stdout_, data]) for stdout_, data in events)
    answers.append(api.get(f"/api/services/{created['id']}/").content.decode())
    shown = "\n".join(answers)
    for secret in (first, second):
        assert secret not in shown
        for line in shown_lines(secret):
            assert line not in shown, f"{line!r} shows"
    assert_hidden(Path(worker["log"]).read_text(errors="replace"), first, second)
