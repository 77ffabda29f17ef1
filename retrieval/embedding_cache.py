"""An embedding cache keyed by model and text, so that a rebuild re-encodes only what
changed.

Each model key (name, weights digest and token limit: ``SentenceTransformerEncoder.model_key``)
gets one ``.npz`` file in the cache folder holding text digests and their vectors; it is
rewritten atomically after every call that encoded something new. Texts are identified by
their SHA-256, so an edited title or description is a new entry and an unchanged one is
a hit.

Example:
    >>> import numpy as np
    >>> class Fake:  # any Encoder works; this one counts its calls
    ...     dim, calls = 2, 0
    ...     def encode(self, texts):
    ...         Fake.calls += len(texts)
    ...         return np.tile(np.array([[0.6, 0.8]], "float32"), (len(texts), 1))
    >>> enc = CachedEncoder(Fake(), EmbeddingCache(), model_key="fake")
    >>> _ = enc.encode(["a", "b"]); _ = enc.encode(["b", "c"]); Fake.calls
    3
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from retrieval.encoder import Encoder, check_texts, check_vectors
from retrieval.errors import DataError
from retrieval.io import atomic_write_bytes

__all__ = ["EmbeddingCache", "CachedEncoder", "text_digest"]

_FORMAT = "encore-embedding-cache-1"


def text_digest(text: str) -> bytes:
    """16 bytes of SHA-256: the cache key of one text."""
    return hashlib.sha256(text.encode("utf-8")).digest()[:16]


class _Table:
    """The vectors of one model: digest -> row."""

    def __init__(self, dim: int | None = None) -> None:
        self.dim = dim
        self.rows: dict[bytes, int] = {}
        self.vectors = np.zeros((0, dim or 0), dtype=np.float32)
        self.dirty = False

    def add(self, digests: list[bytes], vecs: np.ndarray) -> None:
        if self.dim is None or len(self.rows) == 0:
            self.dim = vecs.shape[1]
            self.vectors = np.zeros((0, self.dim), dtype=np.float32)
        start = len(self.vectors)
        self.vectors = np.concatenate([self.vectors, vecs.astype(np.float32, copy=False)])
        for k, d in enumerate(digests):
            self.rows[d] = start + k
        self.dirty = True


class EmbeddingCache:
    """Vectors by ``(model_key, text)``, in memory and optionally in a folder.

    Args:
        folder: Where the ``.npz`` files live; ``None`` keeps the cache in memory only.

    Attributes:
        hits: Texts served from the cache since creation.
        misses: Texts that had to be encoded.
    """

    def __init__(self, folder: str | Path | None = None) -> None:
        self.folder = Path(folder).expanduser() if folder is not None else None
        self._tables: dict[str, _Table] = {}
        self.hits = 0
        self.misses = 0

    def _file(self, model_key: str) -> Path:
        assert self.folder is not None
        return self.folder / (hashlib.sha256(model_key.encode()).hexdigest()[:24] + ".npz")

    def _table(self, model_key: str) -> _Table:
        table = self._tables.get(model_key)
        if table is None:
            table = self._load(model_key)
            self._tables[model_key] = table
        return table

    def _load(self, model_key: str) -> _Table:
        table = _Table()
        if self.folder is None:
            return table
        path = self._file(model_key)
        if not path.is_file():
            return table
        fix = "delete this file; the cache rebuilds itself on the next encode"
        try:
            with np.load(path, allow_pickle=False) as data:
                fmt = str(data["format"])
                key = str(data["model_key"])
                digests = data["digests"]
                vecs = data["vectors"]
        except Exception as exc:  # noqa: BLE001 — a damaged file is one clear error
            raise DataError(f"the embedding cache file cannot be read ({exc})", path=path,
                            fix=fix) from None
        if fmt != _FORMAT or key != model_key:
            raise DataError(f"the embedding cache file belongs to {key!r} ({fmt}), not "
                            f"{model_key!r}", path=path, fix=fix)
        if (digests.ndim != 2 or digests.shape[1] != 16 or vecs.ndim != 2
                or len(vecs) != len(digests)):
            raise DataError("the embedding cache file has inconsistent arrays", path=path, fix=fix)
        try:
            vecs = check_vectors(vecs, what="cached vectors")
        except ValueError as exc:
            raise DataError(str(exc), path=path, fix=fix) from None
        table.dim = vecs.shape[1]
        table.vectors = vecs
        table.rows = {bytes(d): i for i, d in enumerate(digests)}
        return table

    def lookup(self, model_key: str, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """``(found mask, vectors)`` for ``texts``; rows not found are zeros."""
        table = self._table(model_key)
        rows = np.array([table.rows.get(text_digest(t), -1) for t in texts], dtype=np.int64)
        found = rows >= 0
        out = np.zeros((len(texts), table.dim or 0), dtype=np.float32)
        if found.any():
            out[found] = table.vectors[rows[found]]
        return found, out

    def put(self, model_key: str, texts: Sequence[str], vecs: np.ndarray) -> None:
        """Store vectors for texts (existing entries are replaced)."""
        table = self._table(model_key)
        x = check_vectors(vecs, dim=table.dim if table.rows else None, what="vectors to cache")
        if len(x) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(x)} vectors")
        new = {}
        for t, v in zip(texts, x, strict=True):
            new[text_digest(t)] = v
        fresh = [d for d in new if d not in table.rows]
        for d, v in new.items():
            if d in table.rows:
                table.vectors[table.rows[d]] = v
                table.dirty = True
        if fresh:
            table.add(fresh, np.stack([new[d] for d in fresh]))

    def encode(self, encoder: Encoder, texts: Sequence[str], *, model_key: str) -> np.ndarray:
        """Vectors for ``texts``, encoding only those not cached, then saving the cache."""
        items = check_texts(texts)
        found, out = self.lookup(model_key, items)
        if out.shape[1] == 0:
            out = np.zeros((len(items), encoder.dim), dtype=np.float32)
        elif out.shape[1] != encoder.dim:
            raise DataError(f"cached vectors for {model_key!r} have dimension {out.shape[1]}, "
                            f"the encoder gives {encoder.dim}", path=self.folder,
                            fix="delete the cache folder; it rebuilds itself")
        missing = np.flatnonzero(~found)
        self.hits += int(found.sum())
        self.misses += len(missing)
        if len(missing):
            # Encode each distinct missing text once.
            uniq: dict[str, list[int]] = {}
            for i in missing.tolist():
                uniq.setdefault(items[i], []).append(i)
            texts_new = list(uniq)
            vecs = check_vectors(encoder.encode(texts_new), dim=encoder.dim,
                                 what="encoder output")
            for t, v in zip(texts_new, vecs, strict=True):
                out[uniq[t]] = v
            self.put(model_key, texts_new, vecs)
            self.save()
        return out

    def save(self) -> None:
        """Write every changed table to the folder (atomically); no-op in memory."""
        if self.folder is None:
            return
        for key, table in self._tables.items():
            if not table.dirty:
                continue
            digests = np.zeros((len(table.rows), 16), dtype=np.uint8)
            order = np.empty(len(table.rows), dtype=np.int64)
            for pos, (d, row) in enumerate(table.rows.items()):
                digests[pos] = np.frombuffer(d, dtype=np.uint8)
                order[pos] = row
            buf = io.BytesIO()
            np.savez(buf, format=np.array(_FORMAT), model_key=np.array(key), digests=digests,
                     vectors=table.vectors[order])
            atomic_write_bytes(self._file(key), buf.getvalue())
            table.dirty = False

    def size(self, model_key: str) -> int:
        """How many texts are cached for ``model_key``."""
        return len(self._table(model_key).rows)


class CachedEncoder:
    """An :class:`Encoder` that serves repeated texts from an :class:`EmbeddingCache`.

    Args:
        encoder: The encoder to wrap.
        cache: The cache.
        model_key: Identity of the encoder's model; defaults to ``encoder.model_key``.
    """

    def __init__(self, encoder: Encoder, cache: EmbeddingCache, *,
                 model_key: str | None = None) -> None:
        key = model_key or getattr(encoder, "model_key", None)
        if not key:
            raise ValueError("CachedEncoder needs a model_key (the encoder has none): pass "
                             "one that changes whenever the model's weights change")
        self.encoder = encoder
        self.cache = cache
        self.model_key = str(key)

    @property
    def dim(self) -> int:
        return self.encoder.dim

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return self.cache.encode(self.encoder, texts, model_key=self.model_key)
