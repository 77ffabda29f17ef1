"""Catalog files: JSONL (one object per line), CSV (header row, list fields separated by
'|'), and Parquet (list or '|'-separated string columns)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from retrieval.catalog import Catalog
from retrieval.errors import BadRow, DataError, LoadReport
from retrieval.loaders._common import (
    check_exists,
    check_item,
    clean_row,
    read_text,
    validation_to_data_error,
)
from retrieval.loaders._csv import CsvRecords
from retrieval.models import Item

__all__ = ["CATALOG_FORMATS", "load_catalog", "save_catalog_jsonl"]

log = logging.getLogger(__name__)

CATALOG_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet",
                   ".pq": "parquet"}
ITEM_FIELDS = tuple(Item.model_fields)


def load_catalog(
    path: str | Path,
    *,
    skip_bad_rows: bool = False,
    encoding: str = "utf-8",
    report: LoadReport | None = None,
) -> Catalog:
    """Load a catalog file; the format comes from the extension.

    Every row is validated as an :class:`Item`, its display text cleaned and its lists kept
    within the caps (the rules are in :mod:`retrieval.loaders._common`). A bad row raises
    :class:`DataError` naming the file, line, field and fix, unless ``skip_bad_rows`` is
    set: then exactly that row is left out and listed in ``report``. A problem with the
    file as a whole (no header, not Parquet) always raises.
    """
    path = Path(path)
    check_exists(path, "catalog file")
    fmt = CATALOG_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise DataError(
            f"unknown catalog format {path.suffix!r}", path=path,
            fix="use a .jsonl, .csv or .parquet file",
        )
    rows = {"jsonl": _jsonl_rows, "csv": _csv_rows, "parquet": _parquet_rows}[fmt](path, encoding)
    report = report if report is not None else LoadReport()
    catalog = Catalog([])
    ignored: set[str] = set()
    first_line: dict[str, int | None] = {}
    for line, row in rows:
        try:
            if isinstance(row, DataError):
                raise row
            extra = set(row) - set(ITEM_FIELDS)
            if extra:
                ignored |= extra
                row = {k: v for k, v in row.items() if k in ITEM_FIELDS}
            item = _item(row, path, line)
            if item.id in catalog:
                raise DataError(
                    f"duplicate id {item.id!r} (first seen on line {first_line[item.id]})",
                    path=path, line=line, field="id", fix="give every catalog item its own id",
                )
        except DataError as err:
            if not skip_bad_rows:
                raise
            report.skip(BadRow(str(path), err.line, err.field, err.problem))
            continue
        first_line[item.id] = line
        catalog.add(item)
        report.loaded += 1
    if ignored:
        log.warning("%s: ignored unknown catalog column(s) %s; known fields are %s",
                    path, sorted(ignored), list(ITEM_FIELDS))
    if not len(catalog):
        raise DataError("the catalog has no usable rows", path=path,
                        fix="check that the file has rows and the expected columns")
    return catalog


def _item(row: dict[str, Any], path: Path, line: int | None) -> Item:
    try:
        item = Item.model_validate(clean_row(row))
    except ValidationError as exc:
        raise validation_to_data_error(exc, path=path, line=line, row=row) from None
    return check_item(item, path=path, line=line)


def _jsonl_rows(path: Path, encoding: str) -> Iterator[tuple[int, Any]]:
    text = read_text(path, encoding)
    lines = text.split("\n")
    for n, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            last = n == len(lines) or all(not x.strip() for x in lines[n:])
            hint = " (the file looks truncated)" if last and not text.endswith("\n") else ""
            yield n, DataError(
                f"not valid JSON{hint}: {exc.msg} at column {exc.colno}", path=path, line=n,
                fix="write one complete JSON object per line" + (
                    "; re-export or re-download the file" if hint else ""),
            )
            continue
        except RecursionError:
            yield n, DataError("JSON nested too deeply to read", path=path, line=n,
                               fix="write one flat object per line: catalog fields are "
                                   "strings, numbers and lists of strings")
            continue
        except ValueError as exc:  # e.g. an integer of more than 4300 digits
            yield n, DataError(f"a JSON value cannot be read ({str(exc)[:80]})", path=path,
                               line=n, fix="write numbers of a sensible size (a year, minutes)")
            continue
        if not isinstance(obj, dict):
            yield n, DataError(f"expected a JSON object, got {type(obj).__name__}",
                               path=path, line=n, fix="write one JSON object per line")
            continue
        yield n, obj


_REQUIRED = ("id", "title", "media_type")


def _csv_rows(path: Path, encoding: str) -> Iterator[tuple[int, Any]]:
    records = CsvRecords(path, read_text(path, encoding), multiline=("description",))
    missing = [c for c in _REQUIRED if c not in records.header]
    if missing:
        seps = [s for s in (";", "\t", "|") if s in ",".join(records.header)]
        raise DataError(
            f"no {missing[0]!r} column in the header (columns found: {records.header[:12]})",
            path=path, line=1, field=missing[0],
            fix="separate the columns with commas" if seps else
                "name the columns id,title,media_type[,year,duration_min,genres,tags,"
                "description,creators,language] in the header row")
    for line, values in records:
        if isinstance(values, DataError):
            yield line, values
            continue
        yield line, {k: (v if v.strip() else None)
                     for k, v in zip(records.header, values, strict=True)}


def _parquet_rows(path: Path, encoding: str) -> Iterator[tuple[int, Any]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(f"not a readable Parquet file ({str(exc)[:120]})", path=path,
                        fix="the file may be truncated or not Parquet; re-export it") from None
    # Parquet has no lines; report the 1-based row number as the line.
    yield from enumerate(table.to_pylist(), 1)


def save_catalog_jsonl(catalog: Catalog, path: str | Path) -> None:
    """Write a catalog as JSONL, atomically."""
    from retrieval.io import atomic_write_text

    text = "".join(json.dumps(it.model_dump(mode="json"), ensure_ascii=False) + "\n"
                   for it in catalog)
    atomic_write_text(Path(path), text)
