"""Request sets: JSONL files of conversational test cases, loaded with validation.

One JSON object per line::

    {"user_id": "42", "request": "a tense thriller, not too long",
     "target_item_ids": ["318"], "history_item_ids": ["1", "50"], "cutoff_ts": 884000000}

``history_item_ids`` and ``cutoff_ts`` are optional: without a history, the runner takes
the user's training interactions (before ``cutoff_ts`` when given).

Example:
    >>> case = RequestCase(user_id=7, request="something funny", target_item_ids=["3"])
    >>> case.user_id, case.history_item_ids
    ('7', None)
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from retrieval.catalog import Catalog
from retrieval.errors import BadRow, DataError, LoadReport
from retrieval.models import id_to_str

__all__ = ["RequestCase", "RequestSet", "load_requests", "save_requests"]


class RequestCase(BaseModel):
    """One conversational test case: who asks, what they say, and what would be right."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    user_id: str = Field(min_length=1, description="Who asks.")
    request: str = Field(min_length=1, max_length=5000, description="What they say, verbatim.")
    target_item_ids: list[str] = Field(min_length=1, description="Items that would satisfy it.")
    history_item_ids: list[str] | None = Field(
        default=None, description="Items the user already has; default: their training log."
    )
    cutoff_ts: int | None = Field(default=None, description="Unix seconds: history before it only.")
    meta: dict[str, Any] = Field(
        default_factory=dict, description="Free notes (e.g. how it was made)."
    )

    @field_validator("user_id", mode="before")
    @classmethod
    def _user_to_str(cls, v: Any) -> Any:
        return id_to_str(v)

    @field_validator("target_item_ids", "history_item_ids", mode="before")
    @classmethod
    def _ids_to_str(cls, v: Any) -> Any:
        if isinstance(v, list):
            return [id_to_str(x) for x in v]
        return v


@dataclass
class RequestSet:
    """Validated cases from one file, with the counts of what was skipped."""

    cases: list[RequestCase]
    path: str = ""
    report: LoadReport = field(default_factory=LoadReport)


def load_requests(path: str | Path, catalog: Catalog, *, skip_bad_rows: bool = False) -> RequestSet:
    """Read and validate a request-set file against ``catalog``.

    Raises:
        DataError: naming the file, line and field of the first bad case (malformed JSON,
            a missing or mistyped field, an item id not in the catalog), unless
            ``skip_bad_rows``, which skips such lines and counts them in ``report``.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError("request file not found", path=path, fix="check the path")
    report = LoadReport()
    cases: list[RequestCase] = []
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"not UTF-8 text ({exc.reason})", path=path, fix="save the request file as UTF-8 JSONL"
        ) from None
    for line_no, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            case = _parse_line(raw, path, line_no, catalog)
        except DataError as err:
            if not skip_bad_rows:
                raise
            report.skip(BadRow(str(path), line_no, err.field, err.problem))
            continue
        cases.append(case)
        report.loaded += 1
    if not cases:
        raise DataError(
            "no usable request in the file"
            + (f" ({report.skipped} bad lines skipped)" if report.skipped else ""),
            path=path,
            fix='write one JSON object per line: {"user_id": ..., "request": ..., '
            '"target_item_ids": [...]}',
        )
    return RequestSet(cases, str(path), report)


def _parse_line(raw: str, path: Path, line_no: int, catalog: Catalog) -> RequestCase:
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise DataError(
            f"not valid JSON ({exc.msg} at column {exc.colno})",
            path=path,
            line=line_no,
            fix="write one complete JSON object per line",
        ) from None
    if not isinstance(obj, dict):
        raise DataError(
            f"expected a JSON object, got {type(obj).__name__}",
            path=path,
            line=line_no,
            fix="write one JSON object per line",
        )
    try:
        case = RequestCase.model_validate(obj)
    except ValidationError as exc:
        err = exc.errors()[0]
        fld = ".".join(str(p) for p in err.get("loc", ()) if not isinstance(p, int)) or None
        msg = err.get("msg", "invalid value").removeprefix("Value error, ")
        if err.get("type") == "missing":
            msg = "missing required field"
        elif err.get("type") == "extra_forbidden":
            msg = "unknown field"
        fixes = {
            "user_id": "give the user's id as a string",
            "request": "give the request text as a non-empty string",
            "target_item_ids": "give a non-empty list of catalog item ids",
            "history_item_ids": "give a list of catalog item ids, or leave the field out",
            "cutoff_ts": "give Unix seconds as a whole number, or leave the field out",
        }
        raise DataError(
            msg,
            path=path,
            line=line_no,
            field=fld,
            fix=fixes.get(fld or "", "allowed fields: " + ", ".join(RequestCase.model_fields)),
        ) from None
    for fld, ids in (
        ("target_item_ids", case.target_item_ids),
        ("history_item_ids", case.history_item_ids or []),
    ):
        unknown = [i for i in ids if i not in catalog]
        if unknown:
            raise DataError(
                f"{len(unknown)} item id(s) not in the catalog: "
                + ", ".join(repr(u) for u in unknown[:3]),
                path=path,
                line=line_no,
                field=fld,
                fix="use ids from the evaluated catalog, or pass --skip-bad-rows to skip "
                "such lines",
            )
    return case


def save_requests(cases: Iterable[RequestCase], path: str | Path) -> Path:
    """Write cases as JSONL (atomically: a crash leaves the old file or the new one)."""
    from retrieval.io import atomic_write_text

    lines = [c.model_dump_json(exclude_defaults=True) for c in cases]
    path = Path(path)
    atomic_write_text(path, "\n".join(lines) + ("\n" if lines else ""))
    return path
