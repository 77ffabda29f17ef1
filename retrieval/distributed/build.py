"""A bundle's long steps in shards on a :class:`~retrieval.distributed.BuildEngine`,
resumable from the shards an interrupted build saved.

Each step names its shards by a key of everything their results depend on, so a build
resumes only from shards of the same inputs, and says so ("resuming: 7 of 10 shards
already done"). The results equal the single-process build's: the same item vectors
(within float tolerance: batches pad texts differently), the same index (exactly for Flat,
the same lists for IVF) and the same ranker training lists.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from retrieval.bundle_store import WORK
from retrieval.distributed.work import WorkStore, digest, folder_digest
from retrieval.parallel import blocks

if TYPE_CHECKING:
    from retrieval.catalog import Catalog
    from retrieval.distributed import BuildEngine
    from retrieval.encoder import Encoder
    from retrieval.index import FaissIndex

__all__ = ["ENCODE_SHARD", "INDEX_SHARD", "WORK_DIR", "encoder_factory", "engine_vectors",
           "sharded_index", "sharded_vectors", "work_store"]

log = logging.getLogger(__name__)

WORK_DIR = WORK
"""The work folder's name inside a build's temporary generation."""
ENCODE_SHARD = 2048
"""Items per encoding shard (one saved file)."""
INDEX_SHARD = 50_000
"""Vectors per index shard."""

Step = Callable[[str], None]
Progress = Callable[[str, int, int], None]


def _resuming(step: Step, what: str, done: int, total: int) -> None:
    if done:
        step(f"resuming: {done} of {total} {what} shards already done")


def encoder_factory(encoder: Encoder, enc_meta: dict[str, Any], tmp: Path
                    ) -> tuple[Callable[[], Any], str]:
    """How engine workers get the build's encoder, and a key of its weights.

    A saved encoder (``tmp/encoder``), the backend the build converted it to (the distilled
    static model or the ONNX export, as the bundle will load it) or a model name is loaded
    by each worker (every node must see the same path: one machine, or a shared file
    system); any other encoder object is pickled to them as it is.
    """
    from retrieval.encoder import load_encoder
    from retrieval.encoder_onnx import ONNX_DIR, load_bundle_encoder
    from retrieval.encoder_static import STATIC_DIR

    seq = int(enc_meta.get("max_seq_length") or 128)
    backend = str(enc_meta.get("backend", "torch"))
    if backend != "torch":
        # the distilled static model or the ONNX export the build wrote: the workers
        # encode with what serving will encode requests with, not with the torch model
        sub = (enc_meta.get("static") or f"encoder/{STATIC_DIR}" if backend == "static"
               else enc_meta.get("onnx") or f"encoder/{ONNX_DIR}")
        folder = tmp / str(sub)
        return (functools.partial(load_bundle_encoder, tmp, dict(enc_meta)),
                digest(backend, folder_digest(folder), str(seq)))
    if enc_meta.get("folder"):
        folder = tmp / str(enc_meta["folder"])
        return (functools.partial(load_encoder, str(folder), max_seq_length=seq),
                digest("folder", folder_digest(folder), str(seq)))
    if enc_meta.get("saved") is False:
        return (lambda: encoder), digest("object", repr(encoder))
    return (functools.partial(load_encoder, str(enc_meta["model"]), max_seq_length=seq),
            digest("model", str(enc_meta["model"]), str(seq)))


def sharded_vectors(engine: BuildEngine, texts: Sequence[str], make_encoder: Callable[[], Any],
                    encoder_key: str, work: WorkStore, *, step: Step,
                    on_progress: Progress | None, shard: int | None = None) -> np.ndarray:
    """The vectors of ``texts`` (catalog order), encoded in shards of ``shard`` items on the
    engine; each shard saved to ``work`` as it finishes, the ones saved before reused."""
    shard = shard or ENCODE_SHARD
    groups = blocks(len(texts), shard)
    key = digest("encode", encoder_key, str(shard), texts)
    done = work.done("encode", key, len(groups))
    _resuming(step, "encoding", len(done), len(groups))
    parts: dict[int, np.ndarray] = {i: work.load("encode", key, i) for i in done}
    count = sum(groups[i][1] - groups[i][0] for i in done)
    if on_progress is not None:
        on_progress("encode", count, len(texts))
    pending = [i for i in range(len(groups)) if i not in parts]
    for pos, vecs in engine.encode(make_encoder, texts, [groups[i] for i in pending]):
        i = pending[pos]
        work.save("encode", key, i, vecs)
        parts[i] = vecs
        count += len(vecs)
        if on_progress is not None:
            on_progress("encode", count, len(texts))
    return np.concatenate([parts[i] for i in range(len(groups))]).astype(np.float32)


def work_store(tmp: Path) -> WorkStore:
    """The work folder of the build writing the temporary generation ``tmp``."""
    return WorkStore(tmp / WORK_DIR)


def engine_vectors(engine: BuildEngine, catalog: Catalog, encoder: Encoder,
                   enc_meta: dict[str, Any], tmp: Path, *, step: Step,
                   on_progress: Progress | None) -> np.ndarray:
    """The catalog's item vectors encoded in shards on ``engine`` (resumable), with the
    encoder of the manifest entry ``enc_meta``."""
    from retrieval.encoder import item_text

    make, key = encoder_factory(encoder, enc_meta, tmp)
    texts = [item_text(it) for it in catalog]
    return sharded_vectors(engine, texts, make, key, work_store(tmp), step=step,
                           on_progress=on_progress)


def sharded_index(engine: BuildEngine, ids: Sequence[str], vectors: np.ndarray,
                  factory: str | None, work: WorkStore, *, step: Step,
                  on_progress: Progress | None, shard: int | None = None) -> FaissIndex:
    """The FAISS index of ``ids``/``vectors``, built in shards on the engine and merged
    (:mod:`retrieval.index.sharded`; layout by size unless ``factory`` names one). An HNSW
    factory cannot be merged from parts and is built in one go here."""
    from retrieval.index import FaissIndex
    from retrieval.index._faiss import check_vectors
    from retrieval.index.sharded import (
        build_shard,
        can_shard,
        merge_shards,
        sharded_factory,
        trained_template,
    )

    dim = int(vectors.shape[1])
    factory = factory or sharded_factory(len(ids))
    if not can_shard(factory):
        step(f"index {factory}: an HNSW graph cannot be merged from shards; building it here")
        index = FaissIndex(dim=dim, factory=factory)
        index.add(list(ids), vectors)
        return index
    x = check_vectors(dim, vectors, "add", n_rows=len(ids), ids=ids)
    shard = shard or INDEX_SHARD
    parts = blocks(len(ids), shard)
    key = digest("index", factory, str(shard), x, ids)
    if work.has("index-template", key, 0):
        template = work.load("index-template", key, 0)
    else:
        template = trained_template(dim, factory, x)
        work.save("index-template", key, 0, template)
    done = work.done("index", key, len(parts))
    _resuming(step, "index", len(done), len(parts))
    shards: dict[int, np.ndarray] = {i: work.load("index", key, i) for i in done}
    if on_progress is not None:
        on_progress("index", len(shards), len(parts))
    pending = [i for i in range(len(parts)) if i not in shards]
    x_ref = x  # each task gets the template and its own rows only

    def one(a: int, b: int) -> np.ndarray:
        return build_shard(template, x_ref[a:b], a)

    for pos, blob in engine.imap_blocks(one, [parts[i] for i in pending]):
        i = pending[pos]
        work.save("index", key, i, blob)
        shards[i] = blob
        if on_progress is not None:
            on_progress("index", len(shards), len(parts))
    return merge_shards(dim, factory, template, [shards[i] for i in range(len(parts))], ids)
