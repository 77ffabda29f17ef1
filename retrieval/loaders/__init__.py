"""Loaders for catalogs, interaction logs and the MovieLens layouts."""

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
