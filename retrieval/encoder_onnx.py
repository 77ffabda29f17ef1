"""A fast CPU :class:`~retrieval.encoder.Encoder`: the sentence-transformers model exported
to ONNX, run by ONNX Runtime in float32 or int8, over batches of texts of one length.

:func:`export_onnx` writes a model folder (``model.onnx`` or ``model-int8.onnx``, the
tokenizer's ``tokenizer.json`` and ``encore_onnx.json``) from a loaded
``SentenceTransformer``: its transformer and pooling (mean or CLS) become one graph
exported by torch's own exporter (``torch.onnx.export``); int8 is ONNX Runtime's dynamic
quantisation of the weights, per channel. :class:`OnnxEncoder` loads such a folder without
torch: it tokenises with the ``tokenizers`` library, sorts the texts by token length so that
each batch pads little (:func:`length_batches`), runs the graph and L2-normalises, exactly as
the sentence-transformers encoder does (float32 vectors agree to a cosine above 0.9999).

Backends (:data:`BACKENDS`): ``torch`` (the sentence-transformers model itself), ``onnx``
(float32: the same vectors, Recall@200 1.000 against torch's) and ``onnx-int8`` (the fastest:
1.8x torch's items/s on 2 threads, 2.8x on one, on the demo catalog's texts; but about 0.992
cosine to the float vectors, which moves the top-200 neighbour lists of the dense demo
catalog by about 9%: Recall@200 0.91 against the float lists; see benchmarks/README.md).
``encore build`` exports the one its configuration names into the bundle's ``encoder/onnx/``
(:func:`retrieval.bundle.build_bundle`), and serving encodes requests with the same
backend, so query and item vectors share one space.

Example (not run by the tests, which use a tiny model: it loads the MiniLM weights):
    >>> from retrieval.encoder import load_encoder
    >>> folder = export_onnx(load_encoder().model, "/tmp/minilm-onnx",
    ...                      backend="onnx-int8")                          # doctest: +SKIP
    >>> OnnxEncoder(folder).encode(["Arrival (2016). Movie."]).shape       # doctest: +SKIP
    (1, 384)
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from retrieval.encoder import _normalise, check_texts, check_vectors
from retrieval.errors import DataError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["BACKENDS", "ONNX_DIR", "OnnxEncoder", "check_backend", "export_for_bundle",
           "export_onnx", "length_batches", "load_bundle_encoder", "onnx_model_file",
           "quantize_onnx", "usable_cores"]

log = logging.getLogger(__name__)

BACKENDS = ("torch", "onnx", "onnx-int8", "static")
"""Encoder backends a build can name (``BuildConfig.encoder_backend``); ``static`` is the
distilled model of :mod:`retrieval.encoder_static`."""
ONNX_DIR = "onnx"
"""The exported model's folder inside a bundle's ``encoder/`` folder."""
META_FILE = "encore_onnx.json"
_MODEL_FILES = {"onnx": "model.onnx", "onnx-int8": "model-int8.onnx"}
_POOLING = ("mean", "cls")
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_OPSET = 18
_FIX_BACKEND = "use encoder_backend 'torch' (the sentence-transformers model as is)"


def check_backend(name: str) -> str:
    """Return ``name`` if it is a backend of :data:`BACKENDS`.

    Raises:
        ValueError: any other name (the valid ones are listed).
    """
    if name not in BACKENDS:
        raise ValueError(f"unknown encoder backend {name!r}; valid: {', '.join(BACKENDS)} "
                         "(torch: the sentence-transformers model; onnx: ONNX Runtime, float32; "
                         "onnx-int8: ONNX Runtime, int8 weights; static: token vectors "
                         "distilled from the model, for very large catalogs)")
    return name


def onnx_model_file(folder: str | Path) -> Path | None:
    """The ONNX model inside an exported folder (``None`` when there is none)."""
    folder = Path(folder)
    meta = folder / META_FILE
    if not meta.is_file():
        return None
    try:
        name = json.loads(meta.read_text(encoding="utf-8"))["model_file"]
    except (ValueError, KeyError, TypeError):
        return None
    path = folder / str(name)
    return path if path.is_file() else None


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity, else the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


# -- batching by length -----------------------------------------------------------------


def length_batches(lengths: Sequence[int] | np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Positions of texts grouped into batches of about one token length.

    Texts are sorted by length (longest first, ties in input order, so the grouping is
    deterministic) and cut into batches of ``batch_size``: a batch pads to its longest text,
    so sorted batches pad little. Writing each batch's output rows back to its positions
    restores the input order exactly.

    Example:
        >>> [b.tolist() for b in length_batches([3, 9, 1, 9, 4], 2)]
        [[1, 3], [4, 0], [2]]
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    order = np.argsort(-np.asarray(lengths, dtype=np.int64), kind="stable")
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


# -- export -----------------------------------------------------------------------------


def _pooling_mode(model: SentenceTransformer) -> tuple[Any, str]:
    """The model's transformer (its Hugging Face model) and pooling mode, or a clear error
    for a layout the export does not cover (a Dense layer, max pooling...)."""
    modules = list(model)
    names = [type(m).__name__ for m in modules]
    fix = f"this model is {' + '.join(names)}; {_FIX_BACKEND}"
    if len(modules) < 2 or names[0] != "Transformer" or names[1] != "Pooling" or \
            any(n != "Normalize" for n in names[2:]):
        raise DataError("the ONNX export covers Transformer + Pooling (+ Normalize) models only",
                        field="encoder_backend", fix=fix)
    mode = str(getattr(modules[1], "pooling_mode", ""))
    if mode not in _POOLING:
        raise DataError(f"the ONNX export covers mean and CLS pooling, not {mode!r}",
                        field="encoder_backend", fix=fix)
    hf = getattr(modules[0], "auto_model", None) or getattr(modules[0], "model", None)
    if hf is None:
        raise DataError("the transformer module has no Hugging Face model to export",
                        field="encoder_backend", fix=fix)
    return hf, mode


def _pooled_graph(hf: Any, mode: str, inputs: tuple[str, ...]) -> Any:
    """A torch module: token ids -> the pooled sentence vector (not normalised), the
    computation of sentence-transformers' Transformer + Pooling modules."""
    import torch

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.hf = hf

        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            feats = dict(zip(inputs, tensors, strict=True))
            tokens = self.hf(**feats).last_hidden_state
            if mode == "cls":
                return tokens[:, 0]
            mask = feats["attention_mask"].unsqueeze(-1).to(tokens.dtype)
            return (tokens * mask).sum(1) / mask.sum(1).clamp(min=1e-9)

    return Pooled().eval()


