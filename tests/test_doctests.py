"""The docstring examples of public classes run as tests."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["retrieval.models", "retrieval.errors", "retrieval.catalog", "retrieval.interactions",
           "retrieval.loaders.movielens", "assistant.settings", "prompts"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
