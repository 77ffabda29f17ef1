"""Errors about input data that say where the problem is and how to fix it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["DataError", "BadRow", "LoadReport"]


class DataError(ValueError):
    """Bad input data: names the file, the line, the field, the problem and the fix.

    Example:
        >>> print(DataError("year is not a number: 'abc'", path="items.csv", line=3,
        ...                 field="year", fix="write a four-digit year or leave it empty"))
        ... # doctest: +NORMALIZE_WHITESPACE
        items.csv, line 3, field 'year': year is not a number: 'abc'.
        Fix: write a four-digit year or leave it empty.
    """

    def __init__(
        self,
        problem: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        field: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.problem = problem
        self.path = str(path) if path is not None else None
        self.line = line
        self.field = field
        self.fix = fix
        super().__init__(self._format())

    def _format(self) -> str:
        where = []
        if self.path:
            where.append(self.path)
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.field:
            where.append(f"field '{self.field}'")
        text = (", ".join(where) + ": " if where else "") + self.problem.rstrip(".") + "."
        if self.fix:
            text += f" Fix: {self.fix.rstrip('.')}."
        return text


@dataclass
class BadRow:
    """A row that was skipped under ``skip_bad_rows``, with the reason."""

    path: str
    line: int | None
    field: str | None
    problem: str

    def __str__(self) -> str:
        loc = f"{self.path}" + (f", line {self.line}" if self.line is not None else "")
        return f"{loc}" + (f", field '{self.field}'" if self.field else "") + f": {self.problem}"


@dataclass
class LoadReport:
    """What a load kept and what it skipped (only under ``skip_bad_rows``).

    Every skipped row is counted; the first ``max_examples`` (1000) are kept with their file,
    line, field and problem, and :meth:`summary` lists each of them.
    """

    loaded: int = 0
    skipped: int = 0
    examples: list[BadRow] = field(default_factory=list)
    max_examples: int = 1000

    def skip(self, row: BadRow) -> None:
        self.skipped += 1
        if len(self.examples) < self.max_examples:
            self.examples.append(row)

    def merge(self, other: LoadReport) -> None:
        self.loaded += other.loaded
        self.skipped += other.skipped
        for ex in other.examples:
            if len(self.examples) < self.max_examples:
                self.examples.append(ex)

    def summary(self) -> str:
        """``loaded N rows``, then one line per skipped row (file, line, field, problem)."""
        if not self.skipped:
            return f"loaded {self.loaded} rows"
        rows = "row" if self.skipped == 1 else "rows"
        lines = [f"loaded {self.loaded} rows, skipped {self.skipped} bad {rows}:"]
        lines += [f"  - {ex}" for ex in self.examples]
        if self.skipped > len(self.examples):
            lines.append(f"  ... and {self.skipped - len(self.examples)} more bad rows "
                         f"(the first {len(self.examples)} are listed)")
        return "\n".join(lines)
