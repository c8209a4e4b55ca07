"""What gangplank-lint found: one line per finding, and whether the catalogue passed."""

from dataclasses import dataclass, field
from enum import StrEnum

CATALOGUE = "-"  # the template of what is about the whole catalogue


class Level(StrEnum):
    ERROR = "error"  # fails the lint
    WARNING = "warning"  # said, but does not fail the lint (ansible-lint's warnings)
    SKIPPED = "skipped"  # a check that could not run here, and why
    OK = "ok"  # a step that passed


@dataclass(frozen=True)
class Finding:
    template: str
    file: str  # relative to the catalogue folder, e.g. "static-site/provision.yml"
    step: str  # manifest, syntax-check, ansible-lint, fixture tests/basic.yml: provision, ...
    message: str
    level: Level = Level.ERROR

    def __str__(self) -> str:
        return f"{self.level.upper():7} {self.template}: {self.file}: {self.step}: {self.message}"


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level == Level.ERROR]

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def text(self) -> str:
        """One line per finding, templates in order, then a summary line."""
        templates = sorted({f.template for f in self.findings} - {CATALOGUE})
        failed = sorted({f.template for f in self.errors})
        lines = [str(f) for f in sorted(self.findings, key=lambda f: f.template)]
        verdict = "FAILED" if failed else "passed"
        summary = f"gangplank-lint {verdict}: {len(templates)} template(s)"
        if failed:
            summary += f", {len(self.errors)} error(s) in {', '.join(failed)}"
        return "\n".join([*lines, summary])
