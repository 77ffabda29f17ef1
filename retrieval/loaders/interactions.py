"""Interaction files: CSV (header row) and Parquet, validated column-wise so that logs of
tens of millions of rows load in seconds.

Columns: ``user_id``, ``item_id`` (required), ``timestamp`` (Unix seconds or ISO-8601),
``event`` (play | like | dislike | rating | skip; default ``rating`` when a value column is
present, else ``play``), ``value``. The MovieLens spellings ``userId``, ``movieId`` and
``rating`` are accepted as aliases.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from pathlib import Path

import numpy as np
import pandas as pd

from retrieval.errors import BadRow, DataError, LoadReport
from retrieval.interactions import Interactions
from retrieval.loaders._common import MAX_ID, check_exists
from retrieval.loaders._csv import Table, read_table
from retrieval.models import DEFAULT_EVENT_VALUE, EVENTS

__all__ = ["INTERACTION_FORMATS", "load_interactions", "validate_interactions", "validate_table"]

# Unix seconds a timestamp may hold: 1900-01-01 to 2100-01-01 (beyond is a unit mistake, such
# as milliseconds, or a corrupt value).
MIN_TIMESTAMP = -2_208_988_800
MAX_TIMESTAMP = 4_102_444_800
MAX_VALUE = 1e9
"""Largest absolute interaction value (ratings, play counts); beyond is a corrupt value."""
_CONTROL = r"[\x00-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]"

INTERACTION_FORMATS = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet"}
ALIASES = {"userid": "user_id", "user": "user_id", "itemid": "item_id", "movieid": "item_id",
           "item": "item_id", "rating": "value", "time": "timestamp", "ts": "timestamp"}


def load_interactions(
    path: str | Path,
    *,
    item_ids: Collection[str] | None = None,
    skip_bad_rows: bool = False,
    encoding: str = "utf-8",
    report: LoadReport | None = None,
) -> Interactions:
    """Load and validate an interaction file.

    Args:
        path: A ``.csv``, ``.tsv`` or ``.parquet`` file.
        item_ids: The catalog's ids; an interaction naming another item is an error.
        skip_bad_rows: Leave bad rows out and count them in ``report`` instead of failing.
        encoding: Text encoding of CSV files.
        report: Receives the counts of loaded and skipped rows.
    """
    path = Path(path)
    check_exists(path, "interaction file")
    fmt = INTERACTION_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise DataError(f"unknown interaction file format {path.suffix!r}", path=path,
                        fix="use a .csv or .parquet file")
    if fmt == "parquet":
        frame = _read_parquet(path)
        return validate_interactions(frame, path=path, first_line=1, item_ids=item_ids,
                                     skip_bad_rows=skip_bad_rows, report=report,
                                     require_rows=True)
    table = read_table(path, sep="\t" if fmt == "tsv" else ",", encoding=encoding, header=True)
    return validate_table(table, path=path, item_ids=item_ids, skip_bad_rows=skip_bad_rows,
                          report=report)


def validate_table(table: Table, *, path: Path, item_ids: Collection[str] | None,
                   skip_bad_rows: bool, report: LoadReport | None,
                   required: tuple[str, ...] = ()) -> Interactions:
    """Validate a table read by :func:`read_table`: its malformed lines are bad rows too,
    reported (or skipped) with the rest; a table without a single row is an error."""
    report = report if report is not None else LoadReport()
    if table.bad and not skip_bad_rows:
        raise table.bad[0]
    for err in table.bad:
        report.skip(BadRow(str(path), err.line, err.field, err.problem))
    last_bad = max((e.line or 0 for e in table.bad), default=0)
    cut = not table.ends_with_newline and (not len(table.lines) or table.lines[-1] > last_bad)
    return validate_interactions(table.frame, path=path, lines=table.lines, item_ids=item_ids,
                                 skip_bad_rows=skip_bad_rows, report=report,
                                 last_line_unterminated=cut, require_rows=not table.bad,
                                 required=required)


def _read_parquet(path: Path) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.read_table(path).to_pandas()
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(f"not a readable Parquet file ({exc})", path=path,
                        fix="the file may be truncated or not Parquet; re-export it") from None


def _per_value(col: pd.Series, fn: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """``fn(col)`` computed once per distinct value of ``col`` (a log of 20M rows repeats
    each id hundreds of times): the rows then share the results' objects, where a string
    operation over every row makes one new string per row (gigabytes at that size)."""
    if not len(col):
        return fn(col)
    codes, uniques = pd.factorize(col, use_na_sentinel=False)
    done = np.asarray(fn(pd.Series(uniques, dtype=object)).to_numpy(), dtype=object)
    # object dtype: the rows point at the distinct values' objects (a string dtype would
    # copy every row's characters again).
    return pd.Series(done[codes], index=col.index, dtype=object)


def _blank(col: pd.Series) -> np.ndarray:
    if col.dtype.kind in "biuf":  # a number is never blank text
        return col.isna().to_numpy()
    text = _per_value(col, lambda c: c.astype(str).str.strip())
    return (col.isna() | (text == "")).to_numpy()


def validate_interactions(
    frame: pd.DataFrame,
    *,
    path: Path | str,
    first_line: int = 2,
    item_ids: Collection[str] | None = None,
    skip_bad_rows: bool = False,
    report: LoadReport | None = None,
    lines: np.ndarray | None = None,
    last_line_unterminated: bool = False,
    require_rows: bool = False,
    required: tuple[str, ...] = (),
) -> Interactions:
    """Check every column of a raw interaction table at once and build :class:`Interactions`.

    Rules: ids at most 200 characters without control characters; timestamps Unix seconds
    (or ISO-8601) from 1900 to 2100; values finite and at most 1e9 in size; events from
    :data:`~retrieval.models.EVENTS`.

    Args:
        frame: The raw table (strings from CSV, typed columns from Parquet).
        path: The file, named in errors.
        first_line: Line (or row) number of the table's first row in its file.
        item_ids: The catalog's ids; an interaction naming another item is an error.
        skip_bad_rows: Leave bad rows out and list them in ``report`` instead of failing.
        report: Receives the counts of loaded and skipped rows.
        lines: Each row's line in its file (overrides ``first_line``; blank lines and
            malformed lines left out of the table keep the others' numbers right).
        last_line_unterminated: The file's last line has no line break; a last row with a
            blank or short field there is reported as cut off.
        require_rows: A table without rows is an error (an empty file is never a data set).
        required: Optional columns every row must fill (MovieLens: the timestamp).
    """
    report = report if report is not None else LoadReport()
    frame = _named_columns(frame, path, first_line)
    n = len(frame)
    if require_rows and not n:
        raise DataError("the file has no interaction rows", path=path,
                        fix="restore the file, or give it rows under the header "
                            "(user_id,item_id,timestamp,event,value)")
    line_of = (lines.astype(np.int64) if lines is not None
               else np.arange(n, dtype=np.int64) + first_line)
    # The checks run in this order; the first problem of the earliest bad row is reported.
    problems = _Problems(n)
    if last_line_unterminated:
        _cut_last_row(frame, problems)
    for name in required:
        if name in frame.columns:
            problems.flag(_blank(frame[name]), name, f"missing {name}",
                          f"give every row its {name}; restore the original file")
    user, item = _ids(frame, item_ids, problems)
    timestamp = _timestamps(frame, problems)
    value, val_blank = _values(frame, problems)
    event = _events(frame, val_blank, problems)
    if problems.bad.any():
        if not skip_bad_rows:
            raise problems.first_error(frame, path, line_of)
        problems.skip_all(report, path, line_of)
    keep = ~problems.bad
    out = pd.DataFrame({
        "user_id": user[keep].to_numpy(),
        "item_id": item[keep].to_numpy(),
        "timestamp": pd.array(np.asarray(timestamp, dtype="float64")[keep], dtype="Int64")
        if n else pd.array([], dtype="Int64"),
        "event": event[keep].to_numpy(),
        "value": np.asarray(value, dtype="float64")[keep],
    })
    report.loaded += int(keep.sum())
    missing_value = out["value"].isna()
    if missing_value.any():
        out.loc[missing_value, "value"] = out.loc[missing_value, "event"].map(DEFAULT_EVENT_VALUE)
    return Interactions(out)


class _Problems:
    """Bad rows found so far: one ``(mask, field, problem, fix)`` per failed check."""

    def __init__(self, n: int) -> None:
        self.bad = np.zeros(n, dtype=bool)
        self.found: list[tuple[np.ndarray, str, str, str]] = []

    def flag(self, mask: np.ndarray, field: str, problem: str, fix: str) -> None:
        if mask.any():
            self.found.append((mask, field, problem, fix))
            self.bad |= mask

    def first_error(self, frame: pd.DataFrame, path: Path | str,
                    line_of: np.ndarray) -> DataError:
        """The error for the earliest bad row (its first failed check), showing the value."""
        mask, field, problem, fix = min(self.found, key=lambda p: int(np.argmax(p[0])))
        row = int(np.argmax(mask))
        got = frame[field].iloc[row] if field in frame.columns else None
        empty = got is None or (isinstance(got, float) and np.isnan(got)) or not str(got).strip()
        shown = "" if empty else f" (got {str(got)[:40]!r})"
        return DataError(problem + shown, path=path, line=int(line_of[row]), field=field,
                         fix=fix)

    def skip_all(self, report: LoadReport, path: Path | str, line_of: np.ndarray) -> None:
        """List every bad row in ``report`` under its first failed check."""
        for r in np.flatnonzero(self.bad):
            for mask, field, problem, _fix in self.found:
                if mask[r]:
                    report.skip(BadRow(str(path), int(line_of[r]), field, problem))
                    break


def _named_columns(frame: pd.DataFrame, path: Path | str, first_line: int) -> pd.DataFrame:
    """Columns under their canonical names (aliases resolved); user_id and item_id required."""
    frame = frame.rename(columns={
        c: ALIASES.get(str(c).strip().lower().replace("_", ""), str(c).strip())
        for c in frame.columns})
    frame = frame.rename(columns={c: c.lower() for c in frame.columns if c.lower() in
                                  ("user_id", "item_id", "timestamp", "event", "value")})
    for required in ("user_id", "item_id"):
        if required not in frame.columns:
            raise DataError(
                f"no '{required}' column (columns found: {list(frame.columns)})",
                path=path, line=1 if first_line > 1 else None, field=required,
                fix="name the columns user_id,item_id[,timestamp,event,value] in the header",
            )
    return frame


def _ids(frame: pd.DataFrame, item_ids: Collection[str] | None,
         problems: _Problems) -> tuple[pd.Series, pd.Series]:
    """User and item ids as strings; flags missing ids and items not in the catalog."""
    user = _per_value(frame["user_id"], lambda c: c.astype(str).str.strip())
    item = _per_value(frame["item_id"], lambda c: c.astype(str).str.strip())
    # Numeric ids read from Parquet arrive as floats; "3.0" must match the catalog's "3".
    for series_name in ("user_id", "item_id"):
        col = frame[series_name]
        if pd.api.types.is_float_dtype(col) and col.dropna().apply(float.is_integer).all():
            as_int = col.astype("Int64").astype(str)
            if series_name == "user_id":
                user = as_int
            else:
                item = as_int
    problems.flag(_blank(frame["user_id"]), "user_id", "missing user id",
                  "give every row a user_id")
    problems.flag(_blank(frame["item_id"]), "item_id", "missing item id",
                  "give every row an item_id")
    for name, ids in (("user_id", user), ("item_id", item)):
        too_long, control = _id_checks(ids)
        problems.flag(too_long, name, f"id longer than {MAX_ID} characters",
                      f"keep ids to {MAX_ID} characters")
        problems.flag(control, name, "id holds a control or format character",
                      "use ids of visible characters only")
    if item_ids is not None:
        index = item_ids if isinstance(item_ids, pd.Index) else pd.Index(list(item_ids))
        known = item.isin(index)
        unknown = (~known.to_numpy()) & ~_blank(frame["item_id"])
        problems.flag(unknown, "item_id", "item id not in the catalog",
                      "add the item to the catalog, or remove the interaction "
                      "(or pass --skip-bad-rows)")
    return user, item


def _timestamps(frame: pd.DataFrame, problems: _Problems) -> pd.Series:
    """Unix seconds (from numbers or ISO-8601 dates), NaN where absent."""
    if "timestamp" not in frame.columns:
        return pd.Series(np.full(len(frame), np.nan))
    raw_ts = frame["timestamp"]
    ts_blank = _blank(raw_ts)
    if pd.api.types.is_datetime64_any_dtype(raw_ts):
        # Parquet timestamp columns: to_numeric would give nanoseconds, not seconds
        epoch = pd.Timestamp("1970-01-01", tz=getattr(raw_ts.dt, "tz", None))
        raw_ts = (raw_ts - epoch) // pd.Timedelta(seconds=1)
    ts = pd.to_numeric(raw_ts, errors="coerce")
    need_parse = ts.isna().to_numpy() & ~ts_blank
    if need_parse.any():
        parsed = pd.to_datetime(raw_ts[need_parse], errors="coerce", utc=True, format="ISO8601")
        secs = (parsed - pd.Timestamp("1970-01-01", tz="UTC")) // pd.Timedelta(seconds=1)
        ts = ts.astype("float64")
        ts[need_parse] = secs.astype("float64").to_numpy()
    problems.flag((ts.isna().to_numpy() & ~ts_blank), "timestamp",
                  "timestamp is neither Unix seconds nor an ISO-8601 date",
                  "write Unix seconds (e.g. 1700000000) or an ISO date (2024-01-31T12:00:00Z)")
    secs = ts.to_numpy(dtype="float64", na_value=np.nan)
    with np.errstate(invalid="ignore"):
        out_of_range = ~np.isnan(secs) & ~((secs >= MIN_TIMESTAMP) & (secs <= MAX_TIMESTAMP))
    problems.flag(out_of_range, "timestamp",
                  "timestamp is not a time between 1900 and 2100",
                  "write Unix seconds (e.g. 1700000000); divide milliseconds by 1000")
    return ts.where(~out_of_range, np.nan) if out_of_range.any() else ts


def _values(frame: pd.DataFrame, problems: _Problems) -> tuple[pd.Series, np.ndarray]:
    """The value column as numbers, and which rows left it blank."""
    n = len(frame)
    if "value" not in frame.columns:
        return pd.Series(np.full(n, np.nan)), np.ones(n, dtype=bool)
    raw_val = frame["value"]
    val_blank = _blank(raw_val)
    value = pd.to_numeric(raw_val, errors="coerce")
    problems.flag(value.isna().to_numpy() & ~val_blank, "value", "value is not a number",
                  "write a number (a rating such as 4 or 3.5), or leave it empty")
    nums = value.to_numpy(dtype="float64", na_value=np.nan)
    with np.errstate(invalid="ignore"):
        huge = ~np.isnan(nums) & ~(np.abs(nums) <= MAX_VALUE)
    problems.flag(huge, "value", f"value is infinite or larger than {MAX_VALUE:g}",
                  "write a finite number (a rating such as 4 or 3.5, a play count)")
    return (value.where(~huge, np.nan) if huge.any() else value), val_blank


def _id_checks(ids: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Rows whose id is too long, and rows whose id holds a control or format character;
    checked once per distinct id (a log has far fewer ids than rows)."""
    codes, uniques = pd.factorize(ids)
    names = pd.Series(uniques, dtype=object).astype(str)
    long = (names.str.len() > MAX_ID).to_numpy()
    control = names.str.contains(_CONTROL, regex=True).to_numpy()
    safe = np.maximum(codes, 0)
    return long[safe] & (codes >= 0), control[safe] & (codes >= 0)


