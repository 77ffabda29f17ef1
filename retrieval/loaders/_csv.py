"""Delimited text read so that a malformed line costs that line and nothing more.

A stray quote is the classic way to lose data: a CSV reader takes everything after an
unclosed ``"`` as one field, so the rest of the file disappears into it (or, when a later
quote happens to close it, several good rows become one bad one). Here every record is
checked against the physical lines it spans. A record may span lines only when it has the
header's number of fields and its line breaks sit inside fields that may hold them (a
description); otherwise its first line is reported (file, line, the field whose quote
opened there) and reading starts again on the next line, so the rows after it survive.

Two readers share that rule:

- :class:`CsvRecords` walks a text record by record (catalogs: thousands of rows).
- :func:`read_table` reads an interaction table with pandas' C parser when that parse is
  sure to be exact (as many rows as physical lines, no line with a field too many) and
  falls back to :class:`CsvRecords` otherwise, so logs of tens of millions of rows stay
  fast and broken files still lose only their broken lines.
"""

from __future__ import annotations

import contextlib
import csv
import io
import warnings
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from retrieval.errors import DataError
from retrieval.loaders._common import locate_decode_error, read_text

__all__ = ["CsvRecords", "Table", "read_table"]

_UNCLOSED_FIX = ("close the quote on this line, or write a quote that belongs to the text as "
                 "two quotes (\"\"); the lines after it were read on their own")


class CsvRecords:
    """The records of a delimited text, each with the line it starts on.

    Iterating yields ``(line, fields)`` for every good record and ``(line, DataError)`` for
    every malformed one; blank lines are passed over. With ``header=True`` the first record
    is read at construction into :attr:`header` (a file without one raises
    :class:`DataError`).

    Args:
        path: The file, named in errors.
        text: Its decoded contents.
        delimiter: One character (``","`` or ``"\\t"``).
        header: Whether the first record names the columns.
        names: Column names when there is no header row.
        multiline: Columns whose values may contain line breaks.

    Example:
        >>> recs = CsvRecords("c.csv", 'id,title\\n1,"Moon\\n2,Crypt\\n')
        >>> recs.header, [(n, r if isinstance(r, list) else r.field) for n, r in recs]
        (['id', 'title'], [(2, 'title'), (3, ['2', 'Crypt'])])
    """

    def __init__(self, path: str | Path, text: str, *, delimiter: str = ",", header: bool = True,
                 names: list[str] | None = None, multiline: Collection[str] = ()) -> None:
        self.path = str(path)
        self.delimiter = delimiter
        self.multiline = set(multiline)
        self.lines = list(io.StringIO(text, newline=""))
        self.ends_with_newline = text.endswith(("\n", "\r"))
        self.header: list[str] = list(names or [])
        self._start = 0
        if header:
            self._read_header()

    def _read_header(self) -> None:
        while self._start < len(self.lines) and not self.lines[self._start].strip():
            self._start += 1
        if self._start >= len(self.lines):
            raise DataError("the file is empty: no header row", path=self.path, line=1,
                            fix="add a header row naming the columns, then the rows")
        line = self._start + 1
        try:
            values = next(csv.reader([self.lines[self._start]], delimiter=self.delimiter,
                                     strict=True))
        except csv.Error as exc:
            raise DataError(f"the header row cannot be read ({exc})", path=self.path, line=line,
                            fix="write the header as plain column names separated by "
                                f"{self.delimiter!r}") from None
        self.header = [v.strip().lstrip("\ufeff").strip() for v in values]
        dup = sorted({h for h in self.header if h and self.header.count(h) > 1})
        if dup:
            raise DataError(f"column {dup[0]!r} appears more than once in the header",
                            path=self.path, line=line, field=dup[0],
                            fix="give every column its own name")
        self._start += 1

    def __iter__(self) -> Iterator[tuple[int, list[str] | DataError]]:
        pos = self._start
        while pos < len(self.lines):
            reader = csv.reader((self.lines[i] for i in range(pos, len(self.lines))),
                                delimiter=self.delimiter, strict=True)
            done = 0  # physical lines consumed by the records read so far
            try:
                for values in reader:
                    first, done = pos + done, reader.line_num
                    end = pos + done  # one past the record's last line (0-based)
                    if not values or all(not v.strip() for v in values):
                        continue
                    if end - first > 1 and not self._fine_multiline(values):
                        yield first + 1, self._unclosed(first, end)
                        pos = first + 1
                        break
                    yield first + 1, self._count_check(first, end, values)
                else:
                    return
            except csv.Error as exc:
                first = pos + done
                if pos + reader.line_num - first > 1:
                    yield first + 1, self._unclosed(first, pos + reader.line_num)
                else:
                    yield first + 1, self._one_line_error(first, exc)
                pos = first + 1

    def _fine_multiline(self, values: list[str]) -> bool:
        if len(values) != len(self.header):
            return False
        return all(name in self.multiline for name, v in zip(self.header, values, strict=True)
                   if "\n" in v or "\r" in v)

    def _field_at_quote(self, first: int) -> str | None:
        """The column where line ``first``'s quoting goes wrong (a quote never closed, or
        text after a closing quote)."""
        idx = _bad_quote_field(self.lines[first], self.delimiter)
        if idx is None:
            with _field_limit(len(self.lines[first]) + 1):
                fields = next(csv.reader([self.lines[first]], delimiter=self.delimiter), [])
            idx = max(len(fields) - 1, 0)
        return self.header[idx] if idx < len(self.header) else None

    def _unclosed(self, first: int, end: int) -> DataError:
        if end - first > 1:
            span = f"lines {first + 2}-{end}" if end - first > 2 else f"line {first + 2}"
            swallowed = f"a reader would take {span} into it"
        else:
            swallowed = "the file ends inside it; it looks truncated"
        return DataError(f"a quoted field opens on this line and is not closed on it "
                         f"({swallowed})", path=self.path, line=first + 1,
                         field=self._field_at_quote(first), fix=_UNCLOSED_FIX)

    def _one_line_error(self, first: int, exc: csv.Error) -> DataError:
        text = str(exc)
        line = first + 1
        if "field larger than field limit" in text:
            with _field_limit(len(self.lines[first]) + 1):
                fields = next(csv.reader([self.lines[first]], delimiter=self.delimiter), [])
            longest = max(range(len(fields)), key=lambda i: len(fields[i])) if fields else 0
            name = self.header[longest] if longest < len(self.header) else None
            limit = csv.field_size_limit()
            return DataError(
                f"a field of {len(fields[longest]) if fields else 0:,} characters is over the "
                f"{limit:,}-character limit of a CSV field", path=self.path, line=line,
                field=name, fix="shorten the value (a catalog description holds at most 5000 "
                "characters, a title 500, an id 200), or close the quote that opened it")
        if "unexpected end of data" in text:
            return self._unclosed(first, len(self.lines))
        return DataError(f"malformed CSV line ({text})", path=self.path, line=line,
                         field=self._field_at_quote(first),
                         fix='inside a quoted field write a quote as two quotes (""); '
                             "quote a field that contains the separator")

    def _count_check(self, first: int, end: int, values: list[str]) -> list[str] | DataError:
        want = len(self.header)
        if not want or len(values) == want:
            return values
        last = end >= len(self.lines) and not self.ends_with_newline
        return DataError(
            f"{len(values)} fields where the header has {want}"
            + (" (the file looks truncated: its last line has no line break)"
               if last and len(values) < want else ""),
            path=self.path, line=first + 1,
            field=self.header[len(values)] if len(values) < want else None,
            fix="quote fields that contain the separator, and give every row all columns"
                + ("; re-export or re-download the file" if last else ""))