def _torch_export(model: SentenceTransformer, path: Path) -> dict[str, Any]:
    """Export the pooled float32 graph to ``path``; what :class:`OnnxEncoder` needs to
    know about it."""
    import torch

    hf, mode = _pooling_mode(model)
    tokenizer: Any = model[0].tokenizer  # a transformers tokenizer
    inputs = tuple(n for n in _INPUTS if n in tokenizer.model_input_names)
    graph = _pooled_graph(hf, mode, inputs)
    device = next(hf.parameters()).device
    # Two texts of different lengths, so that neither axis is taken for a constant.
    sample = tokenizer(["an example text to trace", "short"], padding=True, return_tensors="pt")
    args = tuple(sample[n].to(device) for n in inputs)
    batch, seq = torch.export.Dim("batch"), torch.export.Dim("sequence")
    with torch.no_grad():
        torch.onnx.export(graph, args, str(path), input_names=list(inputs),
                          output_names=["sentence_embedding"], opset_version=_OPSET,
                          # one entry: the forward's *tensors, one shape per input
                          dynamic_shapes=(tuple({0: batch, 1: seq} for _ in inputs),),
                          dynamo=True, external_data=False, verbose=False)
    dim = int(hf.config.hidden_size)
    return {"inputs": list(inputs), "pooling": mode, "dim": dim,
            "max_seq_length": int(model.max_seq_length or 512),
            "pad_id": int(tokenizer.pad_token_id or 0), "pad_token": str(tokenizer.pad_token)}


