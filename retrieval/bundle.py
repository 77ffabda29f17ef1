"""The bundle: one folder holding everything the assistant loads.

``manifest.json`` (format, versions, settings, counts, a sha256 per file), the catalog
(``catalog.jsonl``), the interactions it was built from (``interactions.parquet``), the
encoder (``encoder/`` when fine-tuned, else the model name in the manifest), the item
vectors (``item_vectors.npy``), the FAISS index (``index/``) and, when trained, the ranker
(``ranker/``).

A build writes into a temporary folder and swaps it in whole (:func:`retrieval.io.atomic_dir`),
so a crash or an error mid-build leaves the previous bundle loadable. Loading checks the
manifest and every checksum, and says how to fix a bundle that does not match.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from retrieval.catalog import Catalog
from retrieval.errors import DataError
from retrieval.interactions import Interactions
from retrieval.io import atomic_dir, recover_interrupted_swap

if TYPE_CHECKING:
    from assistant.settings import Settings
    from retrieval.dataset import Dataset
    from retrieval.encoder import Encoder
    from retrieval.index import FaissIndex
    from retrieval.retriever import Retriever

__all__ = ["BUNDLE_FORMAT", "BUNDLE_VERSION", "Bundle", "build_bundle", "read_manifest"]

log = logging.getLogger(__name__)

BUNDLE_FORMAT = "encore-bundle"
BUNDLE_VERSION = 1
MANIFEST = "manifest.json"
_FIX = "rebuild it with `encore build`"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _file_table(root: Path) -> dict[str, dict[str, Any]]:
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.name != MANIFEST:
            out[p.relative_to(root).as_posix()] = {"bytes": p.stat().st_size, "sha256": _sha256(p)}
    return out


def _versions() -> dict[str, str]:
    from importlib import metadata

    out = {}
    for dist in ("encore-rec", "numpy", "faiss-cpu", "sentence-transformers", "torch", "lightgbm"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return out


def read_manifest(path: str | Path) -> dict[str, Any]:
    """Read and check a bundle's manifest (format and version), without loading the rest."""
    path = Path(path)
    recover_interrupted_swap(path)
    mpath = path / MANIFEST
    if not path.is_dir():
        raise DataError("bundle folder not found", path=path,
                        fix="build one with `encore build` (or `encore demo`), or check the path")
    if not mpath.is_file():
        raise DataError("no manifest.json: not a bundle, or a build that never finished",
                        path=path, fix=_FIX)
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"manifest is not valid JSON ({exc})", path=mpath, fix=_FIX) from None
    if manifest.get("format") != BUNDLE_FORMAT:
        raise DataError(f"not an Encore bundle (format {manifest.get('format')!r})", path=mpath,
                        field="format", fix=_FIX)
    if manifest.get("format_version") != BUNDLE_VERSION:
        raise DataError(
            f"bundle format version {manifest.get('format_version')} is not the supported "
            f"{BUNDLE_VERSION}", path=mpath, field="format_version",
            fix="rebuild it with this version of Encore (`encore build`)")
    return manifest


@dataclass
class Bundle:
    """A loaded bundle. Build one with :func:`build_bundle`; load one with :meth:`load`."""

    path: Path
    manifest: dict[str, Any]
    catalog: Catalog
    interactions: Interactions
    item_ids: list[str]
    item_vectors: np.ndarray
    index: FaissIndex
    _encoder: Encoder | None = field(default=None, repr=False)

    @classmethod
    def load(cls, path: str | Path, *, verify: bool = True) -> Bundle:
        """Load a bundle, checking the manifest and (``verify``) every file's checksum."""
        import pandas as pd

        from retrieval.index import FaissIndex
        from retrieval.loaders.catalog import load_catalog

        path = Path(path)
        manifest = read_manifest(path)
        files = manifest.get("files", {})
        for rel, entry in files.items():
            p = path / rel
            if not p.is_file():
                raise DataError("file listed in the manifest is missing", path=p, fix=_FIX)
            if p.stat().st_size != entry["bytes"] or (verify and _sha256(p) != entry["sha256"]):
                raise DataError("file does not match its checksum (corrupt or truncated)",
                                path=p, fix=_FIX)
        catalog = load_catalog(path / "catalog.jsonl")
        frame = pd.read_parquet(path / "interactions.parquet")
        interactions = Interactions(frame)
        item_ids = json.loads((path / "item_ids.json").read_text(encoding="utf-8"))
        vectors = np.load(path / "item_vectors.npy")
        if len(item_ids) != len(vectors) or len(item_ids) != len(catalog):
            raise DataError("item vectors do not match the catalog", path=path, fix=_FIX)
        index = FaissIndex.load(path / "index")
        return cls(path=path, manifest=manifest, catalog=catalog, interactions=interactions,
                   item_ids=item_ids, item_vectors=vectors, index=index)

    @property
    def synthetic(self) -> bool:
        return bool(self.manifest["dataset"]["synthetic"])

    @property
    def encoder(self) -> Encoder:
        """The encoder the item vectors were made with (loaded on first use)."""
        if self._encoder is None:
            from retrieval.encoder import load_encoder

            enc = self.manifest["encoder"]
            ref = self.path / enc["folder"] if enc.get("folder") else enc["model"]
            self._encoder = load_encoder(ref, max_seq_length=enc.get("max_seq_length", 128))
        return self._encoder

    def retriever(self, settings: Settings | None = None) -> Retriever:
        """A :class:`~retrieval.retriever.Retriever` over this bundle's index."""
        from assistant.settings import Settings
        from retrieval.retriever import Retriever, popularity_counts

        s = (settings or Settings()).retrieval
        pop_w = s.popularity_weight
        return Retriever(
            self.encoder, self.item_ids, self.item_vectors, index=self.index, catalog=self.catalog,
            n_candidates=s.n_candidates, request_weight=s.request_weight,
            recency_half_life=s.recency_half_life, dislike_weight=s.dislike_weight,
            dislike_rating=s.dislike_rating, max_history=s.max_history,
            item_popularity=popularity_counts(self.interactions, self.item_ids) if pop_w else None,
            popularity_weight=pop_w,
        )


