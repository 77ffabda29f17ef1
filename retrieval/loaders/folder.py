"""Loading a data set from a plain path: a MovieLens folder, a folder with
``catalog.*`` and ``interactions.*`` files, or a single catalog file."""

from __future__ import annotations

from pathlib import Path

from retrieval.dataset import Dataset
from retrieval.errors import DataError, LoadReport
from retrieval.interactions import Interactions
from retrieval.loaders.catalog import CATALOG_FORMATS, load_catalog
from retrieval.loaders.interactions import INTERACTION_FORMATS, load_interactions
from retrieval.loaders.movielens import detect_movielens_layout, load_movielens

__all__ = ["load_files", "load_folder_or_file"]


def load_files(
    catalog: str | Path,
    interactions: str | Path | None = None,
    *,
    skip_bad_rows: bool = False,
    encoding: str | None = None,
    name: str | None = None,
) -> Dataset:
    """Load a catalog file and, optionally, an interaction file validated against it."""
    report = LoadReport()
    cat = load_catalog(catalog, skip_bad_rows=skip_bad_rows, encoding=encoding or "utf-8",
                       report=report)
    log = (load_interactions(interactions, item_ids=cat.ids, skip_bad_rows=skip_bad_rows,
                             encoding=encoding or "utf-8", report=report)
           if interactions is not None else Interactions.empty())
    return Dataset(name=name or Path(catalog).stem, catalog=cat, interactions=log,
                   source=str(catalog), report=report)


def load_folder_or_file(path: str | Path, *, skip_bad_rows: bool = False,
                        encoding: str | None = None) -> Dataset:
    p = Path(path).expanduser()
    if not p.exists():
        raise DataError("data set not found", path=p,
                        fix="pass 'demo', 'movielens:PATH', a catalog file or a data folder")
    if p.is_file():
        return load_files(p, skip_bad_rows=skip_bad_rows, encoding=encoding)
    try:
        detect_movielens_layout(p)
    except DataError:
        pass  # not MovieLens: look for catalog.* below
    else:
        # a MovieLens folder: its own errors (a bad line) must reach the caller as they are
        return load_movielens(p, skip_bad_rows=skip_bad_rows)
    cats = [p / f"catalog{ext}" for ext in CATALOG_FORMATS if (p / f"catalog{ext}").is_file()]
    if not cats:
        raise DataError(
            "no data set in this folder", path=p,
            fix="put catalog.jsonl|csv|parquet (and interactions.csv|parquet) in it, "
                "or point to a MovieLens folder",
        )
    inter = [p / f"interactions{ext}" for ext in INTERACTION_FORMATS
             if (p / f"interactions{ext}").is_file()]
    return load_files(cats[0], inter[0] if inter else None, skip_bad_rows=skip_bad_rows,
                      encoding=encoding, name=p.name)
