"""The personas of a bundle's users (``users.jsonl``): one short line per synthetic demo user
("crime and mystery fan"), shown beside the id in the page's picker."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from retrieval.errors import DataError

if TYPE_CHECKING:
    from retrieval.dataset import Dataset

__all__ = ["read_personas", "save_personas"]


def read_personas(path: Path, *, fix: str) -> dict[str, str]:
    """``user id -> persona`` from ``path`` (empty when there is no such file).

    Raises:
        DataError: a row is not JSON with ``user_id`` and ``persona`` (names line and fix).
    """
    if not path.is_file():
        return {}
    out = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            out[str(row["user_id"])] = str(row["persona"])
        except (ValueError, KeyError, TypeError) as exc:
            raise DataError(f"bad persona row ({exc})", path=path, line=n, fix=fix) from None
    return out


def save_personas(dataset: Dataset, path: Path) -> bool:
    """Write ``path`` (user, persona, profiles, synthetic) when the data set has personas;
    whether it did."""
    if not dataset.personas:
        return False
    with path.open("w", encoding="utf-8") as fh:
        for uid, persona in dataset.personas.items():
            row = {"user_id": uid, "persona": persona,
                   "profiles": list(dataset.users.get(uid, ())),
                   "synthetic": dataset.synthetic}
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return True
