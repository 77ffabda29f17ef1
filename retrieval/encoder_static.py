"""A static (distilled) :class:`~retrieval.encoder.Encoder`: one vector per vocabulary
token, made from the bundle's own transformer, averaged over a text's tokens.

This is model2vec's distillation (Tulkens and van Dongen, 2024), written here because its
``model2vec[distill]`` extra pins ``transformers<5.4`` while Encore runs a newer one:

1. every token of the model's vocabulary is run through the transformer alone, as
   ``[CLS] token [SEP]``, and pooled as the model pools a sentence (:func:`token_vectors`);
2. the token vectors are centred and rotated onto their principal axes, keeping
   ``pca_dims`` of them (:func:`distill_vectors`); centring removes the direction every
   token shares, which would otherwise dominate a mean of tokens;
3. each token's vector is scaled by its SIF weight ``a / (a + p)``, where ``p`` is the
   token's probability under Zipf's law over the vocabulary's order (WordPiece vocabularies
   list words roughly by frequency), so frequent tokens ("the", ",") weigh little.

The result runs as sentence-transformers' ``StaticEmbedding`` module (an ``EmbeddingBag``
taking the mean of a text's token vectors, over the model's own tokenizer without special
tokens) followed by L2 normalisation, with no token limit. Measured side by side on 2
shared cores (benchmarks/README.md, "Encoder"; load average 7-11): 1,069-2,676 items/s on
the demo catalog's long texts and 8,649-24,457 on ml-latest-small's short ones, against 9
and 54 for the torch MiniLM (the tokeniser is now the whole cost). The price is quality,
because word order and context are gone. Task Recall@200 on ml-100k against the float
model: -19.2% (± 5.1%) on leave-one-out history retrieval, +6.5% (± 2.7%) on
conversational requests, and the top-200 lists agree with the float model's by only
0.37-0.47. It misses the issue's 1% bar, so ``static`` is an opt-in backend for catalogs
too large to encode otherwise (a million items in minutes rather than hours), and
``torch`` stays the default.

``encore build`` with ``retrieval.encoder_backend = "static"`` distils the build's encoder
(the base or fine-tuned MiniLM) into the bundle's ``encoder/static/`` (60-120 s of
transformer passes over its 30,522 tokens on two loaded cores), encodes the catalog with
it, and serving encodes requests with the same vectors, so queries and items share one
space (256-d rather than 384).

Example (not run by the tests, which use a tiny model: it loads the MiniLM weights):
    >>> from retrieval.encoder import load_encoder
    >>> folder = distill_static(load_encoder().model, "/tmp/minilm-static")  # doctest: +SKIP
    >>> StaticEncoder.load(folder).encode(["Arrival (2016). Movie."]).shape  # doctest: +SKIP
    (1, 256)
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from retrieval.encoder import _normalise, check_texts, check_vectors
from retrieval.errors import DataError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["STATIC_DIR", "DistillConfig", "StaticEncoder", "distill_for_bundle",
           "distill_static", "distill_vectors", "token_vectors"]

STATIC_DIR = "static"
"""The distilled model's folder inside a bundle's ``encoder/`` folder."""
META_FILE = "encore_static.json"
_UNUSED = re.compile(r"^\[unused\d+\]$")  # BERT's placeholder tokens: never in any text
_FIX = "use encoder_backend 'torch' (the sentence-transformers model as is)"
_CHUNK = 8192  # texts per tokeniser call: the Rust tokeniser parallelises within a call


@dataclass(frozen=True)
class DistillConfig:
    """How :func:`distill_static` turns a transformer into static token vectors.

    Attributes:
        pca_dims: Dimensions kept after PCA (model2vec's default, 256); ``None`` keeps the
            model's own (the rotation and centring still apply).
        sif_coefficient: ``a`` of the SIF weight ``a / (a + p)`` (model2vec's default,
            1e-4); ``None`` weighs every token alike.
        batch_size: Tokens per transformer pass while distilling.
    """

    pca_dims: int | None = 256
    sif_coefficient: float | None = 1e-4
    batch_size: int = 512

    def __post_init__(self) -> None:
        if self.pca_dims is not None and self.pca_dims < 1:
            raise ValueError(f"pca_dims must be a positive integer or None, got {self.pca_dims!r}")
        if self.sif_coefficient is not None and not 0 < self.sif_coefficient < 1:
            raise ValueError("sif_coefficient must lie strictly between 0 and 1 (or be None), "
                             f"got {self.sif_coefficient!r}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {self.batch_size!r}")


# -- distillation -------------------------------------------------------------------------


def _fast_tokenizer(model: SentenceTransformer) -> Any:
    """The model's ``tokenizers.Tokenizer``, or a clear error for a model without one."""
    names = [type(m).__name__ for m in model]
    if len(names) < 2 or names[0] != "Transformer" or names[1] != "Pooling" or \
            any(n != "Normalize" for n in names[2:]):
        raise DataError("static distillation needs a Transformer + Pooling (+ Normalize) "
                        f"model, not "
                        f"{' + '.join(names)}", field="encoder_backend", fix=_FIX)
    fast = getattr(model[0].tokenizer, "backend_tokenizer", None)
    if fast is None:
        raise DataError("the model's tokenizer has no fast (tokenizers) version to distil "
                        "with", field="encoder_backend", fix=_FIX)
    return fast


def _copy(fast: Any) -> Any:
    """A copy of a ``tokenizers.Tokenizer`` without padding or truncation."""
    out = type(fast).from_str(fast.to_str())
    out.no_padding()
    out.no_truncation()
    return out


def _special_tokens(fast: Any) -> tuple[list[int], list[int]]:
    """The ids the tokenizer puts before and after a text's own (``[CLS]`` / ``[SEP]``)."""
    probe = "a"
    inner = fast.encode(probe, add_special_tokens=False).ids
    wrapped = fast.encode(probe, add_special_tokens=True).ids
    for at in range(len(wrapped) - len(inner) + 1):
        if wrapped[at:at + len(inner)] == inner:
            return wrapped[:at], wrapped[at + len(inner):]
    raise DataError("could not find where the tokenizer puts its special tokens",
                    field="encoder_backend", fix=_FIX)


def token_vectors(model: SentenceTransformer, *, batch_size: int = 512) -> np.ndarray:
    """Each vocabulary token's vector: the model's transformer and pooling run on
    ``[CLS] token [SEP]`` (its special tokens around the one token), not normalised.

    Returns:
        ``float32[vocab_size, hidden]``, row ``i`` for token id ``i``.
    """
    import torch

    fast = _copy(_fast_tokenizer(model))
    vocab = int(fast.get_vocab_size(with_added_tokens=True))
    # The model's own special tokens around one token ([CLS] x [SEP] for BERT).
    prefix, suffix = _special_tokens(fast)
    ids = torch.tensor([*prefix, 0, *suffix], dtype=torch.long).repeat(vocab, 1)
    ids[:, len(prefix)] = torch.arange(vocab)
    modules: list[Any] = list(model)
    transformer, pooling = modules[0], modules[1]
    names = set(transformer.tokenizer.model_input_names)
    device = next(model.parameters()).device
    out = []
    with torch.inference_mode():
        for start in range(0, vocab, batch_size):
            batch = ids[start:start + batch_size].to(device)
            feats: dict[str, Any] = {"input_ids": batch,
                                     "attention_mask": torch.ones_like(batch)}
            if "token_type_ids" in names:
                feats["token_type_ids"] = torch.zeros_like(batch)
            pooled = pooling(transformer(feats))["sentence_embedding"]
            out.append(pooled.float().cpu().numpy())
    return np.vstack(out).astype(np.float32, copy=False)


def distill_vectors(vectors: np.ndarray, used: np.ndarray, config: DistillConfig
                    ) -> np.ndarray:
    """PCA and SIF weighting of :func:`token_vectors` (model2vec's post-processing).

    Args:
        vectors: ``float32[vocab, hidden]`` token vectors.
        used: Which rows are real tokens (placeholders like ``[unused3]`` get zeros and
            take no part in the PCA fit or the Zipf ranks).
        config: Dimensions and SIF coefficient.

    Returns:
        ``float32[vocab, pca_dims or hidden]``.
    """
    x = vectors[used].astype(np.float64)
    x -= x.mean(axis=0)
    # Principal axes from the covariance (hidden x hidden: small), largest first.
    eigvals, eigvecs = np.linalg.eigh(x.T @ x / max(1, len(x) - 1))
    keep = min(config.pca_dims or x.shape[1], x.shape[1], len(x))
    axes = eigvecs[:, ::-1][:, :keep]
    scores = x @ axes
    # Fix each axis's sign (as model2vec does) so a rebuild gives the same vectors.
    signs = np.sign(scores[np.argmax(np.abs(scores), axis=0), np.arange(keep)])
    scores *= np.where(signs == 0, 1.0, signs)
    if config.sif_coefficient is not None:
        inv_rank = 1.0 / np.arange(2, len(x) + 2)
        proba = inv_rank / inv_rank.sum()
        scores *= (config.sif_coefficient / (config.sif_coefficient + proba))[:, None]
    out = np.zeros((len(vectors), keep), dtype=np.float32)
    out[used] = scores
    return out


def distill_static(model: SentenceTransformer, folder: str | Path,
                   config: DistillConfig | None = None) -> Path:
    """Distil ``model`` into a static sentence-transformers model saved in ``folder``
    (``StaticEmbedding`` + ``Normalize``, with ``encore_static.json`` recording how).

    Raises:
        DataError: a model that is not Transformer + Pooling with a fast tokenizer.
    """
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, StaticEmbedding

    config = config or DistillConfig()
    fast = _fast_tokenizer(model)
    vectors = token_vectors(model, batch_size=config.batch_size)
    vocab = fast.get_vocab(with_added_tokens=True)
    used = np.ones(len(vectors), dtype=bool)
    for token, i in vocab.items():
        if i < len(used) and _UNUSED.match(token):
            used[i] = False
    table = distill_vectors(vectors, used, config)
    tokenizer = _copy(fast)  # a static model has no token limit: no truncation
    static = SentenceTransformer(modules=[StaticEmbedding(tokenizer, embedding_weights=table),
                                          Normalize()], device="cpu")
    folder = Path(folder)
    with tempfile.TemporaryDirectory(prefix="encore-static-") as tmp:
        staged = Path(tmp) / "model"
        static.save(str(staged), create_model_card=False)
        meta = {"backend": "static", "dim": int(table.shape[1]), "vocab": int(len(table)),
                "distill": asdict(config), "source_dim": int(vectors.shape[1])}
        (staged / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder)
        folder.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(staged), folder)
    return folder


