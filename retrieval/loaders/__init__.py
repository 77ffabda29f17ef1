"""Loaders for catalogs, interaction logs and the MovieLens layouts.

Nothing is lost without a word: a bad row raises a :class:`~retrieval.errors.DataError`
naming the file, line, field and fix, or, under ``skip_bad_rows``, exactly that row is left
out and listed in the :class:`~retrieval.errors.LoadReport` (a malformed CSV line, such as
one with a stray quote, costs that line only: see :mod:`retrieval.loaders._csv`). What is
accepted follows stated rules (:mod:`retrieval.loaders._common`): display text loses its
control and bidi characters, ids may not hold them, and ids, tags and creators have caps;
a UTF-8 byte-order mark is dropped; timestamps lie between 1900 and 2100 and values are
finite.
"""

from retrieval.loaders.catalog import load_catalog, save_catalog_jsonl
from retrieval.loaders.folder import load_files, load_folder_or_file
from retrieval.loaders.interactions import load_interactions, validate_interactions
from retrieval.loaders.movielens import (
    detect_movielens_layout,
    load_movielens,
    split_movielens_title,
)

__all__ = [
    "detect_movielens_layout",
    "load_catalog",
    "load_files",
    "load_folder_or_file",
    "load_interactions",
    "load_movielens",
    "save_catalog_jsonl",
    "split_movielens_title",
    "validate_interactions",
]
