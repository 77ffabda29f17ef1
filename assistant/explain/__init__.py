"""Explainers: a short reason per pick that cites only that pick's grounds.

- :func:`grounds_for` (:mod:`assistant.explain.grounds`): the facts an explanation may
  cite, from the item, the request and the ranker's evidence; a history item only when it
  is genuinely close to the pick (:mod:`assistant.explain.relevance`).
- :func:`evidence_sentences` (:mod:`assistant.explain.evidence`): the same, in plain
  sentences for the page (``Grounds.evidence_text``).
- :mod:`assistant.explain.words`: "a"/"an" by sound, lists "A, B and C", plurals.
- :class:`Explainer` (:mod:`assistant.explain.base`): the seam; ``explain`` and ``stream``.
- ``template`` (:mod:`assistant.explain.template`): offline and deterministic. The default.
- ``llm`` (:mod:`assistant.explain.llm`): a LangChain chat model, streamed and checked
  sentence by sentence before anything is handed on (:mod:`assistant.explain.stream`,
  :mod:`assistant.explain.check`; markup stripped by :mod:`assistant.explain.markup`),
  falling back to the template.

Example:
    >>> from retrieval.demo import load_demo_catalog
    >>> from retrieval.request import Request
    >>> cat = load_demo_catalog()
    >>> item = cat["mv-arrival-2016"]
    >>> g = grounds_for(item, Request(genres=["science fiction"], max_minutes=120), None, cat)
    >>> make_explainer("template").explain([(item, g)], None).texts
    ['Science fiction, as you asked. A film by Denis Villeneuve from 2016, 116 minutes long.']
"""

from __future__ import annotations

from typing import Any

from assistant.explain.base import Explainer, ExplainEvent, ExplainResult, Pick
from assistant.explain.evidence import evidence_sentences
from assistant.explain.grounds import grounds_for
from assistant.explain.template import TemplateExplainer, template_sentence, template_text

__all__ = ["ExplainEvent", "ExplainResult", "Explainer", "LLMExplainer", "Pick",
           "TemplateExplainer", "available_explainers", "evidence_sentences", "grounds_for",
           "make_explainer", "template_sentence", "template_text"]

_NAMES = ("llm", "template")


def available_explainers() -> list[str]:
    """Names :func:`make_explainer` accepts."""
    return list(_NAMES)


def make_explainer(name: str, **kwargs: Any) -> Explainer:
    """The explainer called ``name`` (the ``llm.explainer`` setting).

    ``template`` takes no arguments; ``llm`` takes those of :class:`LLMExplainer`
    (``chat_model``, ``catalog``, ``model_name``, ``timeout_s``).

    Raises:
        ValueError: an unknown name (the valid ones are listed).
    """
    if name == "template":
        return TemplateExplainer()
    if name == "llm":
        from assistant.explain.llm import LLMExplainer

        return LLMExplainer(**kwargs)
    raise ValueError(f"unknown explainer {name!r}; valid: {', '.join(_NAMES)} "
                     "(set llm.explainer / ENCORE_LLM__EXPLAINER)")


def __getattr__(name: str) -> Any:
    if name == "LLMExplainer":  # imported on use: it pulls in langchain_core
        from assistant.explain.llm import LLMExplainer

        return LLMExplainer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
