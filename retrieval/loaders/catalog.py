"""Catalog files: JSONL (one object per line), CSV (header row, list fields separated by
'|'), and Parquet (list or '|'-separated string columns)."""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from retrieval.catalog import Catalog
from retrieval.errors import BadRow, DataError, LoadReport
from retrieval.loaders._common import check_exists, read_text, validation_to_data_error
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

    Every row is validated as an :class:`Item`. A bad row raises :class:`DataError` naming
    the file, line, field and fix, unless ``skip_bad_rows`` is set, in which case it is
    counted in ``report`` and left out.
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
            try:
                item = Item.model_validate(row)
            except ValidationError as exc:
                raise validation_to_data_error(exc, path=path, line=line, row=row) from None
            if item.id in catalog:
                raise DataError(
                    f"duplicate id {item.id!r} (first seen on line {first_line[item.id]})",
                    path=path, line=line, field="id", fix="give every catalog item its own id",
                )
        except DataError as err:
            if not skip_bad_rows or err.problem.startswith(_FATAL):
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


_FATAL = ("not a readable Parquet file", "the CSV file has no header row")


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
        if not isinstance(obj, dict):
            yield n, DataError(f"expected a JSON object, got {type(obj).__name__}",
                               path=path, line=n, fix="write one JSON object per line")
            continue
        yield n, obj


def _csv_rows(path: Path, encoding: str) -> Iterator[tuple[int, Any]]:
    text = read_text(path, encoding)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        yield 1, DataError("the CSV file has no header row", path=path, line=1,
                           fix="add a header row naming the columns (id,title,media_type,...)")
        return
    except csv.Error as exc:
        yield 1, DataError(f"the CSV file has no header row: {exc}", path=path, line=1,
                           fix="add a header row naming the columns")
        return
    header = [h.strip().lstrip("\ufeff") for h in header]
    start = reader.line_num + 1
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield reader.line_num, DataError(
                f"malformed CSV ({exc}); the file may be truncated", path=path,
                line=reader.line_num, fix="close every quoted field and re-export the file")
            return
        line = start
        start = reader.line_num + 1
        if not values or all(not v.strip() for v in values):
            continue
        if len(values) != len(header):
            truncated = (len(values) < len(header) and not text.endswith("\n")
                         and start > text.count("\n") + 1)
            yield line, DataError(
                f"{len(values)} fields where the header has {len(header)}"
                + (" (the file looks truncated)" if truncated else ""),
                path=path, line=line,
                field=header[len(values)] if len(values) < len(header) else None,
                fix="quote fields that contain commas, and give every row all columns",
            )
            continue
        yield line, {k: (v if v.strip() else None) for k, v in zip(header, values, strict=True)}


def _parquet_rows(path: Path, encoding: str) -> Iterator[tuple[int, Any]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        yield 1, DataError(f"not a readable Parquet file ({exc})", path=path,
                           fix="the file may be truncated or not Parquet; re-export it")
        return
    # Parquet has no lines; report the 1-based row number as the line.
    yield from enumerate(table.to_pylist(), 1)


def save_catalog_jsonl(catalog: Catalog, path: str | Path) -> None:
    """Write a catalog as JSONL, atomically."""
    from retrieval.io import atomic_write_text

    text = "".join(json.dumps(it.model_dump(mode="json"), ensure_ascii=False) + "\n"
                   for it in catalog)
    atomic_write_text(Path(path), text)
