"""Shared pieces of the loaders: reading text with located decoding errors, turning pydantic
validation errors into :class:`DataError`, cleaning display text and the size caps.

Rules every loader applies (stated here once):

- **Display text is cleaned at load.** In titles, descriptions, genres, tags, creators and
  languages, control characters that are white space (tab, line breaks) and the Unicode
  line and paragraph separators become a space; every other control (Cc, e.g. NUL, ESC)
  and format character (Cf: the bidi embeddings and overrides U+202A-U+202E and isolates
  U+2066-U+2069, marks, zero-width spaces, a stray BOM) is removed, except the zero-width
  joiner and non-joiner that Persian, Indic scripts and emoji need. Nothing printed from a
  catalog can then reorder or hide text in a terminal.
- **Ids are never altered:** an id holding a control or format character is rejected.
- **Caps** (a row over one is rejected, naming the field): ids at most 200 characters
  (users and items alike); at most 50 genres and 50 tags per item, each at most 64
  characters; at most 20 creators, each at most 200 characters (the model's own limits
  cover the title, 500, and the description, 5000).
"""

from __future__ import annotations

import codecs
import unicodedata
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from retrieval.errors import DataError
from retrieval.models import Item

_FIX_BY_FIELD = {
    "id": "give every row a non-empty, unique id",
    "title": "give every row a non-empty title",
    "media_type": "use one of: movie, series, episode, music_track, album, podcast, audiobook",
    "year": "write a four-digit year (e.g. 1999) or leave the field empty",
    "duration_min": "write the running time in minutes as a number, or leave it empty",
    "genres": "write a list of strings, or a '|'-separated string",
    "tags": "write a list of strings, or a '|'-separated string",
    "creators": "write a list of names, or a '|'-separated string",
    "description": "write plain text (at most 5000 characters)",
    "language": "write a language code such as 'en', or leave it empty",
}


def check_exists(path: Path, what: str) -> None:
    if not path.exists():
        raise DataError(f"{what} not found", path=path, fix="check the path")
    if path.is_dir():
        raise DataError(f"{what} is a folder, a file was expected", path=path,
                        fix="point to the file itself")


def read_text(path: Path, encoding: str) -> str:
    """Read a whole text file; a decoding error names its line and suggests the fix.

    A UTF-8 byte-order mark at the start is dropped (editors on Windows write one)."""
    data = path.read_bytes()
    utf8 = encoding.replace("_", "-").lower() in ("utf-8", "utf8")
    try:
        return data.decode("utf-8-sig" if utf8 else encoding)
    except UnicodeDecodeError as exc:
        raise decode_error(path, data[: exc.start], exc, encoding) from None
    except LookupError:
        raise DataError(f"unknown text encoding {encoding!r}", path=path,
                        fix="pass an encoding Python knows, e.g. utf-8 or latin-1") from None


def decode_error(path: Path, before: bytes, exc: UnicodeDecodeError, encoding: str) -> DataError:
    line = before.count(b"\n") + 1
    bad = exc.object[exc.start : exc.start + 4]
    return DataError(
        f"cannot decode byte(s) {bad!r} as {encoding}",
        path=path, line=line,
        fix=f"re-save the file as {encoding}, or pass the file's real encoding "
            "(e.g. --encoding latin-1)",
    )


def locate_decode_error(path: Path, encoding: str) -> DataError | None:
    """Stream a (possibly large) file to find the line of its first undecodable byte."""
    decoder = codecs.getincrementaldecoder(encoding)()
    lines_before = 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                # exc.start is relative to the decoder's pending bytes plus this chunk; a
                # multi-byte sequence split across chunks may shift it by a few bytes.
                start = max(0, min(exc.start, len(chunk)))
                err = decode_error(path, chunk[:start], exc, encoding)
                err.line = (err.line or 1) + lines_before
                return DataError(err.problem, path=path, line=err.line, fix=err.fix)
            lines_before += chunk.count(b"\n")
    return None