# -- the encoder --------------------------------------------------------------------------


class StaticEncoder:
    """An :class:`~retrieval.encoder.Encoder` on a static model (see the module's notes):
    the mean of a text's token vectors, L2-normalised.

    Args:
        model: A ``SentenceTransformer`` whose first module is ``StaticEmbedding``.
        name: A display name.
        fingerprint: Identity of the vectors for caches (computed from them when ``None``).
    """

    def __init__(self, model: SentenceTransformer, *, name: str = "static",
                 fingerprint: str | None = None) -> None:
        module: Any = list(model)[0]
        if type(module).__name__ != "StaticEmbedding":
            raise DataError(f"a static encoder needs a StaticEmbedding model, not "
                            f"{type(module).__name__}", field="encoder_backend", fix=_FIX)
        self.model = model
        self.module: Any = module
        self.name = name
        self._fingerprint = fingerprint
        unk = module.tokenizer.token_to_id(str(getattr(module.tokenizer.model, "unk_token",
                                                       "[UNK]")))
        self._unk = int(unk) if unk is not None else 0  # for texts that give no token

    @classmethod
    def load(cls, folder: str | Path, *, name: str | None = None) -> StaticEncoder:
        """Load a folder written by :func:`distill_static`.

        Raises:
            DataError: no distilled model there.
        """
        from retrieval.encoder import load_sentence_transformer

        folder = Path(folder)
        if not (folder / META_FILE).is_file():
            raise DataError(f"no distilled static model here ({META_FILE} is missing)",
                            path=folder, field="encoder_backend",
                            fix="rebuild the bundle, or distil one with "
                                "retrieval.encoder_static.distill_static")
        model, _, _ = load_sentence_transformer(folder, device="cpu")
        h = hashlib.sha256()
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                h.update(path.read_bytes())
        return cls(model, name=name or str(folder), fingerprint=h.hexdigest()[:16])

    @property
    def dim(self) -> int:
        """Length of every vector."""
        return int(self.module.embedding_dim)

    @property
    def model_key(self) -> str:
        """Identity of the token vectors, for caches."""
        if self._fingerprint is None:
            weights = self.module.embedding.weight.detach().cpu().numpy()
            self._fingerprint = hashlib.sha256(weights.tobytes()).hexdigest()[:16]
        return f"{self.name}@{self._fingerprint}:static"

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Encode ``texts`` into L2-normalised ``float32[len(texts), dim]``.

        A text the tokenizer turns into no tokens at all (only characters it drops) gets
        the unknown token's vector, so that every text has a direction.

        Raises:
            ValueError: an empty or whitespace-only text.
        """
        import torch

        items = check_texts(texts)
        out = np.empty((len(items), self.dim), dtype=np.float32)
        tok = self.module.tokenizer
        # encode_batch_fast skips the character offsets nobody here reads (as model2vec)
        tokenize = getattr(tok, "encode_batch_fast", tok.encode_batch)
        with torch.inference_mode():
            for start in range(0, len(items), _CHUNK):
                chunk = items[start:start + _CHUNK]
                rows = [e.ids or [self._unk] for e in tokenize(chunk, add_special_tokens=False)]
                lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
                ids = torch.from_numpy(np.fromiter(itertools.chain.from_iterable(rows),
                                                   dtype=np.int64, count=int(lengths.sum())))
                offsets = torch.from_numpy(np.concatenate([[0], np.cumsum(lengths)[:-1]]))
                vecs = self.module.embedding(ids, offsets)
                out[start:start + len(chunk)] = vecs.numpy()
        x = check_vectors(out, dim=self.dim, what=f"vectors from static model {self.name!r}")
        return _normalise(x)

    def __repr__(self) -> str:
        return f"StaticEncoder({self.name!r}, dim={self.dim})"


# -- bundles ------------------------------------------------------------------------------


def distill_for_bundle(encoder: Any, encoder_folder: Path,
                       config: DistillConfig | None = None
                       ) -> tuple[StaticEncoder, dict[str, Any]]:
    """Distil a build's sentence-transformers encoder into ``encoder_folder/static``; the
    encoder to make the item vectors with and the manifest's ``encoder`` entries.

    Raises:
        DataError: the encoder is not a sentence-transformers Transformer + Pooling model.
    """
    model = getattr(encoder, "model", None)
    if model is None or not hasattr(model, "save"):
        raise DataError("encoder_backend 'static' distils a sentence-transformers model, and "
                        f"this encoder ({encoder!r}) is not one", field="encoder_backend",
                        fix=_FIX)
    folder = distill_static(model, encoder_folder / STATIC_DIR, config)
    static = StaticEncoder.load(folder, name=f"{getattr(encoder, 'name', 'encoder')} (static)")
    return static, {"backend": "static", "static": f"{encoder_folder.name}/{STATIC_DIR}"}
