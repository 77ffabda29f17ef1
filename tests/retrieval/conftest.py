"""Fixtures for the encoder, fine-tuning and retriever tests.

A tiny sentence-transformers model (BERT, hidden size 32, 2 layers, a character-level
WordPiece vocabulary) is built from a local config once per session and copied per test,
sentence-transformers' own conftest pattern: nothing is ever downloaded.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:  # `tests.bundles` is imported from the repository root
    sys.path.insert(0, _ROOT)

from retrieval.catalog import Catalog  # noqa: E402
from retrieval.interactions import Interactions  # noqa: E402
from retrieval.models import Interaction, Item  # noqa: E402
from tests.bundles import build_tiny_model  # noqa: E402


@pytest.fixture(scope="session")
def _tiny_model_session(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch

    # Tiny models gain nothing from threads, and on a busy CPU idle-spinning OpenMP
    # threads make each step 20x slower.
    torch.set_num_threads(1)
    return build_tiny_model(tmp_path_factory.mktemp("tiny-model") / "model")


@pytest.fixture()
def tiny_model_path(_tiny_model_session: Path, tmp_path: Path) -> Path:
    """A fresh copy of the tiny model folder, safe to modify or train."""
    return Path(shutil.copytree(_tiny_model_session, tmp_path / "tiny-model"))


# -- a tiny data set with two tastes -------------------------------------------------------

SPACE = [("s1", "Star Voyage"), ("s2", "Moon Base"), ("s3", "Orbit"), ("s4", "Comet Run"),
         ("s5", "Nebula"), ("s6", "Red Planet")]
HAUNT = [("h1", "The Haunting"), ("h2", "Night Visitor"), ("h3", "Crypt"),
         ("h4", "Ghost House"), ("h5", "Shadows"), ("h6", "Hollow")]


def tiny_catalog() -> Catalog:
    items = [Item(id=i, title=t, media_type="movie", year=1990 + k, genres=["space"])
             for k, (i, t) in enumerate(SPACE)]
    items += [Item(id=i, title=t, media_type="movie", year=1980 + k, genres=["horror"])
              for k, (i, t) in enumerate(HAUNT)]
    return Catalog(items)


def tiny_log(n_users: int = 12) -> Interactions:
    """Half the users watch space films in order, half horror films; each user's last
    interaction is a different item so a leak is easy to see."""
    rows = []
    for u in range(n_users):
        group = SPACE if u % 2 == 0 else HAUNT
        shift = u // 2
        seq = [group[(shift + k) % len(group)][0] for k in range(len(group))]
        for t, item in enumerate(seq):
            rows.append(Interaction(user_id=f"u{u}", item_id=item, timestamp=1000 * u + t,
                                    event="rating", value=4 if t != 2 else 1))
    return Interactions.from_records(rows)


@pytest.fixture()
def catalog() -> Catalog:
    return tiny_catalog()


@pytest.fixture()
def log() -> Interactions:
    return tiny_log()
