"""The bundle: one folder holding everything the assistant loads.

``manifest.json`` (format, versions, the pipeline configuration, counts, a sha256 per
file), the catalog (``catalog.jsonl``), the interactions it was built from
(``interactions.parquet``), the encoder (``encoder/`` when fine-tuned, else the model name
in the manifest), the item vectors (``item_vectors.npy``), the FAISS index (``index/``)
and, when trained, the ranker (``ranker/``: ``ranker/ranker/`` the model,
``ranker/stats/`` the statistics its features read, ``ranker/training.json`` its settings
and report) and, for generated users (the demo), ``users.jsonl``: one persona per user.
A bundle without a ranker (a log too small to learn from, or ``train_ranker=False``) says
why in its manifest (``"ranker": {"kind": "none", "reason": ...}``) and serves with the
untrained blend.

A bundle path holds immutable generations behind a ``CURRENT`` pointer
(:mod:`retrieval.bundle_store`): a build writes a new generation and swaps the pointer, so
a crash or an error mid-build leaves the previous bundle loadable, and loading never moves
anything. Loading checks the manifest and every checksum, and says how to fix a bundle that
does not match. The older flat layout (the files directly in the folder) still loads.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from retrieval.build_steps import BuildClock
from retrieval.bundle_personas import read_personas, save_personas
from retrieval.bundle_store import WORK, crash_point, file_sha256, resolve, write_generation
from retrieval.catalog import Catalog
from retrieval.config import BuildConfig, PipelineConfig, RetrieverConfig
from retrieval.errors import DataError
from retrieval.interactions import Interactions

if TYPE_CHECKING:
    from retrieval.dataset import Dataset
    from retrieval.distributed import BuildEngine
    from retrieval.encoder import Encoder
    from retrieval.index import FaissIndex
    from retrieval.parallel import MapBlocks
    from retrieval.ranker import Ranker
    from retrieval.retriever import Retriever
    from retrieval.stats import InteractionStats

__all__ = ["BUNDLE_FORMAT", "BUNDLE_VERSION", "MIN_RANKER_USERS", "Bundle", "SupportsBuildConfig",
           "build_bundle", "read_manifest"]

log = logging.getLogger(__name__)

BUNDLE_FORMAT = "encore-bundle"
BUNDLE_VERSION = 1
MANIFEST = "manifest.json"
_FIX = "rebuild it with `encore build`"
RANKER_DIR = "ranker"
USERS_FILE = "users.jsonl"
ENCODE_CHUNK = 64
"""Items encoded per progress report."""
# Fewer users than this give too few training lists for LambdaMART to learn anything that
# beats the blend (and a validation set of one or two users); the build then skips it.
MIN_RANKER_USERS = 20


def _file_table(root: Path) -> dict[str, dict[str, Any]]:
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        # Only the bundle's own manifest is left out, and a sharded build's shards.
        if p.is_file() and rel != MANIFEST and not rel.startswith(WORK + "/"):
            out[rel] = {"bytes": p.stat().st_size, "sha256": file_sha256(p)}
    return out


def _versions() -> dict[str, str]:
    from importlib import metadata

    out = {}
    for dist in ("encore-rec", "numpy", "faiss-cpu", "sentence-transformers", "torch", "lightgbm",
                 "onnxruntime"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return out


def read_manifest(path: str | Path) -> dict[str, Any]:
    """Read and check a bundle's manifest (format and version), without loading the rest.

    ``path`` is a bundle folder (its live generation is read) or one generation's folder.
    """
    mpath = resolve(path).folder / MANIFEST
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
    """A loaded bundle. Build one with :func:`build_bundle`; load one with :meth:`load`.

    ``path`` is the generation folder the files were read from (which later builds do not
    change); ``root`` is the bundle folder that was named.
    """

    path: Path
    manifest: dict[str, Any]
    catalog: Catalog
    interactions: Interactions
    item_ids: list[str]
    item_vectors: np.ndarray
    index: FaissIndex
    _encoder: Encoder | None = field(default=None, repr=False)
    _ranker: Ranker | None = field(default=None, repr=False)
    _stats: InteractionStats | None = field(default=None, repr=False)
    root: Path | None = None
    _personas: dict[str, str] | None = field(default=None, repr=False)

    @classmethod
    def load(cls, path: str | Path, *, verify: bool = True, mmap: bool = False) -> Bundle:
        """Load a bundle, checking the manifest and (``verify``) every file's checksum.

        ``mmap`` maps the item vectors and the FAISS index read-only instead of copying them
        into memory, so worker processes serving one bundle share their pages
        (:mod:`retrieval.index.persistence`).

        Reads only: follows the bundle's ``CURRENT`` pointer (or, when a killed build left
        none, the newest generation whose checksums match) and never moves anything.
        """
        import pandas as pd

        from retrieval.index import FaissIndex
        from retrieval.loaders.catalog import load_catalog

        root = Path(path)
        path = resolve(root).folder
        manifest = read_manifest(path)
        files = manifest.get("files", {})
        for rel, entry in files.items():
            p = path / rel
            if not p.is_file():
                raise DataError("file listed in the manifest is missing", path=p, fix=_FIX)
            if p.stat().st_size != entry["bytes"] or (verify and file_sha256(p) != entry["sha256"]):
                raise DataError("file does not match its checksum (corrupt or truncated)",
                                path=p, fix=_FIX)
        catalog = load_catalog(path / "catalog.jsonl")
        frame = pd.read_parquet(path / "interactions.parquet")
        interactions = Interactions(frame)
        item_ids = json.loads((path / "item_ids.json").read_text(encoding="utf-8"))
        vectors = np.load(path / "item_vectors.npy", mmap_mode="r" if mmap else None)
        if len(item_ids) != len(vectors) or len(item_ids) != len(catalog):
            raise DataError("item vectors do not match the catalog", path=path, fix=_FIX)
        # the index's files are in the table checked above: not read a second time here
        index = FaissIndex.load(path / "index", mmap=mmap, verify=False)
        return cls(path=path, manifest=manifest, catalog=catalog, interactions=interactions,
                   item_ids=item_ids, item_vectors=vectors, index=index, root=root)

    @property
    def personas(self) -> dict[str, str]:
        """User id -> persona ("crime and mystery fan") from ``users.jsonl`` (the demo's
        generated users); empty when the bundle has none."""
        if self._personas is None:
            self._personas = read_personas(self.path / USERS_FILE, fix=_FIX)
        return self._personas

    @property
    def stage(self) -> str | None:
        """``"quick"`` for a generation served while a fuller one is built (the base encoder,
        no trained ranker), ``"tuned"`` for that fuller one, ``None`` for other builds."""
        return self.manifest.get("stage")

    @property
    def synthetic(self) -> bool:
        return bool(self.manifest["dataset"]["synthetic"])

    @property
    def has_ranker(self) -> bool:
        """Whether the build trained a ranker (else ``manifest["ranker"]["reason"]`` says why)."""
        return (self.path / RANKER_DIR / "ranker" / "manifest.json").is_file()

    @property
    def ranker(self) -> Ranker | None:
        """The trained ranker (loaded on first use), or ``None`` when the build trained none.

        Raises:
            DataError, FeatureMismatch: a damaged ranker folder, or one trained on another
                feature schema (rebuild the bundle).
        """
        if self._ranker is None and self.has_ranker:
            from retrieval.ranker import load_ranker

            self._ranker = load_ranker(self.path / RANKER_DIR / "ranker")
        return self._ranker

    @property
    def stats(self) -> InteractionStats | None:
        """The interaction statistics saved with the ranker (loaded on first use), or
        ``None`` when there are none (build them with ``InteractionStats.build``)."""
        folder = self.path / RANKER_DIR / "stats"
        if self._stats is None and (folder / "stats.json").is_file():
            from retrieval.stats import InteractionStats

            self._stats = InteractionStats.load(folder)
        return self._stats

    @property
    def ranker_training(self) -> dict[str, Any] | None:
        """``ranker/training.json``: the ranker's training settings and report, or ``None``."""
        path = self.path / RANKER_DIR / "training.json"
        if not path.is_file():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise DataError(f"training.json is not valid JSON ({exc})", path=path,
                            fix=_FIX) from None

    @property
    def encoder(self) -> Encoder:
        """The encoder the item vectors were made with (loaded on first use)."""
        if self._encoder is None:
            from retrieval.encoder_onnx import load_bundle_encoder

            self._encoder = load_bundle_encoder(self.path, self.manifest["encoder"])
        return self._encoder

    @property
    def pipeline_config(self) -> PipelineConfig:
        """The pipeline configuration the bundle was built with (``manifest["pipeline"]``;
        a bundle from before it was recorded: its ranker's training settings where they
        say, else the defaults)."""
        recorded = self.manifest.get("pipeline")
        if recorded is not None:
            try:
                return PipelineConfig.model_validate(recorded)
            except ValueError as exc:
                raise DataError(f"the pipeline settings in the manifest are invalid ({exc})",
                                path=self.path / MANIFEST, field="pipeline", fix=_FIX) from None
        info = self.ranker_training if self.has_ranker else None
        return _legacy_pipeline((info or {}).get("config") or {})

    def retriever(self, config: RetrieverConfig | None = None) -> Retriever:
        """A :class:`~retrieval.retriever.Retriever` over this bundle's index, with the
        weights of ``config`` (default: the bundle's own, :attr:`pipeline_config`)."""
        from retrieval.retriever import Retriever, popularity_counts

        c = config or self.pipeline_config.retrieval
        pop = popularity_counts(self.interactions, self.item_ids) if c.popularity_weight else None
        return Retriever.from_config(self.encoder, self.item_ids, self.item_vectors, c,
                                     index=self.index, catalog=self.catalog, item_popularity=pop)


