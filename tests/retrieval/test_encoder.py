"""The encoder seam, item texts, model loading errors and the embedding cache."""

from __future__ import annotations

import json
import shutil
import zlib
from pathlib import Path

import numpy as np
import pytest

from retrieval.embedding_cache import CachedEncoder, EmbeddingCache
from retrieval.encoder import (
    DEFAULT_MODEL,
    Encoder,
    SentenceTransformerEncoder,
    check_texts,
    check_vectors,
    history_text,
    item_text,
    load_encoder,
    resolve_model_path,
)
from retrieval.errors import DataError
from retrieval.models import Item


class CountingEncoder:
    """A fake Encoder: a fixed vector per text (from its hash), counting encoded texts."""

    dim = 4

    def __init__(self) -> None:
        self.encoded: list[str] = []

    def encode(self, texts):
        texts = check_texts(texts)
        self.encoded.extend(texts)
        rows = [np.random.default_rng(zlib.crc32(t.encode())).normal(size=self.dim) for t in texts]
        x = np.array(rows, dtype=np.float32).reshape(len(texts), self.dim)
        return x / np.linalg.norm(x, axis=1, keepdims=True)


# -- texts -------------------------------------------------------------------------------------


def test_item_text_uses_every_field_in_order() -> None:
    item = Item(id="x", title="Arrival", media_type="movie", year=2016, genres=["science fiction"],
                tags=["aliens", "language"], creators=["Denis Villeneuve"],
                description="A linguist   is recruited.")
    assert item_text(item) == ("Arrival (2016). Movie. Genres: science fiction. Tags: aliens, "
                               "language. By: Denis Villeneuve. A linguist is recruited.")


def test_item_text_leaves_out_empty_fields_and_cuts_long_descriptions() -> None:
    bare = Item(id="x", title="Untitled", media_type="podcast")
    assert item_text(bare) == "Untitled. Podcast."
    long = Item(id="y", title="T", media_type="movie", description="word " * 500)
    text = item_text(long, max_description_chars=50)
    assert text.endswith("…") and len(text) < 80


def test_history_text_is_most_recent_first_and_bounded() -> None:
    items = [Item(id=str(i), title=f"T{i}", media_type="movie", year=2000 + i) for i in range(8)]
    assert history_text(items, max_items=3) == "Recently: T7 (2007); T6 (2006); T5 (2005)."
    with pytest.raises(ValueError, match="at least one item"):
        history_text([])


# -- checks ------------------------------------------------------------------------------------


@pytest.mark.parametrize("texts", [[""], ["ok", "   "], ["\n\t"]])
def test_empty_or_whitespace_texts_are_an_error(texts: list[str]) -> None:
    with pytest.raises(ValueError, match="empty or whitespace only"):
        check_texts(texts)


def test_a_single_string_or_non_strings_are_an_error() -> None:
    with pytest.raises(TypeError, match="not one string"):
        check_texts("Arrival")
    with pytest.raises(TypeError, match=r"texts\[1\] is a int"):
        check_texts(["a", 3])


def test_nan_or_infinite_vectors_are_an_error() -> None:
    with pytest.raises(ValueError, match=r"NaN or infinite values \(rows 1\)"):
        check_vectors(np.array([[1.0, 0.0], [np.nan, 0.0]]))
    with pytest.raises(ValueError, match="NaN or infinite"):
        check_vectors(np.array([[np.inf, 0.0]]))
    with pytest.raises(ValueError, match="dimension 2, expected 3"):
        check_vectors(np.ones((1, 2)), dim=3)


# -- the sentence-transformers encoder -------------------------------------------------------


def test_tiny_model_encodes_normalised_float32(tiny_model_path: Path) -> None:
    enc = load_encoder(tiny_model_path, batch_size=2)
    assert isinstance(enc, Encoder)
    texts = ["Star Voyage (1990). Movie.", "Crypt (1982). Movie. Genres: horror.", "x"]
    vecs = enc.encode(texts)
    assert vecs.dtype == np.float32 and vecs.shape == (3, enc.dim) and enc.dim == 32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    # Batching does not change the vectors.
    one_by_one = np.vstack([enc.encode([t]) for t in texts])
    np.testing.assert_allclose(vecs, one_by_one, atol=1e-5)
    assert enc.encode([]).shape == (0, 32)
    with pytest.raises(ValueError, match="empty or whitespace"):
        enc.encode(["fine", " "])