def validation_to_data_error(
    exc: ValidationError, *, path: Path | str, line: int | None, row: dict[str, Any] | None = None
) -> DataError:
    """The first problem of a pydantic error, as a located DataError."""
    err = exc.errors()[0]
    field = ".".join(str(p) for p in err.get("loc", ()) if not isinstance(p, int)) or None
    msg = err.get("msg", "invalid value")
    msg = msg.removeprefix("Value error, ")
    if err.get("type") == "missing":
        problem = "missing required value"
    else:
        received = err.get("input")
        shown = repr(received)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        problem = f"{msg} (got {shown})"
    fix = _FIX_BY_FIELD.get(field or "", "correct the value")
    return DataError(problem, path=path, line=line, field=field, fix=fix)


MAX_ID = 200
MAX_LABELS = 50
MAX_LABEL_CHARS = 64
MAX_CREATORS = 20
MAX_CREATOR_CHARS = 200
# Zero-width non-joiner and joiner: format characters that scripts and emoji need.
_KEEP_FORMAT = frozenset("\u200c\u200d")
DISPLAY_FIELDS = ("title", "description", "language")
LABEL_FIELDS = ("genres", "tags", "creators")


def clean_display(text: str) -> str:
    r"""``text`` without control or format characters (see the module's rules).

    Example:
        >>> clean_display("Evil\u202eliF\x00 Night\nOut")
        'EvilliF Night Out'
    """
    if text.isascii() and text.isprintable():
        return text
    out = []
    for ch in text:
        if ch.isprintable() or ch in _KEEP_FORMAT:
            out.append(ch)
            continue
        cat = unicodedata.category(ch)
        if ch.isspace() or cat in ("Zl", "Zp", "Zs"):
            out.append(" ")
        elif cat not in ("Cc", "Cf", "Cs", "Co", "Cn"):
            out.append(ch)
    return "".join(out)


def has_control(text: str) -> bool:
    """Whether ``text`` holds a control or format character (ids must not)."""
    return not text.isprintable() and any(
        unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp") and ch not in _KEEP_FORMAT
        for ch in text)


def clean_row(row: dict[str, Any]) -> dict[str, Any]:
    """A raw catalog row with its display text cleaned; other values are left to validation."""
    out = dict(row)
    for name in DISPLAY_FIELDS:
        if isinstance(out.get(name), str):
            out[name] = clean_display(out[name])
    for name in LABEL_FIELDS:
        value = out.get(name)
        if isinstance(value, str):
            out[name] = clean_display(value)
        elif isinstance(value, (list, tuple)):
            # None inside a list (Parquet nulls) is no label, not the label "none".
            out[name] = [clean_display(v) if isinstance(v, str) else v for v in value
                         if v is not None]
    return out


def check_item(item: Item, *, path: Path | str, line: int | None) -> Item:
    """``item`` if it keeps within the caps and its id is clean; else a located DataError."""
    if has_control(item.id):
        raise DataError(f"the id {item.id[:40]!r} holds a control or format character",
                        path=path, line=line, field="id",
                        fix="use ids of visible characters only")
    for name, most, chars in (("genres", MAX_LABELS, MAX_LABEL_CHARS),
                              ("tags", MAX_LABELS, MAX_LABEL_CHARS),
                              ("creators", MAX_CREATORS, MAX_CREATOR_CHARS)):
        values: list[str] = getattr(item, name)
        if len(values) > most:
            raise DataError(f"{len(values)} {name} where at most {most} are allowed",
                            path=path, line=line, field=name,
                            fix=f"keep the {most} that matter most")
        long = next((v for v in values if len(v) > chars), None)
        if long is not None:
            raise DataError(f"a value of {len(long)} characters (at most {chars}): "
                            f"{long[:30]!r}...", path=path, line=line, field=name,
                            fix=f"keep each of the {name} to {chars} characters; a longer "
                                "text may be a shifted column")
    return item