def _legacy_pipeline(old: dict[str, Any]) -> PipelineConfig:
    """A :class:`PipelineConfig` from the flat training settings older bundles saved."""
    sections = {"retrieval": {"n_candidates": old.get("n_candidates"),
                              "collaborative": old.get("collaborative"),
                              **(old.get("retriever") or {})},
                "stats": {k: old.get(k) for k in ("min_rating", "recent_days", "ease_l2",
                                                  "knn_neighbours")},
                "features": {k: old.get(k) for k in ("last_k", "dislike_rating")},
                "ranker": {"kind": old.get("ranker"), "drop_groups": old.get("drop_groups")},
                "training": {k: old.get(k) for k in ("cuts", "horizon", "min_history",
                                                     "valid_fraction", "seed")}}
    fields = PipelineConfig.model_fields
    clean = {s: {k: v for k, v in vals.items()
                 if v is not None and k in fields[s].annotation.model_fields}  # type: ignore[union-attr]
             for s, vals in sections.items()}
    return PipelineConfig.model_validate(clean)


Step = Callable[[str], None]
Progress = Callable[[str, int, int], None]
"""``(what, done, total)``: ``"finetune"`` steps, ``"encode"`` items, ``"ranker"`` (0, then 1
of 1) as a build goes."""


class SupportsBuildConfig(Protocol):
    """Anything that can say what a build needs (``assistant.settings.Settings`` does)."""

    def build_config(self) -> BuildConfig: ...


