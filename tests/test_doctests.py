"""The docstring examples of public classes run as tests."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["retrieval.models", "retrieval.errors", "retrieval.catalog", "retrieval.interactions",
           "retrieval.loaders.movielens", "assistant.settings", "prompts", "assistant.reply",
           "assistant.errors", "retrieval.request", "assistant.session", "assistant.llm",
           "assistant.parsers", "assistant.parsers.llm", "assistant.commands.vllm",
           "assistant.store", "assistant.ui", "assistant.commands.serve",
           "assistant.engine", "assistant.explain", "assistant.playlist", "retrieval.config",
           "retrieval.filter", "retrieval.pipeline", "retrieval.feature_schema"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