def _cut_last_row(frame: pd.DataFrame, problems: _Problems) -> None:
    """Flag a last row that a cut-off file left short: its timestamp has fewer digits than
    any other row's, or a field every other row fills is blank."""
    n = len(frame)
    if n < 2:
        return
    last = np.zeros(n, dtype=bool)
    last[-1] = True
    fix = "restore the complete file (re-download or re-export it), or delete its last line"
    if "timestamp" in frame.columns:
        raw = frame["timestamp"].astype(str).str.strip()
        digits = raw.str.fullmatch(r"\d+").to_numpy()
        if digits[-1] and digits[:-1].any():
            shortest = int(raw[:-1][digits[:-1]].str.len().min())
            if len(raw.iloc[-1]) < shortest:
                problems.flag(last, "timestamp",
                              f"the file looks truncated: its last line has no line break "
                              f"and its timestamp has {len(raw.iloc[-1])} digits where every "
                              f"other row's has at least {shortest}", fix)
                return
    for name in ("user_id", "item_id", "timestamp", "event", "value"):
        if name not in frame.columns:
            continue
        blank = _blank(frame[name])
        if blank[-1] and not blank[:-1].any():
            problems.flag(last, name, "the file looks truncated: its last line has no line "
                          f"break and no {name}, which every other row has", fix)
            return


def _events(frame: pd.DataFrame, val_blank: np.ndarray, problems: _Problems) -> pd.Series:
    """Event names (default: ``rating`` when there is a value column, else ``play``)."""
    n = len(frame)
    if "event" in frame.columns:
        event = _per_value(frame["event"], lambda c: c.astype(str).str.strip().str.lower())
        ev_blank = _blank(frame["event"])
        default_event = "rating" if "value" in frame.columns else "play"
        event = event.where(~ev_blank, default_event)
        problems.flag(~event.isin(EVENTS).to_numpy(), "event",
                      "unknown event (allowed: " + ", ".join(EVENTS) + ")",
                      "use one of: " + ", ".join(EVENTS))
    else:
        event = pd.Series(np.full(n, "rating" if "value" in frame.columns else "play"))
    problems.flag((event == "rating").to_numpy() & val_blank, "value", "a rating needs a value",
                  "write the rating in the value column, or use the event 'play'")
    return event
