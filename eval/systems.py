"""What the harness can evaluate: the :class:`Recommender` protocol and a registry of
systems picked by name.

Registered now: ``random``, ``pop``, ``itemknn``, ``ease`` (in ``eval/baselines/``).
Reserved for Encore's stages: ``encore-retrieval`` (retrieval only) and ``encore``
(retrieval + ranker). They resolve through the adapter module ``eval.encore``, which is to
define ``make_system(stage: str, **params) -> Recommender`` once the stages in
``retrieval/`` exist; until then asking for them raises :class:`SystemNotAvailable`.
Another system can join with :func:`register_system`.

Example:
    >>> sorted(available_systems())[:4]
    ['ease', 'encore', 'encore-retrieval', 'itemknn']
    >>> make_system("pop").__class__.__name__
    'Popularity'
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
from scipy import sparse

from retrieval.catalog import Catalog
from retrieval.interactions import Interactions

__all__ = [
    "ENCORE_STAGES",
    "Recommender",
    "SystemNotAvailable",
    "available_systems",
    "make_system",
    "register_system",
    "scores_from_lists",
]


@runtime_checkable
class Recommender(Protocol):
    """A system the harness can evaluate.

    ``fit`` sees only the training log. ``score`` gets the users to rank for and, row for
    row, the items each is known to have (binary CSR, catalog order): the harness passes
    training histories, the conversational suite the request's history. It returns
    ``float32[len(user_ids), len(catalog)]``, higher is better, columns in catalog order;
    the harness itself removes the known items and takes the top K. A system that only
    produces candidate lists can return :func:`scores_from_lists`.
    """

    def fit(self, train: Interactions, catalog: Catalog) -> None: ...

    def score(self, user_ids: Sequence[str], history: sparse.csr_matrix) -> np.ndarray: ...


class SystemNotAvailable(ValueError):
    """A registered system whose code cannot be loaded yet (or lacks an extra)."""


Factory = Callable[..., Recommender]

ENCORE_STAGES: dict[str, str] = {
    "encore-retrieval": "retrieval only (encoder + FAISS index)",
    "encore": "retrieval + learned ranker",
}
# The modules each stage needs, for the message when it cannot be loaded yet.
_STAGE_MODULES: dict[str, tuple[str, ...]] = {
    "encore-retrieval": ("retrieval.retriever",),
    "encore": ("retrieval.retriever", "retrieval.ranker"),
}


def _baseline(module: str, cls: str) -> Factory:
    def factory(**params: Any) -> Recommender:
        mod = importlib.import_module(f"eval.baselines.{module}")
        return getattr(mod, cls)(**params)

    factory.__doc__ = f"eval.baselines.{module}.{cls}"
    return factory


def _encore(stage: str) -> Factory:
    def factory(**params: Any) -> Recommender:
        try:
            adapter = importlib.import_module("eval.encore")
        except ModuleNotFoundError as exc:
            if exc.name not in ("eval.encore",):
                raise SystemNotAvailable(
                    f"system {stage!r} cannot be loaded: module {exc.name!r} is missing "
                    f"({exc}); install Encore with its dependencies (pip install -e .)"
                ) from None
            baselines = ", ".join(n for n in _REGISTRY if n not in ENCORE_STAGES)
            built = [m for m in _STAGE_MODULES[stage] if importlib.util.find_spec(m) is not None]
            missing = [m for m in _STAGE_MODULES[stage] if m not in built]
            if missing:
                state = f"{' and '.join(missing)} cannot be imported yet"
            else:
                one = len(built) == 1
                state = (
                    f"{' and '.join(built)} {'exists' if one else 'exist'}, but nothing "
                    f"adapts {'it' if one else 'them'} to the harness yet"
                )
            raise SystemNotAvailable(
                f"system {stage!r} ({ENCORE_STAGES[stage]}) is not built yet: {state} "
                f"(the adapter is eval/encore.py with make_system(stage, **params)). "
                f"Evaluate the baselines for now: {baselines}"
            ) from None
        return adapter.make_system(stage, **params)

    factory.__doc__ = f"Encore, {ENCORE_STAGES[stage]}"
    return factory


_REGISTRY: dict[str, Factory] = {
    "random": _baseline("random", "RandomRecommender"),
    "pop": _baseline("popularity", "Popularity"),
    "itemknn": _baseline("itemknn", "ItemKNN"),
    "ease": _baseline("ease", "EASE"),
    "request-pop": _baseline("request_blend", "RequestPopularityBlend"),
    **{stage: _encore(stage) for stage in ENCORE_STAGES},
}
_ALIASES = {"popularity": "pop", "most-popular": "pop", "item-knn": "itemknn", "knn": "itemknn",
            "blend": "request-pop"}


def available_systems() -> list[str]:
    """Every registered name (Encore's may still raise :class:`SystemNotAvailable`)."""
    return list(_REGISTRY)


def register_system(name: str, factory: Factory, *, replace: bool = False) -> None:
    """Make ``make_system(name, **params)`` call ``factory(**params)``.

    Raises:
        ValueError: when ``name`` is taken and ``replace`` is false.
    """
    key = name.strip().lower()
    if not key or "," in key:
        raise ValueError(f"a system name must be non-empty and hold no comma, got {name!r}")
    if key in _REGISTRY and not replace:
        raise ValueError(f"a system called {key!r} is already registered; pass replace=True")
    _REGISTRY[key] = factory


def make_system(name: str, **params: Any) -> Recommender:
    """A fresh, unfitted system by name, with its hyper-parameters.

    Raises:
        ValueError: for an unknown name (listing the valid ones) or a bad parameter.
        SystemNotAvailable: for a registered system that cannot be loaded yet.
    """
    key = _ALIASES.get(name.strip().lower(), name.strip().lower())
    if key not in _REGISTRY:
        raise ValueError(f"unknown system {name!r}; valid names: {', '.join(_REGISTRY)}")
    try:
        return _REGISTRY[key](**params)
    except TypeError as exc:
        if "unexpected keyword" in str(exc) or "positional argument" in str(exc):
            raise ValueError(f"bad parameter for system {key!r}: {exc}") from None
        raise


def canonical_name(name: str) -> str:
    """The registry's spelling of ``name`` (aliases resolved); unknown names unchanged."""
    key = name.strip().lower()
    return _ALIASES.get(key, key)


def scores_from_lists(lists: Sequence[Sequence[int] | np.ndarray], n_items: int) -> np.ndarray:
    """Scores that reproduce given candidate lists: the first item scores highest, items
    off the list score ``-inf`` (the harness never ranks them above listed items).

    Example:
        >>> scores_from_lists([[2, 0]], 3).tolist()
        [[1.0, -inf, 2.0]]
    """
    out = np.full((len(lists), n_items), -np.inf, dtype=np.float32)
    for row, listed in enumerate(lists):
        items = np.asarray(listed, dtype=np.int64)
        if items.size:
            out[row, items] = np.arange(items.size, 0, -1, dtype=np.float32)
    return out
