"""The bad-data corpus: one small file (or MovieLens folder) per defect, built in a temporary
folder from a table, and the judge of what a loader did with it.

Each :class:`Defect` names the file kind, a builder and the expected outcome:

- an error: a :class:`~retrieval.errors.DataError` whose message names the file, the line
  (where the defect has one), the field (where it has one) and a ``Fix:``; under
  ``skip_bad_rows`` a row-level defect must instead load every good row
  (``skip_loaded``) and list the bad line in the report;
- or acceptance under a stated rule (``rule`` checks it on what was loaded).

Anything else is *unclear*: a bare Python exception (OverflowError, RecursionError,
pandas' ParserError...), an error without its location or fix, or a load that silently
lost or kept what it should not. :func:`run_corpus` is shared by
``tests/reliability/test_bad_data.py`` and ``benchmarks/reliability_data.py``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["CORPUS", "Defect", "Outcome", "judge", "run_corpus"]

# ---- the good data every defect is planted in ------------------------------------------

CAT_IDS = [f"c{i}" for i in range(1, 7)]
CAT_ROWS = [{"id": cid, "title": f"Film {i}", "media_type": "movie", "year": 2000 + i,
             "duration_min": 90 + i, "genres": ["drama"], "tags": ["quiet"],
             "description": f"Film number {i}.", "creators": ["Ann Lee"], "language": "en"}
            for i, cid in enumerate(CAT_IDS, 1)]
CSV_HEAD = "id,title,media_type,year,duration_min,genres,tags,description,creators,language"
INTER_HEAD = "user_id,item_id,timestamp,event,value"
INTER_ROWS = [f"u{i % 3},c{i},{1700000000 + i * 100},rating,{1 + i % 5}" for i in range(1, 7)]


def _csv_row(r: dict) -> str:
    return ",".join([r["id"], r["title"], r["media_type"], str(r["year"]), str(r["duration_min"]),
                     "|".join(r["genres"]), "|".join(r["tags"]), r["description"],
                     "|".join(r["creators"]), r["language"]])


def _insert(lines: list[str], at: int, bad: str | None) -> list[str]:
    """``lines`` (file lines, 1-based ``at``) with ``bad`` inserted as line ``at``."""
    out = list(lines)
    if bad is not None:
        out.insert(at - 1, bad)
    return out


def _write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, str):
        text = text.encode("utf-8")
    path.write_bytes(text)
    return path


def jsonl(bad: str | None = None, at: int = 3, *, end: str = "\n", prefix: bytes = b"",
          encode: Callable[[str], bytes] | None = None) -> Callable[[Path], Path]:
    """A catalog.jsonl of the six good rows with ``bad`` as line ``at``."""
    def build(folder: Path) -> Path:
        lines = _insert([json.dumps(r) for r in CAT_ROWS], at, bad)
        text = end.join(lines) + end
        data = encode(text) if encode else text.encode("utf-8")
        return _write(folder / "catalog.jsonl", prefix + data)
    return build


def row(**change: Any) -> str:
    """One JSONL catalog row (id ``x1``) with ``change`` applied (None deletes a field)."""
    r = {**CAT_ROWS[0], "id": "x1", "title": "Extra"}
    for k, v in change.items():
        if v is _DROP:
            r.pop(k, None)
        else:
            r[k] = v
    return json.dumps(r, ensure_ascii=False)


_DROP = object()


def csv_catalog(bad: str | None = None, at: int = 3, *, head: str = CSV_HEAD,
                rows: int = 6, end: str = "\n", prefix: bytes = b"") -> Callable[[Path], Path]:
    """A catalog.csv of ``rows`` good rows with ``bad`` as line ``at``."""
    def build(folder: Path) -> Path:
        good = [_csv_row({**CAT_ROWS[i % 6], "id": f"c{i + 1}", "title": f"Film {i + 1}"})
                for i in range(rows)]
        lines = _insert([head, *good], at, bad)
        return _write(folder / "catalog.csv", prefix + (end.join(lines) + end).encode("utf-8"))
    return build


def raw(name: str, data: bytes) -> Callable[[Path], Path]:
    return lambda folder: _write(folder / name, data)


def parquet_catalog(change: dict[str, Any] | None = None, *, cut: bool = False,
                    ) -> Callable[[Path], Path]:
    """catalog.parquet of the six rows with row 3 changed (or the file cut in half)."""
    def build(folder: Path) -> Path:
        import pandas as pd

        rows = [dict(r) for r in CAT_ROWS]
        if change:
            rows[2].update(change)
        path = folder / "catalog.parquet"
        folder.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(rows).to_parquet(path)
        if cut:
            path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
        return path
    return build


def inter(bad: str | None = None, at: int = 4, *, end: str = "\n", tail: str | None = None,
          prefix: bytes = b"", lines: list[str] | None = None) -> Callable[[Path], Path]:
    """interactions.csv of six good rows with ``bad`` as line ``at`` (or ``tail`` appended
    without a final line break)."""
    def build(folder: Path) -> Path:
        body = _insert([INTER_HEAD, *(lines if lines is not None else INTER_ROWS)], at, bad)
        text = end.join(body) + end + (tail or "")
        return _write(folder / "interactions.csv", prefix + text.encode("utf-8"))
    return build


def inter_parquet(change: dict[str, Any] | None = None, *, cut: bool = False,
                  as_datetime: bool = False) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        import pandas as pd

        frame = pd.DataFrame([dict(zip(INTER_HEAD.split(","), r.split(","), strict=True))
                              for r in INTER_ROWS])
        frame["timestamp"] = frame["timestamp"].astype(float)
        frame["value"] = frame["value"].astype(float)
        for col, val in (change or {}).items():
            frame.loc[2, col] = val
        if as_datetime:
            frame["timestamp"] = pd.to_datetime(frame["timestamp"], unit="s", utc=True)
        path = folder / "interactions.parquet"
        folder.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(path)
        if cut:
            path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
        return path
    return build


# ---- MovieLens folders ----------------------------------------------------------------

_FLAGS = "|".join(["0"] * 8 + ["1"] + ["0"] * 10)
U_ITEM = [f"{i}|Film {i} (199{i})|01-Jan-199{i}||http://x/{i}|{_FLAGS}" for i in range(1, 5)]
U_DATA = [f"{u}\t{i}\t{1 + (u + i) % 5}\t88125{u}{i}49" for u in (1, 2) for i in (1, 2, 3)]
MOVIES_DAT = [f"{i}::Film {i} (199{i})::Drama|Comedy" for i in range(1, 5)]
RATINGS_DAT = [f"{u}::{i}::{1 + (u + i) % 5}::{978300760 + 10 * u + i}" for u in (1, 2)
               for i in (1, 2, 3)]
MOVIES_CSV = ["movieId,title,genres", *(f"{i},Film {i} (199{i}),Drama" for i in range(1, 5))]
RATINGS_CSV = ["userId,movieId,rating,timestamp",
               *(f"{u},{i},{1 + (u + i) % 5}.0,96498{u}{i}03" for u in (1, 2) for i in (1, 2, 3))]


def movielens(layout: str, **files: list[str] | bytes | str) -> Callable[[Path], Path]:
    """A MovieLens folder of ``layout`` with some files replaced (lists are lines; a str is
    the whole text, bytes the whole file)."""
    base = {"ml-100k": {"u.item": U_ITEM, "u.data": U_DATA},
            "ml-1m": {"movies.dat": MOVIES_DAT, "ratings.dat": RATINGS_DAT},
            "ml-latest": {"movies.csv": MOVIES_CSV, "ratings.csv": RATINGS_CSV}}[layout]

    def build(folder: Path) -> Path:
        root = folder / layout
        for name, content in {**base, **{k.replace("_", "."): v for k, v in files.items()}
                              }.items():
            if isinstance(content, list):
                content = "\n".join(content) + "\n"
            enc = "latin-1" if name in ("u.item",) and isinstance(content, str) else "utf-8"
            _write(root / name, content.encode(enc) if isinstance(content, str) else content)
        return root
    return build


# ---- the table -------------------------------------------------------------------------


@dataclass(frozen=True)
class Defect:
    """One bad input and what a loader must do with it."""

    name: str
    kind: str  # "catalog", "interactions", "movielens" or "folder" (a data set by its path)
    build: Callable[[Path], Path]
    line: int | None = None  # the line the error must name (None: the file as a whole)
    field: str | None = None  # the field it must name
    words: str = ""  # words the message must hold
    rule: Callable[[Any], bool] | None = None  # accepted: the rule holds on what was loaded
    rule_text: str = ""
    skip_loaded: int | None = None  # rows loaded under skip_bad_rows (row-level defects)
    of: str = "rows"  # MovieLens: what skip_loaded counts, "items" or "ratings"

    @property
    def accepted(self) -> bool:
        return self.rule is not None


def _titles_clean(cat) -> bool:
    bad = set(chr(c) for c in range(32)) | set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067"
                                                 "\u2068\u2069\u200b\u200e\u200f\ufeff\x7f")
    texts = [t for it in cat for t in (it.title, it.description, *it.tags, *it.genres,
                                       *it.creators)]
    return len(cat) == 7 and not any(ch in bad for t in texts for ch in t)


def _ids(n: int = 6) -> Callable[[Any], bool]:
    return lambda cat: cat.ids == CAT_IDS[:n]


D = Defect
_BIG = "x" * 10_000_000
CATALOG_DEFECTS = [
    D("jsonl: UTF-8 byte-order mark", "catalog", jsonl(prefix=b"\xef\xbb\xbf"), rule=_ids(),
      rule_text="a UTF-8 BOM is dropped; the same rows load"),
    D("jsonl: CRLF line ends", "catalog", jsonl(end="\r\n"), rule=_ids(),
      rule_text="Windows line ends load the same rows"),
    D("jsonl: broken JSON", "catalog", jsonl('{"id": "x1", "title": '), 3, None, "not valid JSON",
      skip_loaded=6),
    D("jsonl: truncated last line", "catalog",
      lambda f: _write(f / "catalog.jsonl", "\n".join(json.dumps(r) for r in CAT_ROWS)[:-20]),
      6, None, "truncated", skip_loaded=5),
    D("jsonl: array instead of object", "catalog", jsonl("[1, 2]"), 3, None, "JSON object",
      skip_loaded=6),
    D("jsonl: null line", "catalog", jsonl("null"), 3, None, "JSON object", skip_loaded=6),
    D("jsonl: nested 100,000 deep", "catalog",
      jsonl('{"id": "x1", "tags": ' + "[" * 100_000 + "]" * 100_000 + "}"), 3, None,
      "nested too deeply", skip_loaded=6),
    D("jsonl: integer of 5000 digits", "catalog", jsonl('{"id": "x1", "year": ' + "9" * 5000
                                                          + "}"), 3, None, "cannot be read",
      skip_loaded=6),
    D("jsonl: missing id", "catalog", jsonl(row(id=_DROP)), 3, "id", "missing", skip_loaded=6),
    D("jsonl: empty id", "catalog", jsonl(row(id="")), 3, "id", "", skip_loaded=6),
    D("jsonl: duplicate id", "catalog", jsonl(row(id="c1")), 3, "id", "duplicate",
      skip_loaded=6),
    D("jsonl: unknown media type", "catalog", jsonl(row(media_type="vinyl")), 3, "media_type",
      "", skip_loaded=6),
    D("jsonl: year as words", "catalog", jsonl(row(year="nineteen")), 3, "year", "",
      skip_loaded=6),
    D("jsonl: year 3000", "catalog", jsonl(row(year=3000)), 3, "year", "2100", skip_loaded=6),
    D("jsonl: year Infinity", "catalog", jsonl(row(year=_DROP)[:-1] + ', "year": Infinity}'),
      3, "year", "", skip_loaded=6),
    D("jsonl: year 1e30", "catalog", jsonl(row(year=1e30)), 3, "year", "", skip_loaded=6),
    D("jsonl: year NaN", "catalog", jsonl(row(year=_DROP)[:-1] + ', "year": NaN}'),
      rule=lambda cat: len(cat) == 7 and cat["x1"].year is None,
      rule_text="NaN (pandas' missing value) in a number field means missing"),
    D("jsonl: negative duration", "catalog", jsonl(row(duration_min=-5)), 3, "duration_min",
      "", skip_loaded=6),
    D("jsonl: duration Infinity", "catalog",
      jsonl(row(duration_min=_DROP)[:-1] + ', "duration_min": Infinity}'), 3, "duration_min",
      "", skip_loaded=6),
    D("jsonl: duration as words", "catalog", jsonl(row(duration_min="long")), 3,
      "duration_min", "", skip_loaded=6),
    D("jsonl: missing title", "catalog", jsonl(row(title=_DROP)), 3, "title", "missing",
      skip_loaded=6),
    D("jsonl: title of 600 characters", "catalog", jsonl(row(title="t" * 600)), 3, "title",
      "500", skip_loaded=6),
    D("jsonl: title is an object", "catalog", jsonl(row(title={"a": 1})), 3, "title", "",
      skip_loaded=6),
    D("jsonl: description of 6000 characters", "catalog", jsonl(row(description="d" * 6000)),
      3, "description", "5000", skip_loaded=6),
    D("jsonl: 51 tags", "catalog", jsonl(row(tags=[f"t{i}" for i in range(51)])), 3, "tags",
      "at most 50", skip_loaded=6),
    D("jsonl: tag of 100 characters", "catalog", jsonl(row(tags=["t" * 100])), 3, "tags",
      "at most 64", skip_loaded=6),
    D("jsonl: 21 creators", "catalog", jsonl(row(creators=[f"P{i}" for i in range(21)])), 3,
      "creators", "at most 20", skip_loaded=6),
    D("jsonl: creator of 300 characters", "catalog", jsonl(row(creators=["c" * 300])), 3,
      "creators", "at most 200", skip_loaded=6),
    D("jsonl: id of 300 characters", "catalog", jsonl(row(id="i" * 300)), 3, "id", "200",
      skip_loaded=6),
    D("jsonl: NUL inside an id", "catalog", jsonl(row(id="x\x001")), 3, "id", "control",
      skip_loaded=6),
    D("jsonl: genres as a number", "catalog", jsonl(row(genres=5)), 3, "genres", "",
      skip_loaded=6),
    D("jsonl: language of 40 characters", "catalog", jsonl(row(language="l" * 40)), 3,
      "language", "", skip_loaded=6),
    D("jsonl: NUL in a title", "catalog", jsonl(row(title="Ex\x00tra")), rule=_titles_clean,
      rule_text="control characters are removed from display text"),
    D("jsonl: bidi override in a description", "catalog",
      jsonl(row(description="Safe \u202eetiS live\u202c here \u2066x\u2069")),
      rule=_titles_clean, rule_text="bidi embeddings, overrides and isolates are removed"),
    D("jsonl: terminal escape in tags", "catalog", jsonl(row(tags=["\x1b[31mred\x1b[0m"])),
      rule=_titles_clean, rule_text="ESC and other controls are removed from labels"),
    D("jsonl: zero-width space in a title", "catalog", jsonl(row(title="Ex\u200btra")),
      rule=_titles_clean, rule_text="format characters (Cf) are removed from display text"),
    D("jsonl: unknown extra column", "catalog", jsonl(row(rating=5)),
      rule=lambda cat: len(cat) == 7, rule_text="unknown columns are ignored with a warning"),
    D("jsonl: invalid UTF-8 byte", "catalog",
      jsonl(encode=lambda t: t.replace("Film 3", "Film \udcff3").encode("utf-8",
                                                                           "surrogateescape")),
      3, None, "decode", ),
    D("jsonl: latin-1 file", "catalog",
      jsonl(row(title="Kind of Blué"), encode=lambda t: t.encode("latin-1")), 3, None,
      "--encoding"),
    D("jsonl: UTF-16 file", "catalog", jsonl(encode=lambda t: t.encode("utf-16")), 1, None,
      "decode"),
    D("jsonl: empty file", "catalog", raw("catalog.jsonl", b""), None, None, "no usable rows"),
    D("jsonl: blank lines only", "catalog", raw("catalog.jsonl", b"\n  \n\n"), None, None,
      "no usable rows"),
    D("csv: stray quote on line 10 of 60", "catalog",
      csv_catalog('c99,"Film 99,movie,1999,,,,,,', at=10, rows=60), 10, "title",
      "not closed", skip_loaded=60),
    D("csv: two stray quotes that pair up", "catalog",
      lambda f: _write(f / "catalog.csv", "\n".join(
          [CSV_HEAD, _csv_row(CAT_ROWS[0]), _csv_row({**CAT_ROWS[1], "title": '"Film 2'}),
           _csv_row(CAT_ROWS[2]), _csv_row({**CAT_ROWS[3], "title": 'Film 4"'}),
           *map(_csv_row, CAT_ROWS[4:])]) + "\n"), 3, "title", "not closed", skip_loaded=5),
    D("csv: unclosed quote on the last line", "catalog",
      csv_catalog('c99,Film,movie,1999,,,,"Unclosed,,', at=8), 8, "description",
      "not closed", skip_loaded=6),
    D("csv: bare quote inside a quoted field", "catalog",
      csv_catalog('c99,"Moo"n",movie,1999,,,,,,'), 3, "title", "two quotes", skip_loaded=6),
    D("csv: too many fields", "catalog", csv_catalog("c99,A,movie,1999,,,,,,,extra"), 3, None,
      "11 fields", skip_loaded=6),
    D("csv: too few fields", "catalog", csv_catalog("c99,A,movie"), 3, "year", "3 fields",
      skip_loaded=6),
    D("csv: a 10 MB field", "catalog", csv_catalog(f"c99,A,movie,1999,,,,{_BIG},,"), 3,
      "description", "limit", skip_loaded=6),
    D("csv: empty file", "catalog", raw("catalog.csv", b""), 1, None, "header"),
    D("csv: header only", "catalog", raw("catalog.csv", (CSV_HEAD + "\n").encode()), None,
      None, "no usable rows"),
    D("csv: UTF-8 byte-order mark", "catalog", csv_catalog(prefix=b"\xef\xbb\xbf"),
      rule=_ids(), rule_text="a UTF-8 BOM is dropped; the same rows load"),
    D("csv: semicolons for commas", "catalog",
      raw("catalog.csv", (CSV_HEAD.replace(",", ";") + "\nc1;A;movie;;;;;;;\n").encode()), 1,
      "id", "commas"),
    D("csv: a column named twice", "catalog",
      raw("catalog.csv", b"id,title,media_type,title\nc1,A,movie,B\n"), 1, "title",
      "more than once"),
    D("csv: no title column", "catalog", raw("catalog.csv", b"id,media_type\nc1,movie\n"), 1,
      "title", "no 'title' column"),
    D("csv: line break inside a quoted description", "catalog",
      csv_catalog('c99,A,movie,1999,,,,"two\nlines",,'),
      rule=lambda cat: len(cat) == 7 and cat["c99"].description == "two lines",
      rule_text="a description may span lines (quoted); the break becomes a space"),
    D("csv: line break inside a quoted title", "catalog",
      csv_catalog('c99,"Two\nlines",movie,1999,,,,,,'), 3, "title", "not closed",
      skip_loaded=6),
    D("csv: old Mac CR line ends", "catalog", csv_catalog(end="\r"), rule=_ids(),
      rule_text="CR, LF and CRLF line ends all load"),
    D("csv: NUL byte in a title", "catalog", csv_catalog("c99,Ex\x00tra,movie,1999,,,,,,"),
      rule=_titles_clean, rule_text="control characters are removed from display text"),
    D("csv: year 1e30", "catalog", csv_catalog("c99,A,movie,1e30,,,,,,"), 3, "year", "",
      skip_loaded=6),
    D("parquet: cut in half", "catalog", parquet_catalog(cut=True), None, None,
      "not a readable Parquet"),
    D("parquet: a text file named .parquet", "catalog", raw("catalog.parquet", b"id,title\n"),
      None, None, "not a readable Parquet"),
    D("parquet: null inside the tags list", "catalog", parquet_catalog({"tags": [None, "x"]}),
      rule=lambda cat: cat["c3"].tags == ["x"], rule_text="a null in a list is no label"),
    D("parquet: bidi override in a title", "catalog",
      parquet_catalog({"title": "Film \u202e3"}),
      rule=lambda cat: cat["c3"].title == "Film 3",
      rule_text="bidi overrides are removed from display text"),
    D("parquet: year infinity", "catalog", parquet_catalog({"year": float("inf")}), 3, "year",
      "", skip_loaded=5),
]


def _n(n: int) -> Callable[[Any], bool]:
    return lambda log: len(log) == n


INTERACTION_DEFECTS = [
    D("interactions: timestamp inf", "interactions", inter("u1,c1,inf,rating,4"), 4,
      "timestamp", "1900 and 2100", skip_loaded=6),
    D("interactions: timestamp 1e30", "interactions", inter("u1,c1,1e30,rating,4"), 4,
      "timestamp", "1900 and 2100", skip_loaded=6),
    D("interactions: timestamp in milliseconds", "interactions",
      inter("u1,c1,1700000000000,rating,4"), 4, "timestamp", "milliseconds", skip_loaded=6),
    D("interactions: timestamp nan", "interactions", inter("u1,c1,nan,rating,4"), 4,
      "timestamp", "", skip_loaded=6),
    D("interactions: timestamp -1e20", "interactions", inter("u1,c1,-1e20,rating,4"), 4,
      "timestamp", "", skip_loaded=6),
    D("interactions: rating inf", "interactions", inter("u1,c1,1700000000,rating,inf"), 4,
      "value", "infinite", skip_loaded=6),
    D("interactions: rating nan", "interactions", inter("u1,c1,1700000000,rating,nan"), 4,
      "value", "", skip_loaded=6),
    D("interactions: rating 1e300", "interactions", inter("u1,c1,1700000000,rating,1e300"), 4,
      "value", "", skip_loaded=6),
    D("interactions: rating as words", "interactions", inter("u1,c1,1700000000,rating,five"),
      4, "value", "not a number", skip_loaded=6),
    D("interactions: unknown event", "interactions", inter("u1,c1,1700000000,watch,"), 4,
      "event", "unknown event", skip_loaded=6),
    D("interactions: missing user id", "interactions", inter(",c1,1700000000,play,"), 4,
      "user_id", "missing", skip_loaded=6),
    D("interactions: user id of 300 characters", "interactions",
      inter("u" * 300 + ",c1,1700000000,play,"), 4, "user_id", "200", skip_loaded=6),
    D("interactions: bidi override in a user id", "interactions",
      inter("u\u202e1,c1,1700000000,play,"), 4, "user_id", "control", skip_loaded=6),
    D("interactions: item not in the catalog", "interactions", inter("u1,c99,1700000000,play,"),
      4, "item_id", "not in the catalog", skip_loaded=6),
    D("interactions: stray quote", "interactions", inter('u1,"c1,1700000000,play,'), 4,
      "item_id", "not closed", skip_loaded=6),
    D("interactions: two stray quotes that pair up", "interactions",
      inter(lines=[*INTER_ROWS[:2], 'u1,"c3,1700000300,rating,3', INTER_ROWS[3],
                   'u2,c5",1700000500,rating,1', INTER_ROWS[5]]), 4, "item_id", "not closed",
      skip_loaded=4),
    D("interactions: too many fields", "interactions", inter("u1,c1,1700000000,play,,x,y"), 4,
      None, "7 fields", skip_loaded=6),
    D("interactions: first row with a field too many (pandas would make it the index)",
      "interactions", inter("u1,c1,1700000000,play,,x", at=2), 2, None, "6 fields",
      skip_loaded=6),
    D("interactions: too few fields", "interactions", inter("u1,c1"), 4, None, "",
      skip_loaded=6),
    D("interactions: last line cut inside the timestamp", "interactions",
      inter(tail="u2,c2,17"), 8, "timestamp", "truncated", skip_loaded=6),
    D("interactions: last line cut before the value", "interactions",
      inter(tail="u2,c2,1700000900,rating"), 8, "value", "truncated", skip_loaded=6),
    D("interactions: empty file", "interactions", raw("interactions.csv", b""), None, None,
      "empty"),
    D("interactions: header only", "interactions",
      raw("interactions.csv", (INTER_HEAD + "\n").encode()), None, None, "no interaction rows"),
    D("interactions: no item_id column", "interactions",
      raw("interactions.csv", b"user_id,thing\nu1,c1\n"), 1, "item_id", "no 'item_id'"),
    D("interactions: UTF-8 byte-order mark", "interactions", inter(prefix=b"\xef\xbb\xbf"),
      rule=_n(6), rule_text="a UTF-8 BOM is dropped; the same rows load"),
    D("interactions: blank lines in the middle", "interactions", inter("", at=3),
      rule=_n(6), rule_text="blank lines are passed over"),
    D("interactions: a bad row after a blank line", "interactions",
      inter(lines=[*INTER_ROWS[:2], "", *INTER_ROWS[2:4], "u1,c1,1700000000,watch,",
                   *INTER_ROWS[4:]]), 7, "event", "", skip_loaded=6),
    D("interactions: invalid UTF-8 byte", "interactions",
      lambda f: _write(f / "interactions.csv", ("\n".join([INTER_HEAD, *INTER_ROWS[:2]]) + "\n")
                       .encode() + b"u\xff1,c1,1700000000,play,\n"), 4, None, "decode"),
    D("interactions: ISO-8601 timestamps", "interactions",
      inter("u1,c1,2024-01-31T12:00:00Z,play,"), rule=_n(7),
      rule_text="ISO-8601 dates are converted to Unix seconds"),
    D("interactions: CRLF line ends", "interactions", inter(end="\r\n"), rule=_n(6),
      rule_text="Windows line ends load the same rows"),
    D("interactions: every value quoted", "interactions",
      inter(lines=[",".join(f'"{v}"' for v in r.split(",")) for r in INTER_ROWS]), rule=_n(6),
      rule_text="quoted values load as plain ones"),
    D("interactions parquet: timestamps as a datetime column", "interactions",
      inter_parquet({"timestamp": 1700000000.0}, as_datetime=True),
      rule=lambda log: int(log.df["timestamp"].max()) < 2_000_000_000 and len(log) == 6,
      rule_text="a Parquet datetime column is read as Unix seconds"),
    D("interactions parquet: cut in half", "interactions", inter_parquet(cut=True), None, None,
      "not a readable Parquet"),
    D("interactions parquet: timestamp inf", "interactions",
      inter_parquet({"timestamp": float("inf")}), 3, "timestamp", "", skip_loaded=5),
    D("interactions parquet: rating NaN", "interactions",
      inter_parquet({"value": float("nan")}), 3, "value", "needs a value", skip_loaded=5),
]

_CUT = "\n".join(RATINGS_DAT) + "\n1::1::5::88"
MOVIELENS_DEFECTS = [
    D("ml-100k: empty u.data", "movielens", movielens("ml-100k", u_data=b""), None, None, ""),
    D("ml-100k: u.data last line cut", "movielens",
      movielens("ml-100k", u_data="\n".join(U_DATA) + "\n1\t4\t5\t88"), 7, "timestamp",
      "truncated", skip_loaded=6),
    D("ml-100k: u.data line of 3 fields", "movielens",
      movielens("ml-100k", u_data=[*U_DATA[:2], "1\t4\t5", *U_DATA[2:]]), 3, "timestamp", "",
      skip_loaded=6),
    D("ml-100k: u.data line of 5 fields", "movielens",
      movielens("ml-100k", u_data=[*U_DATA[:2], "1\t4\t5\t881250949\textra", *U_DATA[2:]]), 3,
      None, "5 '\\t'-separated fields", skip_loaded=6),
    D("ml-100k: rating inf", "movielens",
      movielens("ml-100k", u_data=[*U_DATA[:2], "1\t4\tinf\t881250949", *U_DATA[2:]]), 3,
      "value", "infinite", skip_loaded=6),
    D("ml-100k: quote in u.data", "movielens",
      movielens("ml-100k", u_data=[*U_DATA[:2], '1\t"4\t5\t881250949', *U_DATA[2:]]), 3,
      "item_id", "not in the catalog", skip_loaded=6),
    D("ml-100k: u.item line of 5 fields", "movielens",
      movielens("ml-100k", u_item=[*U_ITEM, "5|Film 5|x||y"]), 5, None, "fields",
      skip_loaded=4, of="items"),
    D("ml-100k: genre flag 2", "movielens",
      movielens("ml-100k", u_item=[*U_ITEM, "5|Film 5|||x|" + _FLAGS.replace("1", "2")]), 5,
      "genres", "0 or 1", skip_loaded=4, of="items"),
    D("ml-1m: ratings.dat last line cut (timestamp 88)", "movielens",
      movielens("ml-1m", ratings_dat=_CUT), 7, "timestamp", "truncated", skip_loaded=6),
    D("ml-1m: empty ratings.dat", "movielens", movielens("ml-1m", ratings_dat=b""), None, None,
      "empty"),
    D("ml-1m: ratings.dat line of 5 fields", "movielens",
      movielens("ml-1m", ratings_dat=[*RATINGS_DAT[:1], "1::2::3::4::5", *RATINGS_DAT[1:]]), 2,
      None, "5 '::'-separated fields", skip_loaded=6),
    D("ml-1m: movies.dat line of 2 fields", "movielens",
      movielens("ml-1m", movies_dat=[*MOVIES_DAT, "5::Film 5"]), 5, None, "fields",
      skip_loaded=4, of="items"),
    D("ml-1m: NUL in a title", "movielens",
      movielens("ml-1m", movies_dat=[*MOVIES_DAT[:3], "4::Fi\x00lm 4 (1994)::Drama"]),
      rule=lambda ds: ds.catalog["4"].title == "Film 4",
      rule_text="control characters are removed from display text"),
    D("ml-latest: stray quote in movies.csv", "movielens",
      movielens("ml-latest", movies_csv=[*MOVIES_CSV[:2], '9,"Film 9 (1999),Drama',
                                         *MOVIES_CSV[2:]]), 3, "title", "not closed",
      skip_loaded=4, of="items"),
    D("ml-latest: ratings.csv header only", "movielens",
      movielens("ml-latest", ratings_csv=RATINGS_CSV[:1]), None, None, "no interaction rows"),
    D("ml-latest: stray quote in tags.csv", "movielens",
      movielens("ml-latest", tags_csv=["userId,movieId,tag,timestamp", '1,1,"funny,1',
                                       "1,2,dark,2"]), 2, "tag", "not closed",
      skip_loaded=4, of="items"),
    D("ml-latest: no rating column", "movielens",
      movielens("ml-latest", ratings_csv=["userId,movieId,timestamp", "1,1,5"]), 1, None,
      "'rating' missing"),
]



def _folder(**files: Callable[[Path], Path]) -> Callable[[Path], Path]:
    """A data folder (catalog + interactions) loaded by its path, as ``--data PATH`` does."""
    def build(folder: Path) -> Path:
        root = folder / "mydata"
        for build_one in files.values():
            build_one(root)
        return root
    return build


FOLDER_DEFECTS = [
    D("folder: a MovieLens folder by path, u.data cut", "folder",
      movielens("ml-100k", u_data="\n".join(U_DATA) + "\n1\t4\t5\t88"), 7, "timestamp",
      "truncated", skip_loaded=6),
    D("folder: catalog + interactions, stray quote in the interactions", "folder",
      _folder(cat=jsonl(), log=inter('u1,"c1,1700000000,play,')), 4, "item_id", "not closed",
      skip_loaded=6),
    D("folder: catalog + interactions, bidi title", "folder",
      _folder(cat=jsonl(row(title="Ex\u202etra")), log=inter()),
      rule=lambda ds: _titles_clean(ds.catalog) and len(ds.interactions) == 6,
      rule_text="display text is cleaned whichever way the data set is named"),
]

CORPUS: list[Defect] = [*CATALOG_DEFECTS, *INTERACTION_DEFECTS, *MOVIELENS_DEFECTS,
                        *FOLDER_DEFECTS]


# ---- running and judging ---------------------------------------------------------------


@dataclass
class Outcome:
    """What one defect got: ``clear`` (a located error with a fix), ``accepted`` (loaded
    under its rule) or ``unclear``; ``skip_ok`` tells whether ``skip_bad_rows`` kept every
    good row and listed the bad line (None where it does not apply)."""

    defect: Defect
    result: str
    detail: str
    skip_ok: bool | None = None


def _load(defect: Defect, path: Path, skip: bool) -> tuple[Any, Any]:
    from retrieval.errors import LoadReport
    from retrieval.loaders import load_catalog, load_interactions, load_movielens

    report = LoadReport()
    if defect.kind == "catalog":
        return load_catalog(path, skip_bad_rows=skip, report=report), report
    if defect.kind == "interactions":
        return load_interactions(path, item_ids=CAT_IDS, skip_bad_rows=skip,
                                 report=report), report
    if defect.kind == "folder":
        from retrieval.dataset import load_dataset

        ds = load_dataset(str(path), skip_bad_rows=skip)
        return ds, ds.report
    ds = load_movielens(path, skip_bad_rows=skip)
    return ds, ds.report


def _message_problems(defect: Defect, err: Exception, path: Path) -> list[str]:
    from retrieval.errors import DataError

    if not isinstance(err, DataError):
        return [f"bare {type(err).__name__}: {str(err)[:120]}"]
    text = str(err)
    missing = []
    if err.path is None or Path(err.path).name not in {p.name for p in (path, *path.glob("*"))}:
        missing.append("file")
    if defect.line is not None and not re.search(rf"\bline {defect.line}(?!\d)", text):
        missing.append(f"line {defect.line}")
    if defect.field is not None and f"field '{defect.field}'" not in text:
        missing.append(f"field {defect.field!r}")
    if "Fix:" not in text:
        missing.append("fix")
    if defect.words.lower() not in text.lower():
        missing.append(f"words {defect.words!r}")
    return [f"message lacks {', '.join(missing)}: {text[:200]}"] if missing else []


def judge(defect: Defect, folder: Path) -> Outcome:
    """Build ``defect`` in ``folder``, load it (and again with ``skip_bad_rows``), judge both."""
    path = defect.build(folder)
    try:
        loaded, _report = _load(defect, path, skip=False)
    except Exception as err:  # noqa: BLE001 - the judge must see every kind of failure
        if defect.accepted:
            return Outcome(defect, "unclear", f"rejected, should load: {str(err)[:200]}")
        problems = _message_problems(defect, err, path)
        if problems:
            return Outcome(defect, "unclear", problems[0])
        return Outcome(defect, "clear", str(err)[:200], _judge_skip(defect, path))
    if not defect.accepted:
        return Outcome(defect, "unclear", "loaded without a word; an error was expected")
    try:
        held = bool(defect.rule(loaded))  # type: ignore[misc]
    except Exception as err:  # noqa: BLE001
        held = False
        loaded = err
    return Outcome(defect, "accepted" if held else "unclear",
                   defect.rule_text if held else f"rule broken: {defect.rule_text}")


def _judge_skip(defect: Defect, path: Path) -> bool | None:
    if defect.skip_loaded is None:
        return None
    try:
        loaded, report = _load(defect, path, skip=True)
    except Exception:  # noqa: BLE001
        return False
    if defect.kind not in ("movielens", "folder"):
        count = len(loaded)
    else:
        count = len(loaded.catalog if defect.of == "items" else loaded.interactions)
    lines = {(Path(b.path).name, b.line) for b in report.examples}
    named = any(line == defect.line for _name, line in lines)
    return count == defect.skip_loaded and named


def run_corpus(root: Path) -> list[Outcome]:
    """Judge every defect of :data:`CORPUS`, each in its own folder under ``root``."""
    out = []
    for i, defect in enumerate(CORPUS):
        folder = Path(root) / f"d{i:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        out.append(judge(defect, folder))
    return out
