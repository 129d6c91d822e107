"""Where a config problem is and how it is said: every message names the file, the backend ``id`` and the field,
says what is wrong and how to fix it; warnings are listed beside the problems."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import ValidationError

from lip.config.models import BackendRow


class ConfigError(Exception):
    """The configuration is invalid; ``problems`` lists every message."""

    def __init__(self, problems: list[str], warnings: list[str] | None = None) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems
        self.warnings = warnings or []


@dataclass(slots=True)
class Report:
    source: str
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def where(self, row: BackendRow | str | None, index: int | None, name: str) -> str:
        """``row`` is the row (or the raw id of a row that did not validate); ``index`` its position."""
        if index is not None:
            ident = row.id if isinstance(row, BackendRow) else row
            label = f"backend {ident!r}" if ident else "backend without an id"
            return f"{self.source}: {label} (plugins.backends[{index}]) field {name}"
        return f"{self.source}: field {name}"

    def error(self, where: str, what: str, fix: str) -> None:
        self.problems.append(f"{where}: {what}. Fix: {fix}")


def pydantic_problems(
    report: Report, exc: ValidationError, row: BackendRow | str | None, index: int | None, prefix: str = ""
) -> None:
    for err in exc.errors(include_url=False, include_input=False):
        loc = prefix + ".".join(str(part) for part in err["loc"])
        if err["type"] == "extra_forbidden":
            what, fix = "is not a known field", "remove it or correct its spelling (see docs/configuration.md)"
        else:
            what, fix = err["msg"], "correct the value (see docs/configuration.md)"
        report.error(report.where(row, index, loc or "<top level>"), what, fix)