def _bad_quote_field(line: str, delimiter: str) -> int | None:
    """Index of the first field of ``line`` whose quoting is broken, or None."""
    idx, i, n, at_start = 0, 0, len(line), True
    while i < n:
        ch = line[i]
        if at_start and ch == '"':
            i += 1
            while True:
                j = line.find('"', i)
                if j < 0:
                    return idx  # opened and never closed on this line
                if line[j + 1 : j + 2] == '"':  # a doubled quote is text
                    i = j + 2
                    continue
                i = j + 1
                break
            if i < n and line[i] not in (delimiter, "\r", "\n"):
                return idx  # text after the closing quote
            at_start = False
            continue
        if ch == delimiter:
            idx += 1
            at_start = True
        else:
            at_start = False
        i += 1
    return None


@contextlib.contextmanager
def _field_limit(at_least: int) -> Iterator[None]:
    """Raise the csv module's (process-wide) field size limit while one line is re-read."""
    old = csv.field_size_limit()
    csv.field_size_limit(max(old, at_least))
    try:
        yield
    finally:
        csv.field_size_limit(old)


@dataclass
class Table:
    """A delimited table as strings, with each row's line in its file.

    Attributes:
        frame: One column per field, every value a string (blank when absent).
        lines: The 1-based line each row starts on.
        bad: Malformed lines, already located (file, line, field, fix).
        ends_with_newline: False when the last line has no line break (a cut-off file).
    """

    frame: pd.DataFrame
    lines: np.ndarray
    bad: list[DataError] = field(default_factory=list)
    ends_with_newline: bool = True


def read_table(path: Path, *, sep: str, encoding: str, header: bool,
               names: list[str] | None = None, quoting: bool = True) -> Table:
    """Read a delimited file whole; malformed lines land in :attr:`Table.bad`, never
    silently in (or instead of) their neighbours.

    Args:
        path: The file.
        sep: ``","``, ``"\\t"`` or ``"::"`` (MovieLens' .dat files).
        encoding: Its text encoding.
        header: Whether the first line names the columns (else ``names`` does).
        names: Column names for a file without a header row.
        quoting: Whether ``"`` quotes fields (MovieLens' tab and ``::`` files have no quoting).
    """
    def careful() -> Table:
        return _careful(path, sep=sep, encoding=encoding, header=header, names=names,
                        quoting=quoting)

    try:
        frame = _fast(path, sep=sep, encoding=encoding, header=header, names=names,
                      quoting=quoting)
    except _NotExact:
        return careful()
    ends = _ends_with_newline(path)
    physical = _count(path, b"\n") + (0 if ends else 1)
    if len(frame) + (1 if header else 0) != physical:
        # Fewer rows than lines: a quoted field took in line breaks (a stray quote, most
        # likely). Only a record-by-record read can tell which line is at fault.
        return careful()
    blank = _blank_rows(frame)
    if sep == "::" and _count(path, b"::") != (len(frame.columns) - 1) * int((~blank).sum()):
        # the ':' parse keeps only every other column, so a line with a field too many or
        # too few would pass unseen: read it line by line instead
        return careful()
    # With blank lines kept and no quoting, row i sits on physical line i (+1 for a header).
    lines = np.arange(len(frame)) + (2 if header else 1)
    keep = ~blank
    return Table(frame[keep].reset_index(drop=True), lines[keep], ends_with_newline=ends)


