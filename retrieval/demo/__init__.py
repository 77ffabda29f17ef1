"""The bundled demo: a catalog of real, well-known titles with descriptions written for
Encore, and a seeded generator of SYNTHETIC interactions from taste profiles."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from retrieval.catalog import Catalog
from retrieval.dataset import Dataset
from retrieval.errors import LoadReport
from retrieval.models import Item

__all__ = ["DEMO_NAME", "load_demo", "load_demo_catalog"]

DEMO_NAME = "Encore demo (real titles, SYNTHETIC interactions)"
_FILES = ("movies.jsonl", "series.jsonl", "music.jsonl", "podcasts.jsonl", "audiobooks.jsonl")


@lru_cache(maxsize=1)
def _catalog_cached() -> Catalog:
    from retrieval.loaders.catalog import load_catalog

    items: list[Item] = []
    folder = resources.files("retrieval.demo") / "catalog"
    for name in _FILES:
        ref = folder / name
        if not ref.is_file():
            continue
        with resources.as_file(ref) as path:
            items.extend(load_catalog(path))
    return Catalog(items)


def load_demo_catalog() -> Catalog:
    """The bundled catalog of real, well-known titles (descriptions written for Encore)."""
    return Catalog(list(_catalog_cached()))


def load_demo(n_users: int | None = None, seed: int = 0) -> Dataset:
    """The demo data set: the bundled catalog plus SYNTHETIC interactions from taste profiles.

    Args:
        n_users: How many users to generate (default 1500).
        seed: Seed of the generator; the same seed gives the same interactions.
    """
    from retrieval.demo.generate import generate_interactions

    catalog = load_demo_catalog()
    log, users = generate_interactions(catalog, n_users or 1500, seed=seed)
    return Dataset(name=DEMO_NAME, catalog=catalog, interactions=log, synthetic=True,
                   source="demo", report=LoadReport(loaded=len(catalog) + len(log)),
                   users=dict(users.profiles), personas=dict(users.personas))
