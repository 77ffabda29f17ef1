"""Offline evaluation: metrics, splits and protocols, baselines, suites and reports.

Layout: ``metrics/`` (one metric per file, names parsed in ``metrics/names.py``),
``protocols.py`` (splits), ``systems.py`` (the ``Recommender`` protocol and the registry),
``baselines/`` (random, popularity, item-kNN, EASE), ``harness.py`` (full-ranking runs),
``conversational/`` (request sets, the generator, the turn runner, slot accuracy),
``tuning.py`` (validation-split grid search), ``report.py`` (metrics.json, report.md,
plots) and ``run.py`` (one evaluation end to end, as ``encore eval`` runs it).

Names are imported on first use, so ``import eval`` stays cheap.

Example:
    >>> from eval import parse_metric
    >>> parse_metric("recall@20").k
    20
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "parse_metric": "eval.metrics",
    "parse_metrics": "eval.metrics",
    "evaluate_ranking": "eval.metrics",
    "Relevance": "eval.metrics",
    "Split": "eval.protocols",
    "make_split": "eval.protocols",
    "implicit_positives": "eval.protocols",
    "Recommender": "eval.systems",
    "make_system": "eval.systems",
    "register_system": "eval.systems",
    "available_systems": "eval.systems",
    "evaluate": "eval.harness",
    "EvalResult": "eval.harness",
    "grid_search": "eval.tuning",
    "write_report": "eval.report",
    "EvalConfig": "eval.run",
    "run_eval": "eval.run",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'eval' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
