"""The MovieLens layouts from GroupLens, detected from the files in a folder.

- ml-100k: ``u.data`` (user, item, rating, timestamp; tab-separated) and ``u.item``
  (``|``-separated, latin-1: id, title, release date, video release date, IMDb URL and 19
  genre flags whose names are in ``u.genre``).
- ml-1m and ml-10m: ``ratings.dat`` (``UserID::MovieID::Rating::Timestamp``) and
  ``movies.dat`` (``MovieID::Title::Genres``, genres ``|``-separated); ml-1m is latin-1,
  ml-10m UTF-8; ml-10m's ``tags.dat`` (``UserID::MovieID::Tag::Timestamp``) is folded
  into item tags.
- ml-latest, ml-latest-small, ml-20m, ml-25m, ml-32m: ``ratings.csv``
  (``userId,movieId,rating,timestamp``), ``movies.csv`` (``movieId,title,genres``),
  optional ``tags.csv`` (``userId,movieId,tag,timestamp``) folded into item tags.

Titles carry the year in parentheses (``Toy Story (1995)``); it is moved into ``year``, and
a trailing article is moved back to the front (``Matrix, The`` becomes ``The Matrix``).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from pathlib import Path

from pydantic import ValidationError

from retrieval.catalog import Catalog
from retrieval.dataset import Dataset
from retrieval.errors import BadRow, DataError, LoadReport
from retrieval.interactions import Interactions
from retrieval.loaders._common import check_item, clean_row, read_text, validation_to_data_error
from retrieval.loaders._csv import Table, read_table
from retrieval.loaders.interactions import validate_table
from retrieval.models import Item

__all__ = ["detect_movielens_layout", "load_movielens", "split_movielens_title"]

ML100K_GENRES = [
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance",
    "Sci-Fi", "Thriller", "War", "Western",
]
# MovieLens genre spellings -> Encore's genre vocabulary (unlisted ones are lower-cased).
GENRE_MAP = {
    "sci-fi": "science fiction", "children's": "family", "children": "family",
    "film-noir": "film noir", "(no genres listed)": "", "unknown": "",
}
_ARTICLES = ("The", "A", "An", "Les", "La", "Le", "L'", "Il", "El", "Los", "Las", "Das", "Die",
             "Der", "Det", "Den", "De", "Une", "Un", "Lo", "I", "Gli")
_YEAR_RE = re.compile(r"\s*\((\d{4})(?:\s*[-–]\s*(?:\d{4})?)?\)\s*$")
_ARTICLE_RE = re.compile(
    r"^(?P<rest>.+), (?P<art>" + "|".join(re.escape(a) for a in _ARTICLES) + r")$")


def split_movielens_title(raw: str) -> tuple[str, int | None]:
    """``"Matrix, The (1999)"`` -> ``("The Matrix", 1999)``.

    Example:
        >>> split_movielens_title("City of Lost Children, The (Cité des enfants perdus, La) (1995)")
        ('The City of Lost Children (Cité des enfants perdus, La)', 1995)
        >>> split_movielens_title("Babylon 5")
        ('Babylon 5', None)
    """
    text = raw.strip()
    year = None
    m = _YEAR_RE.search(text)
    if m:
        year = int(m.group(1))
        text = text[: m.start()].rstrip()
    main, sep, rest = text.partition(" (")
    am = _ARTICLE_RE.match(main)
    if am:
        art = am.group("art")
        main = art + ("" if art.endswith("'") else " ") + am.group("rest")
    title = main + (sep + rest if sep else "")
    return (title or raw.strip()), year


def _genre(label: str) -> str:
    key = label.strip().lower()
    return GENRE_MAP.get(key, key)


def detect_movielens_layout(folder: Path) -> str:
    """Return ``ml-100k``, ``ml-1m`` (also ml-10m) or ``ml-latest`` (also ml-20m/25m/32m)."""
    if (folder / "u.data").is_file() and (folder / "u.item").is_file():
        return "ml-100k"
    if (folder / "ratings.dat").is_file() and (folder / "movies.dat").is_file():
        return "ml-1m"
    if (folder / "ratings.csv").is_file() and (folder / "movies.csv").is_file():
        return "ml-latest"
    present = sorted(p.name for p in folder.iterdir())[:12] if folder.is_dir() else []
    raise DataError(
        f"not a MovieLens folder (found: {present})", path=folder,
        fix="point to a folder holding u.data + u.item (ml-100k), ratings.dat + movies.dat "
            "(ml-1m, ml-10m) or ratings.csv + movies.csv (ml-latest, ml-20m, ml-25m, ml-32m)",
    )


def load_movielens(path: str | Path, *, skip_bad_rows: bool = False) -> Dataset:
    """Load a MovieLens folder in any of the official layouts (see the module docstring)."""
    folder = Path(path).expanduser()
    if not folder.exists():
        raise DataError("MovieLens folder not found", path=folder, fix="check the path")
    if not folder.is_dir():
        raise DataError("expected a MovieLens folder, got a file", path=folder,
                        fix="pass the folder that holds the MovieLens files")
    layout = detect_movielens_layout(folder)
    report = LoadReport()
    loader = {"ml-100k": _load_100k, "ml-1m": _load_dat, "ml-latest": _load_csv}[layout]
    catalog, interactions = loader(folder, skip_bad_rows, report)
    name = (f"movielens {folder.name}" if folder.name.startswith("ml-")
            else f"movielens ({layout} layout)")
    return Dataset(name=name, catalog=catalog, interactions=interactions,
                   source=f"movielens:{folder}", report=report)


def _make_catalog(rows: list[tuple[int, dict]], path: Path, skip: bool,
                  report: LoadReport) -> Catalog:
    catalog = Catalog([])
    for line, row in rows:
        try:
            if row["id"] in catalog:
                raise DataError(f"duplicate movie id {row['id']!r}", path=path, line=line,
                                field="id", fix="give every movie its own id")
            try:
                item = Item.model_validate(clean_row(row))
            except ValidationError as exc:
                raise validation_to_data_error(exc, path=path, line=line) from None
            catalog.add(check_item(item, path=path, line=line))
        except DataError as err:
            if not skip:
                raise
            report.skip(BadRow(str(path), err.line, err.field, err.problem))
    return catalog


def _movie_row(movie_id: str, raw_title: str, genres: list[str],
               year_hint: int | None = None) -> dict:
    title, year = split_movielens_title(raw_title)
    return {
        "id": movie_id.strip(), "title": title, "media_type": "movie",
        "year": year if year is not None else year_hint,
        "genres": [g for g in (_genre(x) for x in genres) if g],
    }


def _bad_line(path: Path, line: int, problem: str, fix: str, field: str | None,
              skip: bool, report: LoadReport) -> None:
    err = DataError(problem, path=path, line=line, field=field, fix=fix)
    if not skip:
        raise err
    report.skip(BadRow(str(path), line, field, problem))


def _load_100k(folder: Path, skip: bool, report: LoadReport) -> tuple[Catalog, Interactions]:
    genres = list(ML100K_GENRES)
    genre_file = folder / "u.genre"
    if genre_file.is_file():
        lines = read_text(genre_file, "latin-1").splitlines()
        named = [ln.split("|")[0] for ln in lines if "|" in ln]
        if len(named) == len(ML100K_GENRES):
            genres = named
    path = folder / "u.item"
    rows: list[tuple[int, dict]] = []
    for n, raw in enumerate(read_text(path, "latin-1").splitlines(), 1):
        if not raw.strip():
            continue
        parts = raw.split("|")
        if len(parts) != 5 + len(genres):
            _bad_line(path, n, f"{len(parts)} fields where ml-100k's u.item has {5 + len(genres)}"
                      + (" (the file may be truncated)" if len(parts) < 5 + len(genres) else ""),
                      "restore the original u.item file", None, skip, report)
            continue
        flags = parts[5:]
        if any(f not in ("0", "1") for f in flags):
            _bad_line(path, n, "genre flags must be 0 or 1", "restore the original u.item file",
                      "genres", skip, report)
            continue
        date = parts[2].strip()
        year_hint = int(date[-4:]) if len(date) >= 4 and date[-4:].isdigit() else None
        flagged = [g for g, f in zip(genres, flags, strict=True) if f == "1"]
        row = _movie_row(parts[0], parts[1], flagged, year_hint)
        if not parts[0].strip():
            row["id"] = ""
        rows.append((n, row))
    catalog = _make_catalog(rows, path, skip, report)
    report.loaded += len(catalog)
    data_path = folder / "u.data"
    table = _read_table(data_path, sep="\t", names=_RATING_COLUMNS, encoding="latin-1")
    return catalog, _ratings(table, data_path, catalog, skip, report)


_RATING_COLUMNS = ["user_id", "item_id", "value", "timestamp"]


def _ratings(table: Table, path: Path, catalog: Catalog, skip: bool,
             report: LoadReport) -> Interactions:
    table.frame = table.frame.assign(event="rating")
    # MovieLens rows always carry a timestamp: a blank one is a damaged line.
    return validate_table(table, path=path, item_ids=catalog.ids, skip_bad_rows=skip,
                          report=report, required=("timestamp",))


def _read_table(path: Path, *, sep: str, encoding: str, names: list[str] | None = None) -> Table:
    """A MovieLens table: with a header row when ``names`` is None (the CSV layouts), else
    the unquoted tab or '::' format of ml-100k, ml-1m and ml-10m."""
    if not path.is_file():
        raise DataError("file missing from the MovieLens folder", path=path,
                        fix="restore the file from the original archive")
    return read_table(path, sep=sep, encoding=encoding, header=names is None, names=names,
                      quoting=names is None)


def _table_rows(table: Table, skip: bool, report: LoadReport) -> None:
    """Raise the first malformed line of ``table``, or list them all under ``skip``."""
    if table.bad and not skip:
        raise table.bad[0]
    for err in table.bad:
        report.skip(BadRow(str(err.path), err.line, err.field, err.problem))


def _dat_encoding(path: Path) -> str:
    """ml-1m's .dat files are latin-1, ml-10m's are UTF-8."""
    head = path.read_bytes()
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return "latin-1"


def _split_dat(path: Path, fields: int, skip: bool,
               report: LoadReport) -> list[tuple[int, list[str]]]:
    out = []
    for n, raw in enumerate(read_text(path, _dat_encoding(path)).splitlines(), 1):
        if not raw.strip():
            continue
        parts = raw.split("::")
        if len(parts) < fields:
            _bad_line(path, n, f"{len(parts)} '::'-separated fields where {fields} are expected"
                      " (the file may be truncated)", "restore the original file", None, skip,
                      report)
            continue
        if len(parts) > fields:  # a '::' inside the last text field
            parts = parts[: fields - 1] + ["::".join(parts[fields - 1 :])]
        out.append((n, parts))
    return out


def _load_dat(folder: Path, skip: bool, report: LoadReport) -> tuple[Catalog, Interactions]:
    movies = folder / "movies.dat"
    rows = [(n, _movie_row(p[0], p[1], p[2].split("|") if p[2].strip() else []))
            for n, p in _split_dat(movies, 3, skip, report)]
    tags_path = folder / "tags.dat"
    if tags_path.is_file():
        tag_rows = _split_dat(tags_path, 4, skip, report)
        # UserID::MovieID::Tag::Timestamp; a tag may itself contain '::', so rejoin the middle.
        pairs = [(p[1], "::".join(p[2:-1]) if len(p) > 4 else p[2]) for _n, p in tag_rows]
        _fold_tags(rows, pairs)
    catalog = _make_catalog(rows, movies, skip, report)
    report.loaded += len(catalog)
    ratings = folder / "ratings.dat"
    table = _read_table(ratings, sep="::", names=_RATING_COLUMNS,
                        encoding=_dat_encoding(ratings) if ratings.is_file() else "utf-8")
    return catalog, _ratings(table, ratings, catalog, skip, report)


def _load_csv(folder: Path, skip: bool, report: LoadReport) -> tuple[Catalog, Interactions]:
    movies = folder / "movies.csv"
    table = _read_table(movies, sep=",", encoding="utf-8")
    missing = {"movieId", "title", "genres"} - set(table.frame.columns)
    if missing:
        raise DataError(f"columns {sorted(missing)} missing", path=movies, line=1,
                        fix="movies.csv needs the header movieId,title,genres")
    _table_rows(table, skip, report)
    frame = table.frame
    rows = [(int(line), _movie_row(mid, title, genres.split("|") if genres else []))
            for line, mid, title, genres in zip(
                table.lines, frame["movieId"], frame["title"], frame["genres"], strict=True)]
    tags_path = folder / "tags.csv"
    if tags_path.is_file():
        tags = _read_table(tags_path, sep=",", encoding="utf-8")
        if {"movieId", "tag"} <= set(tags.frame.columns):
            _table_rows(tags, skip, report)
            _fold_tags(rows, zip(tags.frame["movieId"], tags.frame["tag"], strict=True))
    catalog = _make_catalog(rows, movies, skip, report)
    report.loaded += len(catalog)
    ratings = folder / "ratings.csv"
    table = _read_table(ratings, sep=",", encoding="utf-8")
    for col in ("userId", "movieId", "rating"):
        if col not in table.frame.columns:
            raise DataError(f"column {col!r} missing (found {list(table.frame.columns)})",
                            path=ratings, line=1,
                            fix="ratings.csv needs the header userId,movieId,rating,timestamp")
    return catalog, _ratings(table, ratings, catalog, skip, report)


def _fold_tags(rows: list[tuple[int, dict]], pairs, top: int = 20) -> None:
    """Attach each movie's most frequent user tags (lower-cased) to its row."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for movie_id, tag in pairs:
        label = " ".join(str(tag).strip().lower().split())
        if label and len(label) <= 60:
            counts[str(movie_id).strip()][label] += 1
    for _line, row in rows:
        c = counts.get(row["id"])
        if c:
            row["tags"] = [t for t, _n in sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[:top]]


