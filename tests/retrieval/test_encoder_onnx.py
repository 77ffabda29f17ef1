"""The ONNX Runtime encoder: export, float equality with torch, int8, batching by length,
bundles built with it, the torch fallback and configuration errors.

The tiny test model (random BERT, 32-d) is exported once per session for each backend;
the item texts are real ones, from the demo catalog.
"""

from __future__ import annotations

import logging
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from assistant.settings import Settings  # noqa: E402
from retrieval.bundle import Bundle, build_bundle, read_manifest  # noqa: E402
from retrieval.bundle_store import resolve  # noqa: E402
from retrieval.config import BuildConfig  # noqa: E402
from retrieval.dataset import Dataset  # noqa: E402
from retrieval.encoder import SentenceTransformerEncoder, item_text, load_encoder  # noqa: E402
from retrieval.encoder_onnx import (  # noqa: E402
    OnnxEncoder,
    export_onnx,
    length_batches,
    load_bundle_encoder,
    onnx_model_file,
    quantize_onnx,
)
from retrieval.errors import DataError  # noqa: E402


@pytest.fixture(scope="module")
def texts() -> list[str]:
    """Real item texts of several lengths, and two requests."""
    from retrieval.demo import load_demo_catalog

    items = list(load_demo_catalog())
    step = max(1, len(items) // 40)
    return [item_text(it) for it in items[::step]] + ["something funny", "  a quiet jazz album "]


@pytest.fixture(scope="module")
def tiny(_tiny_model_session: Path) -> SentenceTransformerEncoder:
    return load_encoder(_tiny_model_session)


@pytest.fixture(scope="module")
def onnx_bundle(_tiny_model_session: Path, tmp_path_factory) -> Path:
    """A bundle of the tiny data set built with the float ONNX backend (the one export of
    this module: exporting takes seconds)."""
    from tests.retrieval.conftest import tiny_catalog, tiny_log

    ds = Dataset(name="tiny", catalog=tiny_catalog(), interactions=tiny_log(), source="tests")
    return build_bundle(ds, tmp_path_factory.mktemp("onnx") / "bundle",
                        Settings(retrieval={"encoder_backend": "onnx"}),
                        encoder=load_encoder(_tiny_model_session), progress=False,
                        train_ranker=False)


@pytest.fixture(scope="module")
def exported(onnx_bundle, tmp_path_factory) -> dict[str, Path]:
    float_folder = resolve(onnx_bundle).folder / "encoder" / "onnx"
    return {"onnx": float_folder,
            "onnx-int8": quantize_onnx(float_folder, tmp_path_factory.mktemp("int8"))}


def test_float_export_equals_torch(tiny, exported, texts) -> None:
    enc = OnnxEncoder(exported["onnx"], batch_size=8, threads=1)
    assert enc.dim == tiny.dim and enc.max_seq_length == tiny.max_seq_length
    # the same token ids as sentence-transformers (truncation included)
    ids = tiny.model.preprocess(texts[:5])["input_ids"].numpy()
    for row, e in zip(ids, enc._start()[1].encode_batch(texts[:5]), strict=True):
        assert row[:len(e.ids)].tolist() == e.ids and not row[len(e.ids):].any()
    got, want = enc.encode(texts), tiny.encode(texts)
    assert got.dtype == np.float32 and got.shape == want.shape
    assert (got * want).sum(axis=1).min() > 0.9999


def test_int8_loads_and_returns_normalised_vectors(tiny, exported, texts) -> None:
    assert onnx_model_file(exported["onnx-int8"]).name == "model-int8.onnx"
    assert not (exported["onnx-int8"] / "model.onnx").exists()  # only the int8 model is kept
    with pytest.raises(DataError, match="no float ONNX export"):
        quantize_onnx(exported["onnx-int8"], exported["onnx-int8"].parent / "again")
    enc = OnnxEncoder(exported["onnx-int8"], threads=1)
    x = enc.encode(texts)
    assert x.shape == (len(texts), tiny.dim) and x.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-5)
    assert (x * tiny.encode(texts)).sum(axis=1).mean() > 0.9  # near the float vectors
    assert enc.encode([]).shape == (0, tiny.dim)
    with pytest.raises(ValueError, match="empty or whitespace"):
        enc.encode(["ok", " "])
    assert "onnx-int8" in enc.model_key and enc.model_key != OnnxEncoder(exported["onnx"]).model_key


def test_length_batches_restore_the_order_exactly(exported, texts) -> None:
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 60, size=101)
    batches = length_batches(lengths, 8)
    order = np.concatenate(batches)
    assert sorted(order.tolist()) == list(range(101))  # each position once
    assert all(len(b) <= 8 for b in batches)
    assert (np.diff(lengths[order]) <= 0).all()  # longest first: each batch pads little
    # encoding in batches by length gives each text the vector it gets alone
    enc = OnnxEncoder(exported["onnx"], batch_size=4, threads=1)
    shuffled = [texts[i] for i in rng.permutation(len(texts))]
    together = enc.encode(shuffled)
    alone = np.vstack([enc.encode([t]) for t in shuffled])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    with pytest.raises(ValueError, match="batch_size"):
        length_batches([1], 0)


