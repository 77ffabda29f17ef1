"""The docstring examples of the evaluation package run as tests."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "eval",
    "eval.metrics",
    "eval.metrics.names",
    "eval.metrics.relevance",
    "eval.metrics.recall",
    "eval.metrics.precision",
    "eval.metrics.f1",
    "eval.metrics.ndcg",
    "eval.metrics.mrr",
    "eval.metrics.hit_rate",
    "eval.metrics.average_precision",
    "eval.metrics.coverage",
    "eval.metrics.novelty",
    "eval.metrics.diversity",
    "eval.metrics.grounding",
    "retrieval.encoding",
    "eval.protocols",
    "eval.systems",
    "eval.baselines.random",
    "eval.baselines.popularity",
    "retrieval.collaborative.itemknn",
    "retrieval.collaborative.ease",
    "eval.harness",
    "eval.tuning",
    "eval.report",
    "eval.run",
    "eval.synthetic",
    "eval.conversational.requests",
    "eval.conversational.generate",
    "eval.conversational.runner",
    "eval.conversational.slots",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