def export_onnx(model: SentenceTransformer, folder: str | Path, *, backend: str = "onnx"
                ) -> Path:
    """Export a sentence-transformers model into ``folder`` for :class:`OnnxEncoder`.

    Writes ``model.onnx`` (``backend="onnx"``, float32) or ``model-int8.onnx``
    (``"onnx-int8"``: :func:`quantize_onnx` of the float export), ``tokenizer.json`` and
    ``encore_onnx.json`` (inputs, pooling, dimension, token limit). The model's own token
    limit (``max_seq_length``) is recorded and applied when encoding.

    Raises:
        DataError: a model the export does not cover (a Dense layer, max pooling, a
            tokenizer without a fast ``tokenizers`` backend), or a failed export; the fix
            is to keep the torch backend.
    """
    if check_backend(backend) == "torch":
        raise ValueError("backend 'torch' needs no export; pass 'onnx' or 'onnx-int8'")
    folder = Path(folder)
    fast = getattr(model[0].tokenizer, "backend_tokenizer", None)
    if fast is None:
        raise DataError("the model's tokenizer has no fast (tokenizers) version to export",
                        field="encoder_backend", fix=_FIX_BACKEND)
    with tempfile.TemporaryDirectory(prefix="encore-onnx-") as tmp:
        staged = Path(tmp)
        try:
            meta = _torch_export(model, staged / _MODEL_FILES["onnx"])
        except DataError:
            raise
        except Exception as exc:  # noqa: BLE001 — any exporter failure is one clear error
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise DataError(f"the ONNX export failed: {first}", field="encoder_backend",
                            fix=_FIX_BACKEND) from exc
        fast.save(str(staged / "tokenizer.json"))
        meta.update(model_file=_MODEL_FILES["onnx"], backend="onnx", opset=_OPSET)
        (staged / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        if backend == "onnx-int8":
            return quantize_onnx(staged, folder)
        folder.mkdir(parents=True, exist_ok=True)
        for name in (_MODEL_FILES["onnx"], "tokenizer.json", META_FILE):
            shutil.move(str(staged / name), folder / name)
    return folder


def quantize_onnx(source: str | Path, folder: str | Path) -> Path:
    """Write into ``folder`` the int8 version of the float export in ``source``
    (``model-int8.onnx``, its tokenizer and ``encore_onnx.json``).

    ONNX Runtime's dynamic quantisation: int8 weights with one scale per output channel
    (one scale per tensor lost up to 0.09 cosine on MiniLM item texts; per channel, 0.02 at
    worst, 0.008 on average), activations quantised per batch as they come. So an int8
    vector depends very slightly (about 1e-4) on the texts batched with it.

    Raises:
        DataError: ``source`` holds no float export.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    source, folder = Path(source), Path(folder)
    model_file = onnx_model_file(source)
    meta = json.loads((source / META_FILE).read_text("utf-8")) if model_file else {}
    if model_file is None or meta.get("backend") != "onnx":
        raise DataError("no float ONNX export here to quantise", path=source,
                        field="encoder_backend", fix="export one with export_onnx(backend='onnx')")
    folder.mkdir(parents=True, exist_ok=True)
    logging.disable(logging.WARNING)  # its advice to pre-process models is for CNNs
    try:
        quantize_dynamic(str(model_file), str(folder / _MODEL_FILES["onnx-int8"]),
                         weight_type=QuantType.QInt8, per_channel=True)
    finally:
        logging.disable(logging.NOTSET)
    if source.resolve() != folder.resolve():
        shutil.copyfile(source / "tokenizer.json", folder / "tokenizer.json")
    meta.update(model_file=_MODEL_FILES["onnx-int8"], backend="onnx-int8")
    (folder / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return folder


# -- the encoder ------------------------------------------------------------------------


class OnnxEncoder:
    """An :class:`~retrieval.encoder.Encoder` on a folder written by :func:`export_onnx`,
    run by ONNX Runtime on the CPU.

    Args:
        folder: The exported folder (a bundle's ``encoder/onnx``).
        batch_size: Texts per forward pass (batches are made of texts of about one length).
        threads: ONNX Runtime's intra-op threads (``None``: every usable core, the right
            choice for encoding a catalog; serving one short request at a time wants 1).
            Setting :attr:`threads` later re-creates the session on the next call.
        name: A display name (defaults to the folder).

    Raises:
        DataError: a folder without an exported model, or onnxruntime not installed.
    """

    def __init__(self, folder: str | Path, *, batch_size: int = 64, threads: int | None = None,
                 name: str | None = None) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        self.folder = Path(folder)
        model_file = onnx_model_file(self.folder)
        if model_file is None:
            raise DataError(f"no exported ONNX model here ({META_FILE} and the model it names)",
                            path=self.folder, field="encoder_backend",
                            fix="export one with retrieval.encoder_onnx.export_onnx, rebuild "
                                "the bundle, or use encoder_backend 'torch'")
        self.model_file = model_file
        self.meta: dict[str, Any] = json.loads((self.folder / META_FILE).read_text("utf-8"))
        self.backend = str(self.meta.get("backend", "onnx"))
        self.batch_size = int(batch_size)
        self.name = name or str(self.folder)
        self._threads = threads
        self._session: Any = None
        self._tokenizer: Any = None
        self._fingerprint: str | None = None

    @property
    def dim(self) -> int:
        """Length of every vector."""
        return int(self.meta["dim"])

    @property
    def max_seq_length(self) -> int:
        """Token limit per text (longer texts are truncated), the model's own at export."""
        return int(self.meta["max_seq_length"])

    @property
    def threads(self) -> int:
        """ONNX Runtime's intra-op threads (every usable core unless set)."""
        return self._threads if self._threads else usable_cores()

    @threads.setter
    def threads(self, value: int | None) -> None:
        if value is not None and value < 1:
            raise ValueError(f"threads must be a positive integer or None, got {value!r}")
        if value != self._threads:
            self._threads = value
            self._session = None  # ONNX Runtime fixes its thread pool when a session starts

    @property
    def model_key(self) -> str:
        """Identity of model, backend and token limit, for caches."""
        if self._fingerprint is None:
            h = hashlib.sha256()
            for path in (self.model_file, self.folder / "tokenizer.json"):
                with open(path, "rb") as fh:
                    for chunk in iter(lambda: fh.read(1 << 20), b""):
                        h.update(chunk)
            self._fingerprint = h.hexdigest()[:16]
        return f"{self.name}@{self._fingerprint}:{self.backend}:len{self.max_seq_length}"

    def _start(self) -> tuple[Any, Any]:
        if self._session is None:
            try:
                import onnxruntime as ort
            except ImportError:
                raise DataError("onnxruntime is not installed", field="encoder_backend",
                                fix="pip install 'onnxruntime>=1.20', or use encoder_backend "
                                    "'torch'") from None
            from tokenizers import Tokenizer

            opts = ort.SessionOptions()
            opts.intra_op_num_threads = self.threads
            opts.inter_op_num_threads = 1
            opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            opts.log_severity_level = 3  # errors only
            self._session = ort.InferenceSession(str(self.model_file), opts,
                                                 providers=["CPUExecutionProvider"])
            tok = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
            tok.no_padding()  # batches are padded here, to their own longest text
            tok.enable_truncation(self.max_seq_length)
            self._tokenizer = tok
        return self._session, self._tokenizer

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Encode ``texts`` into L2-normalised ``float32[len(texts), dim]``.

        Raises:
            ValueError: an empty or whitespace-only text, or a model that produced NaN.
        """
        items = check_texts(texts)
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        session, tok = self._start()
        encodings = tok.encode_batch(items, add_special_tokens=True)
        lengths = np.array([len(e.ids) for e in encodings])
        out = np.empty((len(items), self.dim), dtype=np.float32)
        pad = int(self.meta.get("pad_id", 0))
        names = list(self.meta["inputs"])
        for rows in length_batches(lengths, self.batch_size):
            width = int(lengths[rows].max())
            feeds = {n: np.full((len(rows), width), pad if n == "input_ids" else 0, np.int64)
                     for n in names}
            for r, i in enumerate(rows):
                e, n = encodings[i], lengths[i]
                feeds["input_ids"][r, :n] = e.ids
                feeds["attention_mask"][r, :n] = 1
                if "token_type_ids" in feeds:
                    feeds["token_type_ids"][r, :n] = e.type_ids
            out[rows] = session.run(None, feeds)[0]
        x = check_vectors(out, dim=self.dim, what=f"vectors from model {self.name!r}")
        return _normalise(x)

    def __getstate__(self) -> dict[str, Any]:
        # Sessions do not pickle; a copy sent to another process starts its own.
        return {**self.__dict__, "_session": None, "_tokenizer": None}

    def __repr__(self) -> str:
        return f"OnnxEncoder({self.name!r}, {self.backend}, dim={self.dim})"


# -- bundles ----------------------------------------------------------------------------


def export_for_bundle(encoder: Any, encoder_folder: Path, backend: str
                      ) -> tuple[OnnxEncoder, dict[str, Any]]:
    """Export a build's sentence-transformers encoder into ``encoder_folder/onnx``; the
    encoder to make the item vectors with and the manifest's ``encoder`` entries.

    Raises:
        DataError: the encoder is not a sentence-transformers one (nothing to export), or
            the export fails; the fix is to build with the torch backend.
    """
    model = getattr(encoder, "model", None)
    if model is None or not hasattr(model, "save"):
        raise DataError(f"encoder_backend {backend!r} exports a sentence-transformers model, "
                        f"and this encoder ({encoder!r}) is not one", field="encoder_backend",
                        fix=_FIX_BACKEND)
    folder = export_onnx(model, encoder_folder / ONNX_DIR, backend=backend)
    onnx = OnnxEncoder(folder, batch_size=int(getattr(encoder, "batch_size", 64)),
                       name=f"{getattr(encoder, 'name', 'encoder')} ({backend})")
    return onnx, {"backend": backend, "onnx": f"{encoder_folder.name}/{ONNX_DIR}"}


def load_bundle_encoder(root: Path, entry: dict[str, Any]) -> Any:
    """The query encoder of a bundle from its manifest's ``encoder`` entry: the backend its
    item vectors were made with, so that requests land in the same space.

    A bundle whose entry names an ONNX backend but lacks the exported model (removed, or
    copied without it), or a machine without onnxruntime, falls back to the torch model with
    a logged note: the vectors agree to about 0.99 cosine (int8) or exactly (float).
    """
    from retrieval.encoder import load_encoder

    backend = str(entry.get("backend", "torch"))
    if backend == "static":  # its own vector space (and dimension): no torch fallback
        from retrieval.encoder_static import STATIC_DIR, StaticEncoder

        folder = root / str(entry.get("static") or f"encoder/{STATIC_DIR}")
        return StaticEncoder.load(folder, name=f"{entry.get('model', 'encoder')} (static)")
    if backend != "torch":
        folder = root / str(entry.get("onnx") or f"encoder/{ONNX_DIR}")
        reason = None
        if onnx_model_file(folder) is None:
            reason = f"the exported model is missing from {folder}"
        else:
            try:
                import onnxruntime  # noqa: F401
            except ImportError:
                reason = "onnxruntime is not installed"
        if reason is None:
            return OnnxEncoder(folder, name=f"{entry.get('model', 'encoder')} ({backend})")
        log.warning("the bundle's encoder backend is %s, but %s: requests are encoded with "
                    "the torch model instead (fix: rebuild the bundle, or pip install "
                    "onnxruntime)", backend, reason)
    ref = root / entry["folder"] if entry.get("folder") else entry["model"]
    return load_encoder(ref, max_seq_length=entry.get("max_seq_length", 128))
