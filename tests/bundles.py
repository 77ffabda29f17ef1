"""Test helpers shared across test folders: the tiny BERT encoder and a demo bundle.

Nothing here runs at import. The tiny model is a random-weight BERT (hidden size 32, 2
layers, a character-level WordPiece vocabulary) wrapped as a sentence-transformers model,
built from a local config: nothing is ever downloaded (sentence-transformers' own conftest
pattern). :func:`build_demo_bundle` builds a real bundle (catalog, vectors, FAISS index, a
trained LightGBM ranker and its statistics) from the demo data set with that model.

Import it from a conftest as ``from tests.bundles import build_demo_bundle`` (the repository
root is on ``sys.path`` when pytest runs from it; the conftests make sure of it).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

__all__ = ["DEMO_USERS", "build_demo_bundle", "build_tiny_model", "demo_ranker_config"]

_CHARS = list("abcdefghijklmnopqrstuvwxyz0123456789")
_PUNCT = list(".,;:()'-!?&/…")
_WORDS = ["movie", "genres", "recently", "drama", "comedy", "horror", "space", "by"]

# Users of the demo data set the test bundle is built from (``demo:N``): enough for the
# ranker's training lists (20 validation users), few enough to build in seconds.
DEMO_USERS = 200


def build_tiny_model(folder: Path, *, seed: int = 0) -> Path:
    """Write a random-weight BERT wrapped as a sentence-transformers model into ``folder``."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from transformers import AutoTokenizer, BertConfig, BertModel

    folder = Path(folder)
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


def demo_ranker_config():  # -> PipelineConfig (imported lazily)
    """A small, quick pipeline for test bundles: 3 cut-offs per user, 50 candidates,
    at most 40 boosting rounds, one thread."""
    from retrieval.config import PipelineConfig

    return PipelineConfig(
        retrieval={"n_candidates": 50, "collaborative": 40},
        ranker={"kind": "lightgbm", "max_rounds": 40, "early_stopping": 10,
                "min_data_in_leaf": 20, "num_leaves": 7, "learning_rate": 0.1,
                "num_threads": 1},
        training={"cuts": 3, "seed": 0})


def build_demo_bundle(folder: str | Path, *, encoder_path: str | Path | None = None,
                      users: int = DEMO_USERS, train_ranker: bool = True) -> Path:
    """Build a bundle of the demo data set (``demo:users``, SYNTHETIC interactions) into
    ``folder/bundle`` with the tiny test encoder (built into ``folder/tiny-model`` unless
    ``encoder_path`` names one) and a quick LightGBM ranker (:func:`demo_ranker_config`).

    Returns:
        The bundle folder (load it with ``retrieval.bundle.Bundle.load``).
    """
    import torch

    from assistant.settings import Settings
    from retrieval.bundle import build_bundle
    from retrieval.dataset import load_dataset
    from retrieval.encoder import load_encoder

    # Tiny models gain nothing from threads; on a busy CPU idle-spinning threads cost more.
    torch.set_num_threads(1)
    folder = Path(folder)
    if encoder_path is None:
        encoder_path = build_tiny_model(folder / "tiny-model")
    encoder = load_encoder(encoder_path)
    dataset = load_dataset(f"demo:{users}")
    return build_bundle(dataset, folder / "bundle", Settings(), encoder=encoder, progress=False,
                        train_ranker=train_ranker, pipeline=demo_ranker_config())
