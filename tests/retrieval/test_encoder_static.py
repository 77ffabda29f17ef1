"""The static (distilled) encoder: token vectors from the transformer, PCA and SIF, the
StaticEmbedding model, bundles built with it and configuration errors.

The tiny test model (random BERT, 32-d, a few hundred tokens) is distilled once per module
(about a second); the item texts are real ones, from the demo catalog.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from assistant.settings import Settings
from retrieval.bundle import Bundle, build_bundle, read_manifest
from retrieval.config import BuildConfig
from retrieval.dataset import Dataset
from retrieval.encoder import SentenceTransformerEncoder, item_text, load_encoder
from retrieval.encoder_onnx import load_bundle_encoder
from retrieval.encoder_static import (
    DistillConfig,
    StaticEncoder,
    distill_static,
    distill_vectors,
    token_vectors,
)
from retrieval.errors import DataError


@pytest.fixture(scope="module")
def texts() -> list[str]:
    from retrieval.demo import load_demo_catalog

    items = list(load_demo_catalog())
    return [item_text(it) for it in items[:: max(1, len(items) // 30)]] + ["something funny"]


@pytest.fixture(scope="module")
def tiny(_tiny_model_session: Path) -> SentenceTransformerEncoder:
    return load_encoder(_tiny_model_session)


@pytest.fixture(scope="module")
def distilled(tiny, tmp_path_factory) -> Path:
    return distill_static(tiny.model, tmp_path_factory.mktemp("static") / "model",
                          DistillConfig(pca_dims=16))


def test_token_vectors_are_the_models_own_pooled_output(tiny) -> None:
    vecs = token_vectors(tiny.model, batch_size=64)
    tok = tiny.model[0].tokenizer
    assert vecs.shape == (len(tok), tiny.dim) and vecs.dtype == np.float32
    for word in ("drama", "space", "a"):  # one token each, in the tiny vocabulary
        (i,) = tok(word, add_special_tokens=False)["input_ids"]
        want = tiny.encode([word])[0]  # [CLS] word [SEP], mean-pooled, normalised
        got = vecs[i] / np.linalg.norm(vecs[i])
        np.testing.assert_allclose(got, want, atol=1e-5)


def test_pca_and_sif_weighting() -> None:
    rng = np.random.default_rng(0)
    vecs = rng.normal(size=(50, 8)).astype(np.float32) + 5.0  # a shared direction
    used = np.ones(50, bool)
    used[[3, 7]] = False  # placeholders
    out = distill_vectors(vecs, used, DistillConfig(pca_dims=4, sif_coefficient=None))
    assert out.shape == (50, 4) and not out[[3, 7]].any()
    np.testing.assert_allclose(out[used].mean(axis=0), 0, atol=1e-5)  # centred
    var = out[used].var(axis=0)
    assert (np.diff(var) <= 1e-6).all()  # principal axes, largest first
    weighted = distill_vectors(vecs, used, DistillConfig(pca_dims=4, sif_coefficient=1e-2))
    ratio = np.linalg.norm(weighted[used], axis=1) / np.linalg.norm(out[used], axis=1)
    assert (np.diff(ratio) > 0).all() and ratio[-1] < 1  # early (frequent) tokens weigh less
    np.testing.assert_array_equal(distill_vectors(vecs, used, DistillConfig(pca_dims=4)),
                                  distill_vectors(vecs, used, DistillConfig(pca_dims=4)))


def test_static_encoder_vectors(distilled, texts) -> None:
    enc = StaticEncoder.load(distilled)
    x = enc.encode(texts)
    assert x.shape == (len(texts), 16) and enc.dim == 16 and x.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1, atol=1e-5)
    assert len({tuple(np.round(r, 5)) for r in x}) == len(set(texts))
    # one text alone, or among others, or after a reload: the same vector
    np.testing.assert_allclose(enc.encode(texts[4:5])[0], x[4], atol=1e-6)
    np.testing.assert_allclose(StaticEncoder.load(distilled).encode(texts), x, atol=1e-6)
    # the mean of the text's token vectors, without special tokens
    ids = enc.module.tokenizer.encode(texts[0], add_special_tokens=False).ids
    table = enc.module.embedding.weight.detach().numpy()
    mean = table[ids].mean(axis=0)
    np.testing.assert_allclose(x[0], mean / np.linalg.norm(mean), atol=1e-5)
    # a text with no tokens at all gets the unknown token's direction, not a zero vector
    empty = enc.encode(["\u0000"])
    assert np.isfinite(empty).all() and abs(np.linalg.norm(empty) - 1) < 1e-5
    assert "static" in enc.model_key and enc.model_key == StaticEncoder.load(distilled).model_key
    # a copy sent to another process (a Ray actor of the distributed build) encodes alike
    copy = pickle.loads(pickle.dumps(enc))
    np.testing.assert_array_equal(copy.encode(texts[:3]), x[:3])
    with pytest.raises(ValueError, match="whitespace"):
        enc.encode(["  "])


@pytest.mark.parametrize("engine", [None, "sharded"])
def test_bundle_built_with_static_loads_and_answers(_tiny_model_session, tmp_path,
                                                    texts, engine) -> None:
    from retrieval.distributed import make_engine
    from tests.retrieval.conftest import tiny_catalog, tiny_log

    ds = Dataset(name="tiny", catalog=tiny_catalog(), interactions=tiny_log(), source="tests")
    # "sharded": the engines' workers load the distilled model too (not the torch one)
    out = build_bundle(ds, tmp_path / "bundle", Settings(retrieval={"encoder_backend": "static"}),
                       encoder=load_encoder(_tiny_model_session), progress=False,
                       train_ranker=False,
                       engine=make_engine(engine) if engine else None)
    manifest = read_manifest(out)
    assert manifest["encoder"]["backend"] == "static"
    assert "encoder/static/model.safetensors" in manifest["files"]
    b = Bundle.load(out)
    assert isinstance(b.encoder, StaticEncoder)
    # the stored item vectors are the served encoder's (same vectors after save and load)
    want = b.encoder.encode([item_text(b.catalog[i]) for i in b.item_ids])
    np.testing.assert_allclose(b.item_vectors, want, atol=1e-5)
    assert b.item_vectors.shape[1] == b.encoder.dim
    first = b.catalog.ids[3]
    assert b.retriever().retrieve(item_text(b.catalog[first]), n=3)[0].item_id == first
    # a bundle whose distilled model is gone says so (no silent switch of vector space)
    entry = dict(manifest["encoder"], static="encoder/missing")
    with pytest.raises(DataError, match="no distilled static model.*rebuild"):
        load_bundle_encoder(Bundle.load(out).path, entry)


def test_configuration_errors_are_clear(monkeypatch, tiny, tmp_path) -> None:
    from pydantic import ValidationError
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Dense

    assert BuildConfig(encoder_backend="static").encoder_backend == "static"
    with pytest.raises(ValidationError, match="unknown encoder backend 'statik'.*static"):
        BuildConfig(encoder_backend="statik")
    monkeypatch.setenv("ENCORE_RETRIEVAL__ENCODER_BACKEND", "model2vec")
    with pytest.raises(ValidationError, match="static"):
        Settings()
    with pytest.raises(ValueError, match="pca_dims"):
        DistillConfig(pca_dims=0)
    with pytest.raises(ValueError, match="sif_coefficient"):
        DistillConfig(sif_coefficient=2.0)
    with_dense = SentenceTransformer(modules=[tiny.model[0], tiny.model[1], Dense(32, 8)],
                                     device="cpu")
    with pytest.raises(DataError, match="Transformer \\+ Pooling.*Dense.*'torch'"):
        distill_static(with_dense, tmp_path / "d")
    with pytest.raises(DataError, match="StaticEmbedding"):
        StaticEncoder(tiny.model)
