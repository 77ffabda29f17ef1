"""Fixtures for the encoder, fine-tuning and retriever tests.

A tiny sentence-transformers model (BERT, hidden size 32, 2 layers, a character-level
WordPiece vocabulary) is built from a local config once per session and copied per test,
sentence-transformers' own conftest pattern: nothing is ever downloaded.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from retrieval.catalog import Catalog
from retrieval.interactions import Interactions
from retrieval.models import Interaction, Item

_CHARS = list("abcdefghijklmnopqrstuvwxyz0123456789")
_PUNCT = list(".,;:()'-!?&/…")
_WORDS = ["movie", "genres", "recently", "drama", "comedy", "horror", "space", "by"]


def build_tiny_model(folder: Path, *, seed: int = 0) -> Path:
    """Write a random-weight BERT wrapped as a sentence-transformers model into ``folder``."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from transformers import AutoTokenizer, BertConfig, BertModel

    hf = folder.parent / (folder.name + "-hf")
    hf.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *_CHARS, *_PUNCT,
             *("##" + c for c in _CHARS), *_WORDS]
    (hf / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    (hf / "tokenizer_config.json").write_text(json.dumps(
        {"tokenizer_class": "BertTokenizer", "do_lower_case": True, "model_max_length": 128}))
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=128)
    config.save_pretrained(hf)
    tokenizer = AutoTokenizer.from_pretrained(str(hf))
    torch.manual_seed(seed)
    BertModel(config).save_pretrained(hf)
    tokenizer.save_pretrained(hf)
    transformer = Transformer(str(hf), max_seq_length=64)
    getter = getattr(transformer, "get_embedding_dimension", None) or \
        transformer.get_word_embedding_dimension  # sentence-transformers < 5
    dim = getter()
    model = SentenceTransformer(modules=[transformer, Pooling(dim, "mean"), Normalize()],
                                device="cpu")
    model.save(str(folder), create_model_card=False)
    shutil.rmtree(hf)
    return folder


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
