"""Helpers shared by the FAISS index modules: the lazy faiss import, input checks, the GPU copy."""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from retrieval.errors import DataError

Results = tuple[list[list[str]], list[np.ndarray]]
"""Per query, the catalog ids best first and a ``float32`` array of their scores."""


def _faiss() -> Any:
    """The faiss module, imported on first use (never at import time)."""
    try:
        import faiss
    except ImportError as exc:
        raise ImportError(
            f"the vector index needs FAISS, which did not import ({exc}). Fix: "
            "pip install faiss-cpu, or pip install 'encore-rec[gpu]' for faiss-gpu"
        ) from exc
    return faiss


def _check_factory_string(factory: Any) -> None:
    if not isinstance(factory, str) or not factory.strip():
        raise ValueError(f"factory must be a FAISS factory string such as 'Flat', got {factory!r}")
    if "IDMap" in factory:
        raise ValueError(
            f"factory {factory!r} contains IDMap; leave it out, FaissIndex maps ids itself"
        )


def _check_ids(ids: Any, what: str) -> list[str]:
    if isinstance(ids, str | bytes):
        raise TypeError(f"ids for {what} must be a list of catalog ids, not one string: {ids!r}")
    ids = list(ids)
    bad = [i for i in ids if not isinstance(i, str) or not i]
    if bad:
        raise DataError(
            f"{len(bad)} id(s) for {what} are not non-empty strings: {_few(bad)}",
            field="ids",
            fix="use the catalog's string ids (convert numbers with str())",
        )
    return ids


def _few(values: Sequence[Any], n: int = 5) -> str:
    shown = ", ".join(repr(v) for v in list(values)[:n])
    return shown + (f" and {len(values) - n} more" if len(values) > n else "")


def _where(rows: np.ndarray, ids: Sequence[str] | None) -> str:
    rows_l = rows.tolist()
    if ids is not None:
        return "ids " + _few([ids[r] for r in rows_l])
    return "rows " + _few(rows_l)


def _empty(nq: int) -> Results:
    return [[] for _ in range(nq)], [np.empty(0, dtype="float32") for _ in range(nq)]


def _faiss_message(exc: BaseException) -> str:
    """The useful part of a FAISS C++ exception, without the C++ signature and location."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    text = re.sub(r"^Error in .*? at \S+:\d+: ", "", text)
    return re.sub(r"^Error: '.*?' failed: ", "", text)



def _to_gpu(index: Any, *, required: bool = False) -> Any:
    """A copy of ``index`` on every visible GPU, or ``None`` (no GPU, or an index type
    FAISS cannot move). With ``required``, no GPU is an error instead."""
    faiss = _faiss()

    if not hasattr(faiss, "get_num_gpus") or faiss.get_num_gpus() < 1:
        if required:
            raise RuntimeError(
                "use_gpu=True but FAISS sees no GPU. Fix: pip install 'encore-rec[gpu]' "
                "(faiss-gpu) on a machine with CUDA, or pass use_gpu=None to fall back to the CPU"
            )
        return None
    try:
        return faiss.index_cpu_to_all_gpus(index)
    except (RuntimeError, AttributeError) as exc:
        if required:
            raise
        warnings.warn(
            f"keeping the FAISS index on the CPU: it cannot move to the GPU "
            f"({_faiss_message(exc)})",
            RuntimeWarning,
            stacklevel=3,
        )
        return None


def check_vectors(dim: int, vecs: Any, what: str, *, n_rows: int | None = None,
                  ids: Sequence[str] | None = None) -> np.ndarray:
    """``vecs`` as ``float32[n, dim]`` rows of unit length, or a :class:`DataError` that
    names the bad rows (``ids`` names them by catalog id)."""
    try:
        x = np.asarray(vecs, dtype="float32")
    except (TypeError, ValueError) as exc:
        raise DataError(f"vectors for {what} are not numeric: {exc}", field="vecs",
                        fix="pass a float array of shape (n, dim)") from None
    if what == "search" and x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2 or x.shape[1] != dim:
        raise DataError(
            f"vectors for {what} have shape {x.shape}, but this index holds "
            f"{dim}-dimensional vectors",
            field="vecs",
            fix=f"encode with the same model the index was built with (dim {dim}), "
            "or rebuild the index for the new model",
        )
    if n_rows is not None and x.shape[0] != n_rows:
        raise DataError(f"{n_rows} ids but {x.shape[0]} vectors", field="vecs",
                        fix="pass one vector per id, in the same order")
    bad = ~np.isfinite(x).all(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise DataError(
            f"{len(rows)} vector(s) for {what} contain NaN or infinite values "
            f"({_where(rows, ids)})",
            field="vecs",
            fix="re-encode those items; check the encoder's input text and dtype",
        )
    norms = np.linalg.norm(x, axis=1)
    zero = norms < 1e-12
    if zero.any():
        rows = np.flatnonzero(zero)
        raise DataError(
            f"{len(rows)} vector(s) for {what} are all zeros and have no direction "
            f"({_where(rows, ids)})",
            field="vecs",
            fix="re-encode those items, or leave them out",
        )
    return np.ascontiguousarray(x / norms[:, None], dtype="float32")