def _ranker_skip_reason(dataset: Dataset, config: PipelineConfig) -> str | None:
    n_log = len(dataset.interactions)
    if n_log == 0:
        return "the data set has no interactions to learn from"
    users = dataset.interactions.n_users
    if users < MIN_RANKER_USERS:
        return (f"only {users} users in the interactions; the ranker needs at least "
                f"{MIN_RANKER_USERS} with more than {config.training.min_history} items each")
    return None


def _train_bundle_ranker(dataset: Dataset, vectors: np.ndarray, encoder: Encoder,
                         config: PipelineConfig, folder: Path,
                         map_blocks: MapBlocks | None = None) -> dict[str, Any]:
    """Train and save the ranker into ``folder``; the manifest's ``ranker`` entry."""
    from retrieval.features import FeatureMismatch
    from retrieval.train_ranker import train_ranker as fit

    reason = _ranker_skip_reason(dataset, config)
    if reason is None:
        try:
            trained = fit(dataset.interactions, dataset.catalog, vectors, encoder=encoder,
                          config=config, map_blocks=map_blocks)
        except FeatureMismatch:
            raise
        except ValueError as exc:  # too few usable queries, nothing to learn from
            reason = str(exc)
    if reason is not None:
        log.warning("ranker not trained: %s; the bundle serves with the blend ranker", reason)
        return {"kind": "none", "reason": reason}
    trained.save(folder)
    rep = trained.report
    return {"kind": config.ranker.kind, "folder": RANKER_DIR,
            "rounds": rep.get("rounds", 0), "valid_ndcg@10": rep.get("valid_ndcg@10"),
            "train_queries": rep["counts"].get("train queries", 0),
            "valid_queries": rep["counts"].get("valid queries", 0),
            "candidate_recall": rep["candidate_recall"].get("any", 0.0),
            "seconds": rep.get("seconds")}


