"""Masking secret values in what is shown: events, outputs, diffs, errors, logs.

Standard library only, and no Django: the ansible-runner wrapper uses it without Django set up.

What `masker(secrets)` replaces with MASK, in every str of a value (dict keys too):

- every secret as given, and as JSON or Ansible print it (quotes, backslashes, control and,
  in one variant, non-ASCII characters escaped);
- a multi-line secret (lines split by `\\n`, `\\r\\n` or `\\r`, such as a PEM key) whole, in
  whatever shape its line breaks come out: `\\n` or `\\r\\n` (a pty turns one into the other),
  escaped (`\\\\n` in JSON), wrapped in ANSI colour codes (Ansible colours each line), and
  followed by indentation or a diff's `+`/`-`/` ` prefix on each next line;
- and each line of a multi-line secret on its own, stripped of surrounding whitespace, as
  given and JSON-escaped, so that no line survives a shape not foreseen above (a diff that
  interleaves other lines, a re-wrapped block). Lines shorter than MIN_LINE characters once
  stripped ("}", "", "--") are left alone: they give nothing away, and masking them would
  mask every brace.

One compiled regex per masker, literals merged into a trie: build it once per run.
"""

import json
import re
from collections.abc import Callable, Iterable
from typing import Any

MASK = "********"
MIN_LINE = 4

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# Between two lines of a multi-line secret, in text as it is (raw) or JSON-escaped.
_ANSI_RAW = r"(?:\x1b\[[0-9;]*[A-Za-z])*"
_ANSI_JSON = r"(?:\\u001[bB]\[[0-9;]*[A-Za-z])*"
_PREFIX = r"[ \t]*(?:[-+][ \t]*)?"  # indentation, a diff's +/- (its " " is indentation)
_BREAK_RAW = rf"[ \t]*{_ANSI_RAW}(?:\r\n|\r|\n){_ANSI_RAW}{_PREFIX}"
_BREAK_JSON = rf"[ \t]*{_ANSI_JSON}(?:\\r\\n|\\r|\\n){_ANSI_JSON}{_PREFIX}"


def _escaped(text: str) -> set[str]:
    """`text` as it is and as JSON or Ansible print it inside a string."""
    return {text, json.dumps(text)[1:-1], json.dumps(text, ensure_ascii=False)[1:-1]}


def _whole(lines: list[str]) -> list[str]:
    """Patterns of a multi-line secret whole, whatever its line breaks became."""
    lines = [line.strip(" \t") for line in lines]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    if len(lines) < 2:
        return []
    patterns = [_BREAK_RAW.join(re.escape(line) for line in lines)]
    for ascii_only in (True, False):
        escaped = [json.dumps(line, ensure_ascii=ascii_only)[1:-1] for line in lines]
        patterns.append(_BREAK_JSON.join(re.escape(line) for line in escaped))
    return list(dict.fromkeys(patterns))


def _trie(words: Iterable[str]) -> str:
    """One pattern matching any of `words`, the longest where several start at one place
    (a trie: each character is compared once per branch point, not once per word)."""
    root: dict = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def pattern(node: dict) -> str:
        text = ""
        while True:  # a chain of single children is one literal: no nesting per character
            ends = "" in node
            children = [(char, child) for char, child in node.items() if char]
            if ends or len(children) != 1:
                break
            char, node = children[0]
            text += re.escape(char)
        if not children:
            return text
        group = "(?:" + "|".join(re.escape(char) + pattern(child) for char, child in children) + ")"
        return text + group + ("?" if ends else "")  # greedy: a longer word first

    return pattern(root)


def masker(secrets: Iterable[Any]) -> Callable[[Any], Any]:
    """A function replacing every occurrence of every secret in str/list/dict values (keys
    too) with MASK, by the rules in this module's docstring; where several could match at
    one place, the longest wins, so that one secret inside another leaves nothing."""
    whole: dict[str, int] = {}
    literals: set[str] = set()
    for secret in secrets:
        if secret is None or secret == "":
            continue
        text = str(secret)
        literals |= _escaped(text)
        lines = _LINE_BREAK.split(text)
        if len(lines) > 1:
            for pattern in _whole(lines):
                whole[pattern] = max(whole.get(pattern, 0), len(text))
            for line in lines:
                if len(line.strip()) >= MIN_LINE:
                    literals |= _escaped(line.strip())
    if not literals:
        return lambda value: value
    # A whole multi-line secret before any literal (its first line among them).
    alternatives = [*sorted(whole, key=whole.__getitem__, reverse=True), _trie(literals)]
    regex = re.compile("|".join(alternatives))

    def apply(value: Any) -> Any:
        if isinstance(value, str):
            return regex.sub(MASK, value)
        if isinstance(value, dict):
            return {apply(key): apply(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [apply(item) for item in value]
        return value

    return apply


def mask(value: Any, *, secrets: Iterable[Any]) -> Any:
    """`value` with every secret replaced by MASK (see `masker`)."""
    return masker(secrets)(value)