def _blank_rows(frame: pd.DataFrame) -> np.ndarray:
    """Rows of blank lines (every field empty); only rows whose first field is blank are
    looked at closely, which keeps this cheap on logs of millions of rows."""
    if not len(frame.columns):
        return np.zeros(len(frame), dtype=bool)
    first = frame[frame.columns[0]].astype(str).str.strip() == ""
    blank = first.to_numpy().copy()
    if blank.any():
        rows = np.flatnonzero(blank)
        sub = frame.iloc[rows]
        for col in frame.columns[1:]:
            blank[rows] &= (sub[col].astype(str).str.strip() == "").to_numpy()
    return blank


class _NotExact(Exception):
    """pandas' fast parse would not be exact for this file."""


def _fast(path: Path, *, sep: str, encoding: str, header: bool, names: list[str] | None,
          quoting: bool) -> pd.DataFrame:
    usecols = None
    pd_sep = sep
    if sep == "::" and names:
        # '::' as a separator needs pandas' slow Python engine; ':' keeping every other
        # column is the same parse with the C engine (the fields hold no ':').
        pd_sep, usecols = ":", list(range(0, 2 * len(names), 2))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(
                path, sep=pd_sep, header=0 if header else None,
                names=None if (header or usecols) else names, usecols=usecols, dtype=str,
                keep_default_na=False, na_filter=False, skip_blank_lines=False,
                index_col=False, encoding=encoding, engine="c",
                quoting=csv.QUOTE_MINIMAL if quoting else csv.QUOTE_NONE)
    except UnicodeDecodeError:
        raise (locate_decode_error(path, encoding) or DataError(
            f"cannot decode the file as {encoding}", path=path,
            fix="pass the file's real encoding")) from None
    except pd.errors.EmptyDataError:
        raise DataError("the file is empty", path=path, line=1,
                        fix="restore the file, or give it a header row and rows") from None
    except (pd.errors.ParserError, pd.errors.ParserWarning, ValueError):
        raise _NotExact from None
    if usecols and names:
        frame.columns = names
    return frame


def _careful(path: Path, *, sep: str, encoding: str, header: bool, names: list[str] | None,
             quoting: bool) -> Table:
    text = read_text(path, encoding)
    if not text.strip():
        raise DataError("the file is empty", path=path, line=1,
                        fix="restore the file, or give it a header row and rows")
    rows: list[list[str]] = []
    lines: list[int] = []
    bad: list[DataError] = []
    if quoting and len(sep) == 1:
        recs = CsvRecords(path, text, delimiter=sep, header=header, names=names)
        records: Iterator[tuple[int, list[str] | DataError]] = iter(recs)
        columns = recs.header
    else:
        columns = list(names or [])
        records = _split_lines(path, text, sep, columns)
    for line, rec in records:
        if isinstance(rec, DataError):
            bad.append(rec)
        else:
            rows.append(rec)
            lines.append(line)
    frame = pd.DataFrame(rows, columns=columns, dtype=object) if rows else \
        pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
    return Table(frame, np.asarray(lines, dtype=np.int64), bad,
                 ends_with_newline=text.endswith(("\n", "\r")))


def _split_lines(path: Path, text: str, sep: str,
                 names: list[str]) -> Iterator[tuple[int, list[str] | DataError]]:
    """Records of an unquoted format (MovieLens' tab and '::' files): one per line."""
    for n, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        parts = raw.split(sep)
        if len(parts) != len(names):
            yield n, DataError(
                f"{len(parts)} {sep!r}-separated fields where {len(names)} are expected",
                path=path, line=n, field=names[len(parts)] if len(parts) < len(names) else None,
                fix="restore the original file; it may be truncated or edited")
            continue
        yield n, parts


def _count(path: Path, needle: bytes) -> int:
    total = 0
    with path.open("rb") as fh:
        carry = b""
        while chunk := fh.read(1 << 22):
            data = carry + chunk
            total += data.count(needle)
            # keep a lone trailing byte of a needle cut between chunks (needles are 2 bytes)
            carry = data[-1:] if data.endswith(needle[:1]) and not data.endswith(needle) else b""
    return total


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as fh:
        fh.seek(0, 2)
        if fh.tell() == 0:
            return True
        fh.seek(-1, 2)
        return fh.read(1) in (b"\n", b"\r")