Step = Callable[[str], None]


def build_bundle(
    dataset: Dataset,
    out: str | Path,
    settings: Settings,
    *,
    finetune: bool = True,
    epochs: int = 1,
    max_pairs: int | None = None,
    progress: bool = True,
    on_step: Step | None = None,
    encoder: Encoder | None = None,
) -> Path:
    """Build a bundle from a data set: fine-tune the encoder on its interactions (unless
    ``finetune`` is False), encode the catalog, build the FAISS index, and write it all
    atomically to ``out``.

    Args:
        dataset: Catalog and interactions.
        out: Bundle folder; replaced whole on success, untouched on failure.
        settings: Encoder model, index factory and seed come from here.
        finetune: Fine-tune the base encoder on the data set's interactions.
        epochs: Fine-tuning epochs.
        max_pairs: Cap on mined training pairs (None: the miner's default).
        progress: Show progress bars.
        on_step: Called with a short description as each step starts.
        encoder: Use this encoder as is (tests pass tiny models); skips fine-tuning.
    """
    from retrieval.encoder import item_text, load_encoder
    from retrieval.index import FaissIndex
    from retrieval.loaders.catalog import save_catalog_jsonl

    step = on_step or (lambda msg: log.info("%s", msg))
    out = Path(out)
    started = time.time()
    if len(dataset.catalog) == 0:
        raise DataError("the catalog is empty", path=dataset.source or None,
                        fix="load a catalog with at least one item")
    with atomic_dir(out) as tmp:
        step(f"saving the catalog ({len(dataset.catalog)} items) and interactions")
        save_catalog_jsonl(dataset.catalog, tmp / "catalog.jsonl")
        frame = dataset.interactions.df.copy()
        for col in ("user_id", "item_id", "event"):
            frame[col] = frame[col].astype(str)
        frame.to_parquet(tmp / "interactions.parquet", index=False)

        enc_meta: dict[str, Any] = {"model": settings.retrieval.encoder_model, "folder": None,
                                    "finetuned": False, "max_seq_length": 128}
        if encoder is None and finetune and len(dataset.interactions):
            from retrieval.finetune import MiningConfig, TrainingConfig, finetune_encoder

            step("fine-tuning the encoder on the interactions (contrastive, CPU)")
            mining = MiningConfig() if max_pairs is None else MiningConfig(max_pairs=max_pairs)
            result = finetune_encoder(
                dataset, tmp / "encoder", base_model=settings.retrieval.encoder_model,
                holdout="none", mining=mining,
                training=TrainingConfig(epochs=epochs, seed=settings.data.seed),
                progress=progress,
            )
            enc_meta.update(folder="encoder", finetuned=True, steps=result.steps)
        if encoder is None:
            ref = tmp / "encoder" if enc_meta["folder"] else settings.retrieval.encoder_model
            encoder = load_encoder(ref, max_seq_length=enc_meta["max_seq_length"],
                                   show_progress_bar=progress)
        step(f"encoding {len(dataset.catalog)} items")
        ids = dataset.catalog.ids
        vectors = encoder.encode([item_text(it) for it in dataset.catalog])
        np.save(tmp / "item_vectors.npy", vectors)
        (tmp / "item_ids.json").write_text(json.dumps(ids), encoding="utf-8")

        step("building the FAISS index")
        index = FaissIndex(dim=int(vectors.shape[1]), factory=settings.retrieval.index_factory)
        index.add(ids, vectors)
        index.save(tmp / "index")

        manifest = {
            "format": BUNDLE_FORMAT,
            "format_version": BUNDLE_VERSION,
            "created_unix": int(time.time()),
            "build_seconds": round(time.time() - started, 1),
            "versions": _versions(),
            "dataset": {"name": dataset.name, "source": dataset.source,
                        "synthetic": dataset.synthetic, "items": len(dataset.catalog),
                        "interactions": len(dataset.interactions),
                        "users": dataset.interactions.n_users},
            "encoder": {**enc_meta, "dim": int(vectors.shape[1])},
            "index": {"factory": index.factory, "count": len(index)},
            "settings": json.loads(settings.model_dump_json()),
            "files": _file_table(tmp),
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return out