def test_threads_reset_the_session_and_copies_pickle(exported) -> None:
    import pickle

    enc = OnnxEncoder(exported["onnx"], threads=2)
    enc.encode(["x"])
    assert enc._session is not None
    enc.threads = 1
    assert enc._session is None and enc.threads == 1
    copy = pickle.loads(pickle.dumps(enc))
    np.testing.assert_allclose(copy.encode(["space film"]), enc.encode(["space film"]), atol=1e-6)
    with pytest.raises(ValueError, match="threads"):
        enc.threads = 0


def test_bundle_built_with_onnx_loads_and_answers(onnx_bundle, tiny, caplog,
                                                  monkeypatch) -> None:
    manifest = read_manifest(onnx_bundle)
    assert manifest["encoder"]["backend"] == "onnx"
    assert "encoder/onnx/model.onnx" in manifest["files"]  # checksummed like the rest
    b = Bundle.load(onnx_bundle)
    assert isinstance(b.encoder, OnnxEncoder)
    # requests are encoded in the items' space, which is the torch model's
    first = b.catalog.ids[3]
    text = item_text(b.catalog[first])
    np.testing.assert_allclose(b.encoder.encode([text])[0], b.item_vectors[3], atol=1e-5)
    np.testing.assert_allclose(tiny.encode([text])[0], b.item_vectors[3], atol=1e-4)
    hits = b.retriever().retrieve(text, n=3)
    assert hits[0].item_id == first

    # served where onnxruntime is missing: torch answers, and says why
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # `import onnxruntime` fails
    with caplog.at_level(logging.WARNING, logger="retrieval.encoder_onnx"):
        fallback = Bundle.load(onnx_bundle)
        assert isinstance(fallback.encoder, SentenceTransformerEncoder)
    assert "onnxruntime is not installed" in caplog.text
    assert len(fallback.retriever().retrieve("Moon Base", n=3)) == 3


def test_an_entry_without_its_export_falls_back_to_torch(tmp_path, tiny_model_path,
                                                         caplog) -> None:
    entry = {"model": str(tiny_model_path), "backend": "onnx", "onnx": "encoder/onnx",
             "max_seq_length": 64}
    with caplog.at_level(logging.WARNING, logger="retrieval.encoder_onnx"):
        enc = load_bundle_encoder(tmp_path, entry)
    assert isinstance(enc, SentenceTransformerEncoder) and enc.max_seq_length == 64
    assert "exported model is missing" in caplog.text and "rebuild" in caplog.text
    # an entry from before backends existed is torch, silently
    caplog.clear()
    assert isinstance(load_bundle_encoder(tmp_path, {"model": str(tiny_model_path)}),
                      SentenceTransformerEncoder)
    assert not caplog.text


def test_int8_export_keeps_only_the_int8_model(tiny, exported, texts, tmp_path,
                                              monkeypatch) -> None:
    """export_onnx(backend='onnx-int8') is the float export, quantised (the torch export
    itself is stood in for by a copy of the module's one, to keep this test to a second)."""
    import json

    from retrieval import encoder_onnx

    def copy_export(model, path):
        shutil.copyfile(exported["onnx"] / "model.onnx", path)
        meta = json.loads((exported["onnx"] / "encore_onnx.json").read_text())
        return {k: meta[k] for k in ("inputs", "pooling", "dim", "max_seq_length", "pad_id")}

    monkeypatch.setattr(encoder_onnx, "_torch_export", copy_export)
    folder = export_onnx(tiny.model, tmp_path / "int8", backend="onnx-int8")
    assert sorted(p.name for p in folder.iterdir()) == [
        "encore_onnx.json", "model-int8.onnx", "tokenizer.json"]
    x = OnnxEncoder(folder, threads=1).encode(texts)
    np.testing.assert_allclose(x, OnnxEncoder(exported["onnx-int8"], threads=1).encode(texts),
                               atol=1e-6)


def test_configuration_errors_are_clear(tmp_path, catalog, log, tiny, monkeypatch) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="unknown encoder backend 'onnx8'.*onnx-int8"):
        BuildConfig(encoder_backend="onnx8")
    monkeypatch.setenv("ENCORE_RETRIEVAL__ENCODER_BACKEND", "int8")
    with pytest.raises(ValidationError, match="onnx-int8"):
        Settings()
    with pytest.raises(DataError, match="no exported ONNX model.*encoder_backend 'torch'"):
        OnnxEncoder(tmp_path)
    with pytest.raises(ValueError, match="needs no export"):
        export_onnx(tiny.model, tmp_path / "x", backend="torch")

    class Fake:  # an encoder that is not a sentence-transformers model
        dim = 4

        def encode(self, texts):
            return np.ones((len(texts), 4), np.float32) / 2

    ds = Dataset(name="tiny", catalog=catalog, interactions=log, source="tests")
    with pytest.raises(DataError, match="exports a sentence-transformers model"):
        build_bundle(ds, tmp_path / "b", BuildConfig(encoder_backend="onnx"), encoder=Fake(),
                     progress=False, train_ranker=False)


def test_a_model_the_export_does_not_cover_is_refused(tiny, tmp_path) -> None:
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Dense

    with_dense = SentenceTransformer(modules=[tiny.model[0], tiny.model[1], Dense(32, 8)],
                                     device="cpu")
    with pytest.raises(DataError, match="Transformer \\+ Pooling.*Dense.*'torch'"):
        export_onnx(with_dense, tmp_path / "d", backend="onnx")