def _prepare_encoder(dataset: Dataset, tmp: Path, config: BuildConfig, encoder: Encoder | None,
                     *, finetune: bool, epochs: int, max_pairs: int | None, progress: bool,
                     step: Step, on_progress: Progress | None = None,
                     max_seq_length: int = 128) -> tuple[Encoder, dict[str, Any]]:
    """The encoder the item vectors come from (given, fine-tuned here into ``tmp/encoder``,
    or the base model) and the manifest's ``encoder`` entry."""
    from retrieval.encoder import load_encoder

    enc_meta: dict[str, Any] = {"model": config.encoder_model, "folder": None,
                                "finetuned": False, "max_seq_length": max_seq_length}
    if encoder is not None and hasattr(getattr(encoder, "model", None), "save"):
        # Save the encoder given, so the bundle loads the model its vectors came from.
        encoder.model.save(str(tmp / "encoder"), create_model_card=False)  # type: ignore[attr-defined]
        enc_meta.update(model=str(getattr(encoder, "name", enc_meta["model"])),
                        folder="encoder",
                        max_seq_length=int(getattr(encoder, "max_seq_length", 128)))
    elif encoder is not None:
        enc_meta.update(model=repr(encoder), saved=False)
    if encoder is None and finetune and len(dataset.interactions):
        from retrieval.finetune import MiningConfig, TrainingConfig, finetune_encoder

        step("fine-tuning the encoder on the interactions (contrastive, CPU)")
        mining = MiningConfig() if max_pairs is None else MiningConfig(max_pairs=max_pairs)
        result = finetune_encoder(
            dataset, tmp / "encoder", base_model=config.encoder_model,
            holdout="none", mining=mining,
            training=TrainingConfig(epochs=epochs, seed=config.seed),
            progress=progress,
            on_step=(lambda done, total: on_progress("finetune", done, total))
            if on_progress is not None else None,
        )
        enc_meta.update(folder="encoder", finetuned=True, steps=result.steps)
    if encoder is None:
        ref = tmp / "encoder" if enc_meta["folder"] else config.encoder_model
        encoder = load_encoder(ref, max_seq_length=enc_meta["max_seq_length"],
                               show_progress_bar=progress)
    enc_meta["backend"] = config.encoder_backend
    if config.encoder_backend == "static":
        from retrieval.encoder_static import distill_for_bundle

        step("distilling the encoder into static token vectors")
        encoder, static_meta = distill_for_bundle(encoder, tmp / "encoder")
        enc_meta.update(static_meta)
    elif config.encoder_backend != "torch":
        from retrieval.encoder_onnx import export_for_bundle

        step(f"exporting the encoder to ONNX ({config.encoder_backend})")
        encoder, onnx_meta = export_for_bundle(encoder, tmp / "encoder",
                                               config.encoder_backend)
        enc_meta.update(onnx_meta)
    return encoder, enc_meta


def _save_data(dataset: Dataset, tmp: Path) -> None:
    from retrieval.loaders.catalog import save_catalog_jsonl

    save_catalog_jsonl(dataset.catalog, tmp / "catalog.jsonl")
    frame = dataset.interactions.df.copy()
    for col in ("user_id", "item_id", "event"):
        frame[col] = frame[col].astype(str)
    frame.to_parquet(tmp / "interactions.parquet", index=False)
    save_personas(dataset, tmp / USERS_FILE)
    crash_point("data-written")


def _ranker_entry(dataset: Dataset, vectors: np.ndarray, encoder: Encoder, build: BuildConfig,
                  tmp: Path, *, train: bool, step: Step, on_progress: Progress | None,
                  engine: BuildEngine | None = None) -> dict[str, Any]:
    """Train the ranker into ``tmp`` when asked; the manifest's ``ranker`` entry."""
    if not train:
        return {"kind": "none", "reason": "not requested (train_ranker=False)"}
    step(f"training the {build.pipeline.ranker.kind} ranker on "
         f"{len(dataset.interactions)} interactions")
    if on_progress is not None:
        on_progress("ranker", 0, 1)
    entry = _train_bundle_ranker(dataset, vectors, encoder, build.pipeline, tmp / RANKER_DIR,
                                 map_blocks=None if engine is None else engine.map_blocks)
    if on_progress is not None:
        on_progress("ranker", 1, 1)
    return entry


