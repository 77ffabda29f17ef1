"""Per-slot accuracy of request parsers on labelled request tables.

A labelled table is JSONL, one ``{"message": ..., "expected": {slot: value, ...}}`` per
line (``expect`` is accepted for ``expected``). Values compare after normalisation: case
and spacing of strings are ignored, lists compare as sets, and ``None``, ``""``, ``[]``
and ``{}`` all mean "not set".

Example:
    >>> expected = [{"genres": ["Horror"], "max_minutes": 100}, {"genres": ["comedy"]}]
    >>> predicted = [{"genres": ["horror"], "max_minutes": 90},
    ...              {"genres": ["comedy"], "max_minutes": None}]
    >>> slot_accuracy(expected, predicted)
    {'genres': 1.0, 'max_minutes': 0.5, 'all_slots': 0.5}
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from retrieval.errors import DataError

__all__ = [
    "ALL_SLOTS",
    "LabelledRequest",
    "load_labelled_requests",
    "parser_accuracy",
    "slot_accuracy",
]

ALL_SLOTS = "all_slots"
LabelledRequest = tuple[str, dict[str, Any]]


def _norm(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        value = value.model_dump(mode="json")
    if hasattr(value, "value") and not isinstance(value, (int, float, str)):
        value = value.value  # enums
    if value is None:
        return None
    if isinstance(value, str):
        text = " ".join(value.lower().split())
        return text or None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, Mapping):
        out = {str(k): _norm(v) for k, v in value.items()}
        out = {k: v for k, v in out.items() if v is not None}
        return tuple(sorted(out.items())) or None
    if isinstance(value, (list, tuple, set, frozenset)):
        items = frozenset(_norm(v) for v in value) - {None}
        return items or None
    return value


def _as_dict(row: Any) -> dict[str, Any]:
    if hasattr(row, "model_dump"):
        return row.model_dump(mode="json")
    if isinstance(row, Mapping):
        return dict(row)
    raise TypeError(f"expected a dict or a pydantic model per row, got {type(row).__name__}")


def slot_accuracy(
    expected: Sequence[Mapping[str, Any]],
    predicted: Sequence[Mapping[str, Any]],
    *,
    slots: Sequence[str] | None = None,
) -> dict[str, float]:
    """Share of rows on which each slot was parsed right, plus ``all_slots``: the share of
    rows with every slot right.

    Args:
        expected: The labels, one dict per request.
        predicted: The parser's output, row for row (dicts or pydantic models).
        slots: Slots to score (default: every slot named in either side). A slot missing
            from a row means "not set" on that side.
    """
    if len(expected) != len(predicted):
        raise ValueError(
            f"got {len(expected)} labelled rows but {len(predicted)} predictions; "
            "give one prediction per labelled request"
        )
    if not expected:
        raise ValueError("no labelled rows to score")
    exp = [_as_dict(r) for r in expected]
    pred = [_as_dict(r) for r in predicted]
    if slots is None:
        names: dict[str, None] = {}
        for row in exp + pred:
            names.update(dict.fromkeys(row))
        slots = list(names)
    right = {s: 0 for s in slots}
    all_right = 0
    for e, p in zip(exp, pred, strict=True):
        ok_row = True
        for s in slots:
            ok = _norm(e.get(s)) == _norm(p.get(s))
            right[s] += ok
            ok_row &= ok
        all_right += ok_row
    n = len(exp)
    out = {s: right[s] / n for s in slots}
    out[ALL_SLOTS] = all_right / n
    return out


def load_labelled_requests(path: str | Path) -> list[LabelledRequest]:
    """Read a labelled table: JSONL lines ``{"message": str, "expected": {slot: value}}``.

    Raises:
        DataError: naming the line and field of the first malformed row.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError("labelled request file not found", path=path, fix="check the path")
    rows: list[LabelledRequest] = []
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise DataError(
                f"not valid JSON ({exc.msg})",
                path=path,
                line=n,
                fix="write one JSON object per line",
            ) from None
        if not isinstance(obj, dict) or not isinstance(obj.get("message"), str):
            # An empty message is allowed: how a parser treats one is worth labelling.
            raise DataError(
                "missing 'message' (a string)",
                path=path,
                line=n,
                field="message",
                fix='write {"message": "...", "expected": {...}}',
            )
        if isinstance(obj, dict) and "expected" not in obj and "expect" in obj:
            obj["expected"] = obj.pop("expect")
        if not isinstance(obj.get("expected"), dict):
            raise DataError(
                "'expected' must be an object of slot values",
                path=path,
                line=n,
                field="expected",
                fix='write {"message": "...", "expected": {"genres": ["horror"]}}',
            )
        rows.append((obj["message"], obj["expected"]))
    if not rows:
        raise DataError(
            "no labelled request in the file",
            path=path,
            fix='write one {"message": ..., "expected": {...}} per line',
        )
    return rows


def parser_accuracy(
    parse: Callable[[str], Any],
    rows: Sequence[LabelledRequest],
    *,
    slots: Sequence[str] | None = None,
) -> dict[str, float]:
    """Run ``parse(message)`` on every labelled row and score it with :func:`slot_accuracy`
    (by default on the slots the labels name)."""
    expected = [e for _m, e in rows]
    if slots is None:
        names: dict[str, None] = {}
        for e in expected:
            names.update(dict.fromkeys(e))
        slots = list(names)
    predicted = [_as_dict(parse(message)) for message, _e in rows]
    return slot_accuracy(expected, predicted, slots=slots)
