from typing import Any


def titled(values: dict, declared: Any) -> list[tuple[str, str, object]]:
    """`values` as (key, title, value): the declared ones first, in their declared order and
    with their `title` (a manifest's outputs, an inputs schema's properties), then the rest
    under their keys."""
    declared = declared if isinstance(declared, dict) else {}
    rows = [
        (key, _title(key, spec), values[key]) for key, spec in declared.items() if key in values
    ]
    rows += [(key, key, value) for key, value in values.items() if key not in declared]
    return rows


def _title(key: str, spec: Any) -> str:
    title = spec.get("title") if isinstance(spec, dict) else None
    return title if isinstance(title, str) and title else key