def _encode_items(dataset: Dataset, encoder: Encoder, on_progress: Progress | None
                  ) -> np.ndarray:
    """The catalog's item vectors, in chunks so that a long encoding reports its progress."""
    from retrieval.encoder import item_text

    texts = [item_text(it) for it in dataset.catalog]
    if on_progress is None:
        return encoder.encode(texts)
    # Chunks of texts of about one length, so that no chunk pads short texts to a long one.
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    vectors: np.ndarray | None = None
    on_progress("encode", 0, len(texts))
    for start in range(0, len(texts), ENCODE_CHUNK):
        rows = order[start:start + ENCODE_CHUNK]
        part = encoder.encode([texts[i] for i in rows])
        if vectors is None:
            vectors = np.zeros((len(texts), part.shape[1]), dtype=np.float32)
        vectors[rows] = part
        on_progress("encode", min(start + ENCODE_CHUNK, len(texts)), len(texts))
    assert vectors is not None  # noqa: S101 (the catalog is not empty)
    return vectors


def _encode_and_index(dataset: Dataset, encoder: Encoder, enc_meta: dict[str, Any],
                      build: BuildConfig, tmp: Path, step: Step, clock: BuildClock,
                      report: Progress, engine: BuildEngine | None = None
                      ) -> tuple[np.ndarray, FaissIndex]:
    """Encode the catalog and build the FAISS index into ``tmp``, each a timed step: on
    ``engine`` in resumable shards (:mod:`retrieval.distributed.build`); else the catalog in
    one call when nobody listens to the clock, in chunks that report progress when one does.
    """
    from retrieval.distributed.build import engine_vectors, sharded_index, work_store
    from retrieval.index import FaissIndex

    step(f"encoding {len(dataset.catalog)} items"
         + ("" if engine is None else f" on {engine.describe()}"))
    with clock.step("encode"):
        if engine is None:
            vectors = _encode_items(dataset, encoder, report if clock.listening else None)
        else:
            vectors = engine_vectors(engine, dataset.catalog, encoder, enc_meta, tmp,
                                     step=step, on_progress=report)
        np.save(tmp / "item_vectors.npy", vectors)
        (tmp / "item_ids.json").write_text(json.dumps(dataset.catalog.ids), encoding="utf-8")
    step("building the FAISS index" + ("" if engine is None else " in shards"))
    with clock.step("index"):
        if engine is None:
            index = FaissIndex(dim=int(vectors.shape[1]), factory=build.index_factory)
            index.add(dataset.catalog.ids, vectors)
        else:
            index = sharded_index(engine, dataset.catalog.ids, vectors, build.index_factory,
                                  work_store(tmp), step=step, on_progress=report)
        index.save(tmp / "index")
    return vectors, index


def _manifest(dataset: Dataset, build: BuildConfig, enc_meta: dict[str, Any], dim: int,
              index: FaissIndex, ranker_meta: dict[str, Any], started: float, tmp: Path,
              *, stage: str | None = None) -> dict[str, Any]:
    extra: dict[str, Any] = {} if stage is None else {"stage": stage}
    if (tmp / USERS_FILE).is_file():
        extra["users_file"] = USERS_FILE
    return {**extra,
        "format": BUNDLE_FORMAT,
        "format_version": BUNDLE_VERSION,
        "created_unix": int(time.time()),
        "build_seconds": round(time.time() - started, 1),
        "versions": _versions(),
        "dataset": {"name": dataset.name, "source": dataset.source,
                    "synthetic": dataset.synthetic, "items": len(dataset.catalog),
                    "interactions": len(dataset.interactions),
                    "users": dataset.interactions.n_users},
        "encoder": {**enc_meta, "dim": dim},
        "index": {"factory": index.factory, "count": len(index)},
        "ranker": ranker_meta,
        # Only what shapes the recommendations: never the llm, ui or store sections (an
        # API key must not travel with a bundle).
        "pipeline": build.pipeline.model_dump(mode="json"),
        "files": _file_table(tmp),
    }


