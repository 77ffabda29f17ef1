"""Per-slot accuracy of the request parsers on the written test table.

Run from the repository root::

    python -m eval.parser_report                 # rules parser, both tables side by side
    python -m eval.parser_report --parser llm    # once assistant/parsers/llm.py exists
    python -m eval.parser_report --show-errors   # and list every wrong slot

Two tables are scored by default, side by side: the tuning table
(``eval/data/parser_table.jsonl``, written while the rules parser was developed, so its
score is not a held-out figure) and the held-out table (``eval/data/parser_heldout.jsonl``,
written without looking at the parser; it is frozen, never edited to match a parser's output).
``--table PATH`` (repeatable) scores other tables instead. Each holds one written request per line:
``{"message": ..., "context": {...}?, "expected": {slot: value}}`` (the labelled-request
format of :mod:`eval.conversational.slots`, plus an optional :class:`ParseContext`). A
slot the line does not name is expected to stay empty. Expected genres and tags are
limited to the catalog's vocabulary before comparing (a parser must not produce labels the
catalog lacks); titles compare as (catalog id, role) pairs. Scores come from
:func:`eval.conversational.slot_accuracy` (lists as sets, empty = not set).

Example:
    >>> row = TableRow(1, "no horror", {"exclude_genres": ["horror", "splatter"]})
    >>> expected_slots(row, genres={"horror"})["exclude_genres"]
    ['horror']
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from retrieval.request import ParseContext, Request

__all__ = ["SLOTS", "TableRow", "evaluate", "expected_slots", "load_table", "predicted_slots"]

DEFAULT_TABLE = Path(__file__).resolve().parent / "data" / "parser_table.jsonl"
HELDOUT_TABLE = DEFAULT_TABLE.with_name("parser_heldout.jsonl")
_TABLE_NAMES = {DEFAULT_TABLE.name: "tuning table", HELDOUT_TABLE.name: "held-out"}

# The slots scored, in the order of the report (query is free text and is not scored).
SLOTS: tuple[str, ...] = (
    "intent", "media_types", "exclude_media_types", "genres", "exclude_genres", "tags",
    "exclude_tags", "moods", "year_min", "year_max", "relative_year", "min_minutes",
    "max_minutes", "relative_duration", "language", "titles", "reference_positions",
    "exclude_positions", "exclude_ids", "count", "playlist_minutes", "issues",
)
_LABEL_SLOTS = {"genres": "genres", "exclude_genres": "genres", "tags": "tags",
                "exclude_tags": "tags"}


class TableRow:
    """One line of the table: a message, an optional context and the expected slots."""

    def __init__(self, line: int, message: str, expect: dict[str, Any],
                 context: ParseContext | None = None) -> None:
        self.line, self.message, self.expect, self.context = line, message, expect, context

    def __repr__(self) -> str:
        return f"TableRow(line={self.line}, message={self.message!r})"


def load_table(path: str | Path = DEFAULT_TABLE) -> list[TableRow]:
    """Read the JSONL table; a bad line names the file, the line and the problem."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: parser table not found. Fix: run from the repository root or "
                         "pass --table PATH")
    rows = []
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not text.strip():
            continue
        try:
            data = json.loads(text)
            expect = data.get("expected", data.get("expect", {}))
            unknown = set(expect) - set(SLOTS)
            if unknown:
                raise ValueError(f"unknown slot(s) {sorted(unknown)}; slots: {', '.join(SLOTS)}")
            context = ParseContext.model_validate(data["context"]) if data.get("context") else None
            rows.append(TableRow(number, data["message"], expect, context))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}, line {number}: {exc}") from None
    return rows


