"""Shared pieces of the loaders: reading text with located decoding errors, and turning
pydantic validation errors into :class:`DataError`."""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from retrieval.errors import DataError

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
    """Read a whole text file; a decoding error names its line and suggests the fix."""
    data = path.read_bytes()
    try:
        return data.decode(encoding)
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
