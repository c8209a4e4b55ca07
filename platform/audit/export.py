"""The audit trail as CSV or JSON lines, streamed: the same for the portal and the API."""

import csv
import json
from collections.abc import Iterator

from django.db.models import QuerySet
from django.http import StreamingHttpResponse

FIELDS = ["at", "actor", "token", "address", "action", "object_type", "object_id",
          "object_repr", "team", "changes"]  # fmt: skip
FORMATS = {"csv": "text/csv", "jsonl": "application/x-ndjson"}
# A spreadsheet takes a cell starting with one of these for a formula (OWASP, CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    def write(self, value: str) -> str:
        return value


def _rows(events: QuerySet) -> Iterator[dict]:
    for event in events.iterator(chunk_size=2000):
        row = {field: getattr(event, field) for field in FIELDS}
        row["at"] = event.at.isoformat()
        yield row


def _cell(value):
    """A value as a CSV cell no spreadsheet runs: text that would start a formula is quoted
    with a leading single quote."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return f"'{value}"
    return value


def _csv(events: QuerySet) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(FIELDS)
    for row in _rows(events):
        row["changes"] = json.dumps(row["changes"], sort_keys=True)
        yield writer.writerow([_cell(row[field]) for field in FIELDS])


def _jsonl(events: QuerySet) -> Iterator[str]:
    for row in _rows(events):
        yield json.dumps(row, sort_keys=True) + "\n"


def export(events: QuerySet, fmt: str) -> StreamingHttpResponse:
    content = _csv(events) if fmt == "csv" else _jsonl(events)
    response = StreamingHttpResponse(content, content_type=FORMATS[fmt])
    response["Content-Disposition"] = f'attachment; filename="audit.{fmt}"'
    return response
