"""A data set = a catalog plus an interaction log, and the references that name one.

References accepted wherever a data set is (CLI ``--data``, settings, Python API):

- ``demo`` — the bundled demo catalog with SYNTHETIC interactions (``demo:USERS`` for a
  different number of generated users);
- ``movielens:PATH`` — a MovieLens folder; the layout (ml-100k, ml-1m / ml-10m,
  ml-latest / ml-latest-small / ml-20m / ml-25m / ml-32m) is detected from its files;
- ``PATH`` — a MovieLens folder, or a folder holding ``catalog.{jsonl,csv,parquet}`` and
  optionally ``interactions.{csv,parquet}``, or a single catalog file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from retrieval.catalog import Catalog
from retrieval.errors import DataError, LoadReport
from retrieval.interactions import Interactions

__all__ = ["Dataset", "load_dataset", "parse_dataset_ref"]


@dataclass
class Dataset:
    """A catalog and the interactions on it.

    Attributes:
        name: Human-readable name, e.g. ``"movielens ml-100k"``.
        catalog: The items.
        interactions: The interaction log (may be empty).
        synthetic: True when the interactions were generated (the demo); every display
            of such a data set says so.
        source: The reference it was loaded from.
        report: Rows loaded and skipped (``skip_bad_rows``).
    """

    name: str
    catalog: Catalog
    interactions: Interactions
    synthetic: bool = False
    source: str = ""
    report: LoadReport = field(default_factory=LoadReport)
    users: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """For generated data sets: user id -> the taste profiles it was drawn from."""
    personas: dict[str, str] = field(default_factory=dict)
    """For generated data sets: user id -> a short persona ("crime and mystery fan")."""

    def describe(self) -> str:
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(self.catalog.media_type_counts().items()))
        text = (f"{self.name}: {len(self.catalog)} items ({kinds}); "
                f"{len(self.interactions)} interactions by {self.interactions.n_users} users")
        if self.synthetic:
            text += " [SYNTHETIC interactions, generated for the demo]"
        if self.report.skipped:
            text += f"; {self.report.skipped} bad rows skipped"
        return text


def parse_dataset_ref(ref: str) -> tuple[str, str]:
    """Split a reference into ``(kind, argument)``; kind is demo, movielens or path."""
    ref = ref.strip()
    if not ref:
        raise DataError("empty data set reference",
                        fix="pass 'demo', 'movielens:PATH' or a path to a catalog file or folder")
    if ref == "demo" or ref.startswith("demo:"):
        return "demo", ref[5:]
    if ref.startswith("movielens:"):
        return "movielens", ref[len("movielens:"):]
    return "path", ref


def load_dataset(
    ref: str | Path,
    *,
    skip_bad_rows: bool = False,
    encoding: str | None = None,
    seed: int = 0,
) -> Dataset:
    """Load the data set named by ``ref`` (see the module docstring for the forms).

    Args:
        ref: ``demo``, ``movielens:PATH`` or a path.
        skip_bad_rows: Load the good rows and report the bad ones instead of failing.
        encoding: Text encoding of catalog / interaction files (default: the format's own).
        seed: Seed for the demo's synthetic interactions.
    """
    kind, arg = parse_dataset_ref(str(ref))
    if kind == "demo":
        from retrieval.demo import load_demo

        users = None
        if arg:
            try:
                users = int(arg)
            except ValueError:
                raise DataError(f"'demo:{arg}' is not a number of users",
                                fix="write 'demo' or 'demo:1500'") from None
        return load_demo(n_users=users, seed=seed)
    from retrieval.loaders import load_folder_or_file, load_movielens

    if kind == "movielens":
        return load_movielens(arg, skip_bad_rows=skip_bad_rows)
    return load_folder_or_file(arg, skip_bad_rows=skip_bad_rows, encoding=encoding)