def test_model_key_follows_the_weights(tiny_model_path: Path, tmp_path: Path) -> None:
    import torch

    a = load_encoder(tiny_model_path)
    same = load_encoder(Path(shutil.copytree(tiny_model_path, tmp_path / "copy")))
    assert a.model_key == same.model_key.replace(str(tmp_path / "copy"), str(tiny_model_path))
    before = SentenceTransformerEncoder(same.model).model_key
    with torch.no_grad():
        next(same.model.parameters()).add_(1.0)
    assert SentenceTransformerEncoder(same.model).model_key != before
    a.model.max_seq_length = 16
    assert a.model_key.endswith(":len16")  # the token limit changes the vectors too


def test_default_name_resolves_to_the_packaged_folder() -> None:
    name, folder = resolve_model_path(DEFAULT_MODEL)
    assert name == DEFAULT_MODEL and (folder / "modules.json").is_file()
    assert resolve_model_path("sentence-transformers/all-MiniLM-L6-v2")[1] == folder
    assert resolve_model_path("some-org/some-model") == ("some-org/some-model", None)


def test_a_folder_that_is_not_a_model_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(DataError, match="not a model folder.*Fix: point to a folder"):
        load_encoder(tmp_path)
    with pytest.raises(DataError, match="a file, not a model folder"):
        load_encoder(tmp_path / "notes.txt")
    with pytest.raises(DataError, match="model folder not found"):
        load_encoder(tmp_path / "missing" / "model")
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(DataError, match="no weights"):
        load_encoder(tmp_path)


def test_a_broken_model_folder_is_a_clear_error(tiny_model_path: Path) -> None:
    (tiny_model_path / "modules.json").write_text("not json")
    with pytest.raises(DataError, match="modules.json is not valid"):
        load_encoder(tiny_model_path)
    (tiny_model_path / "modules.json").write_text(json.dumps(
        [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"}]))
    (tiny_model_path / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(DataError, match="could not load the model"):
        load_encoder(tiny_model_path)


def test_an_unknown_hub_name_offline_says_how_to_fix_it() -> None:
    with pytest.raises(DataError, match="offline mode is on"):
        load_encoder("encore-tests/no-such-model")


# -- the embedding cache -----------------------------------------------------------------------


def test_cache_re_encodes_only_what_changed(tmp_path: Path) -> None:
    fake = CountingEncoder()
    cache = EmbeddingCache(tmp_path / "cache")
    first = cache.encode(fake, ["a", "b", "c"], model_key="m1")
    assert fake.encoded == ["a", "b", "c"]
    again = EmbeddingCache(tmp_path / "cache").encode(fake, ["c", "b", "a", "d"], model_key="m1")
    assert fake.encoded == ["a", "b", "c", "d"]  # only the new text was encoded
    np.testing.assert_array_equal(again[:3], first[::-1])
    # Another model key is another cache.
    EmbeddingCache(tmp_path / "cache").encode(fake, ["a"], model_key="m2")
    assert fake.encoded[-1] == "a" and len(fake.encoded) == 5


def test_cache_encodes_duplicates_once_and_keeps_order() -> None:
    fake = CountingEncoder()
    out = CachedEncoder(fake, EmbeddingCache(), model_key="k").encode(["x", "y", "x"])
    assert fake.encoded == ["x", "y"]
    np.testing.assert_array_equal(out[0], out[2])


def test_cache_rejects_bad_input_and_damaged_files(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path)
    with pytest.raises(ValueError, match="empty or whitespace"):
        cache.encode(CountingEncoder(), ["ok", ""], model_key="m")

    class NaNEncoder(CountingEncoder):
        def encode(self, texts):
            out = super().encode(texts)
            out[0, 0] = np.nan
            return out

    with pytest.raises(ValueError, match="NaN or infinite"):
        cache.encode(NaNEncoder(), ["z"], model_key="m")
    cache.encode(CountingEncoder(), ["ok"], model_key="m")
    [npz] = list(tmp_path.glob("*.npz"))
    npz.write_bytes(b"not a numpy file")
    with pytest.raises(DataError, match="cannot be read.*Fix: delete this file"):
        EmbeddingCache(tmp_path).encode(CountingEncoder(), ["ok"], model_key="m")


def test_cached_real_encoder_matches_uncached(tiny_model_path: Path, tmp_path: Path) -> None:
    enc = load_encoder(tiny_model_path)
    cached = CachedEncoder(enc, EmbeddingCache(tmp_path / "c"))
    texts = ["Nebula (1994). Movie.", "Hollow (1985). Movie."]
    np.testing.assert_allclose(cached.encode(texts), enc.encode(texts), atol=1e-6)
    assert cached.cache.hits == 0 and cached.cache.misses == 2
    cached.encode(texts)
    assert cached.cache.hits == 2