def _check_not_empty(dataset: Dataset) -> None:
    if len(dataset.catalog) == 0:
        raise DataError("the catalog is empty", path=dataset.source or None,
                        fix="load a catalog with at least one item")


def build_bundle(
    dataset: Dataset,
    out: str | Path,
    config: BuildConfig | SupportsBuildConfig | None = None,
    *,
    finetune: bool = True,
    epochs: int = 1,
    max_pairs: int | None = None,
    progress: bool = True,
    on_step: Step | None = None,
    encoder: Encoder | None = None,
    train_ranker: bool = True,
    pipeline: PipelineConfig | None = None,
    stage: str | None = None,
    on_progress: Progress | None = None,
    max_seq_length: int = 128,
    clock: BuildClock | None = None,
    engine: BuildEngine | None = None,
) -> Path:
    """Build a bundle from a data set: fine-tune the encoder on its interactions (unless
    ``finetune`` is False), encode the catalog, build the FAISS index, train the ranker on
    the whole log (unless ``train_ranker`` is False, or the log is too small: the manifest
    then says why), and write it all atomically to ``out``, with the pipeline settings
    (``"pipeline"`` in the manifest, read back when serving).

    Args:
        dataset: Catalog and interactions.
        out: Bundle folder: a new generation goes live on success; a failure or a crash
            leaves the live one (the next build removes what a crash left).
        config: Encoder model, index factory, seed and pipeline settings (a
            :class:`~retrieval.config.BuildConfig`, or an object with ``build_config()``
            such as ``assistant.settings.Settings``; default: the defaults).
        finetune: Fine-tune the base encoder on the data set's interactions.
        epochs: Fine-tuning epochs.
        max_pairs: Cap on mined training pairs (None: the miner's default).
        progress: Show progress bars. ``on_progress``: called as steps and items advance.
        on_step: Called with a short description as each step starts.
        encoder: Use this encoder as is (tests pass tiny models; no fine-tuning; a
            sentence-transformers one is saved into ``encoder/``).
        train_ranker: Train the learned ranker after encoding.
        pipeline: The pipeline settings, over ``config.pipeline``.
        stage: The manifest's ``"stage"`` (``"quick"``/``"tuned"``: retrieval.demo.build).
        max_seq_length: The encoder's token limit (items and queries).
        clock: Times each step and estimates the time left (its listener shows progress;
            ``encore build`` passes one that also timed loading the data); the manifest's
            ``build_steps`` lists each step's seconds and peak memory.
        engine: A started :class:`~retrieval.distributed.BuildEngine` (e.g. Ray) to run the
            long steps on, in shards a killed build resumes from (``None``: one process).
    """
    build = config if isinstance(config, BuildConfig) else (
        BuildConfig() if config is None else config.build_config())
    build = build if pipeline is None else build.model_copy(update={"pipeline": pipeline})
    step = on_step or (lambda msg: log.info("%s", msg))
    out = Path(out)
    started = time.time()
    _check_not_empty(dataset)
    clock = clock or BuildClock()
    report = clock.forward(on_progress)  # records each step's progress, then passes it on
    with write_generation(out) as tmp:
        step(f"saving the catalog ({len(dataset.catalog)} items) and interactions")
        with clock.step("save data"):
            _save_data(dataset, tmp)
        with clock.step("encoder"):
            encoder, enc_meta = _prepare_encoder(
                dataset, tmp, build, encoder, finetune=finetune, epochs=epochs,
                max_pairs=max_pairs, progress=progress, step=step, on_progress=report,
                max_seq_length=max_seq_length)
        vectors, index = _encode_and_index(dataset, encoder, enc_meta, build, tmp, step, clock,
                                           report, engine)
        with clock.step("ranker"):
            ranker_meta = _ranker_entry(dataset, vectors, encoder, build, tmp, train=train_ranker,
                                        step=step, on_progress=report, engine=engine)
        with clock.step("manifest"):
            manifest = _manifest(dataset, build, enc_meta, int(vectors.shape[1]), index,
                                 ranker_meta, started, tmp, stage=stage)
        # Every step's wall time and peak memory, so that the next bottleneck is visible.
        manifest["build_steps"] = clock.records()
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        crash_point("manifest-written")
    return out