def _titles(value: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return [{"id": t.get("id", t.get("item_id")), "role": t.get("role", "like")}
            for t in value or []]


def expected_slots(row: TableRow, genres: Iterable[str] = (),
                   tags: Iterable[str] = ()) -> dict[str, Any]:
    """Every slot's expected value for ``row``, labels limited to the catalog's vocabulary."""
    default = Request().model_dump(mode="json")
    vocabulary = {"genres": set(genres), "tags": set(tags)}
    out = {}
    for slot in SLOTS:
        value = row.expect.get(slot, default[slot])
        if slot in _LABEL_SLOTS:
            value = [v for v in value if v in vocabulary[_LABEL_SLOTS[slot]]]
        out[slot] = _titles(value) if slot == "titles" else value
    return out


def predicted_slots(request: Request) -> dict[str, Any]:
    """Every scored slot of a parsed request, as JSON values (titles as id and role)."""
    data = request.model_dump(mode="json")
    data["titles"] = _titles(data["titles"])
    return {slot: data[slot] for slot in SLOTS}


Error = tuple[TableRow, str, Any, Any]


def evaluate(parser: Any, rows: Sequence[TableRow], genres: Iterable[str] = (),
             tags: Iterable[str] = ()) -> tuple[dict[str, float], list[Error]]:
    """Parse every row and score it.

    Returns:
        Per-slot accuracy from :func:`eval.conversational.slot_accuracy` (with ``all_slots``,
        the share of rows right in every slot), and the errors as (row, slot, expected,
        predicted).
    """
    from eval.conversational import slot_accuracy

    genres, tags = set(genres), set(tags)
    expected = [expected_slots(r, genres, tags) for r in rows]
    predicted = [predicted_slots(parser.parse(r.message, r.context)) for r in rows]
    errors = []
    for row, e, p in zip(rows, expected, predicted, strict=True):
        for slot, score in slot_accuracy([e], [p], slots=SLOTS).items():
            if score < 1.0 and slot in e:
                errors.append((row, slot, e[slot], p[slot]))
    return slot_accuracy(expected, predicted, slots=SLOTS), errors


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.parser_report",
                                 description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--parser", action="append", help="parser name (repeatable; default: rules)")
    ap.add_argument("--table", action="append",
                    help="JSONL table of written requests (repeatable; default: the tuning table "
                         "and the held-out table)")
    ap.add_argument("--show-errors", action="store_true", help="list every wrong slot")
    args = ap.parse_args(argv)

    from retrieval.demo import load_demo_catalog

    paths = args.table or [str(p) for p in (DEFAULT_TABLE, HELDOUT_TABLE)
                           if p == DEFAULT_TABLE or p.is_file()]
    try:
        tables = {path: load_table(path) for path in paths}
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    catalog = load_demo_catalog()
    genres, tags = catalog.genre_counts(), catalog.tag_counts()
    names = args.parser or ["rules"]
    results: dict[str, dict[str, dict[str, float]] | str] = {}
    fallbacks: dict[str, Counter[str]] = {}
    for name in names:
        try:
            parser = _parser(name, catalog, fallbacks)
        except (ValueError, ModuleNotFoundError) as exc:
            results[name] = f"not available: {exc}"
            continue
        per_table: dict[str, dict[str, float]] = {}
        results[name] = per_table
        for path, rows in tables.items():
            accuracy, errors = evaluate(parser, rows, genres, tags)
            per_table[path] = accuracy
            if args.show_errors:
                for row, slot, want, got in errors:
                    print(f"[{name}] {Path(path).name} line {row.line} {row.message[:60]!r}: "
                          f"{slot} expected {want!r}, got {got!r}")
    print(f"Per-slot accuracy on written requests "
          f"({', '.join(Path(p).name for p in tables)}; demo catalog of {len(catalog)} items)\n")
    shown = {n: r for n, r in results.items() if isinstance(r, dict)}
    columns = [(f"{n} " if len(shown) > 1 else "")
               + f"{_TABLE_NAMES.get(Path(p).name, Path(p).stem)} ({len(tables[p])})"
               for n in shown for p in tables]
    scores = [acc for r in shown.values() for acc in r.values()]
    width = max([10, *(len(c) + 2 for c in columns)])
    if len(shown) == 1:
        print(f"parser: {next(iter(shown))}")
    print(f"{'slot':<22}" + "".join(f"{c:>{width}}" for c in columns))
    for slot in SLOTS:
        print(f"{slot:<22}" + "".join(f"{r[slot]:>{width}.3f}" for r in scores))
    if scores:
        print(f"{'mean over slots':<22}"
              + "".join(f"{sum(r[s] for s in SLOTS) / len(SLOTS):>{width}.3f}" for r in scores))
        print(f"{'rows fully right':<22}"
              + "".join(f"{r['all_slots']:>{width}.3f}" for r in scores))
    for n in names:
        if isinstance(results[n], str):
            print(f"\n{n}: {results[n]}")
    for n, reasons in fallbacks.items():
        total = sum(len(rows) for rows in tables.values())
        used = sum(reasons.values())
        print(f"\n{n}: {used} of {total} messages fell back to rules"
              + (": " + ", ".join(f"{r} {c}" for r, c in reasons.most_common()) if used else ""))
    return 0


def _parser(name: str, catalog: Any, fallbacks: dict[str, Counter[str]]) -> Any:
    """The parser called ``name``; ``llm`` reads the llm.* settings (ENCORE_LLM__* or
    --config) and falls back to ``rules`` per message as a turn does, counting why."""
    from assistant.parsers import make_parser

    if name != "llm":
        return make_parser(name, catalog)
    from assistant.parsers.llm import parse_with_fallback
    from assistant.settings import load_settings

    llm = make_parser("llm", catalog, settings=load_settings().llm)
    rules = make_parser("rules", catalog)
    reasons = fallbacks.setdefault(name, Counter())

    class _WithFallback:
        def parse(self, message: str, context: Any = None) -> Any:
            request, _, fb = parse_with_fallback(llm, rules, message, context)
            if fb is not None:
                reasons[fb.reason] += 1
            return request

    return _WithFallback()


if __name__ == "__main__":
    raise SystemExit(main())
