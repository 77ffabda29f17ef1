"""The ``Explainer`` seam and what it returns.

An explainer writes one short text per pick, citing only that pick's
:class:`~assistant.reply.Grounds`. It answers in one go (:meth:`Explainer.explain`) or as
a stream of :class:`ExplainEvent` (:meth:`Explainer.stream`):

- ``delta`` events carry text as it is produced, for pick ``index`` (0-based), and only
  text that has passed the check: the LLM explainer hands on a sentence once it has ended
  and been checked (a failing one already replaced). A front end may show them as they come.
- one ``final`` event per pick, in pick order, once generation has ended, carries the pick's
  whole checked text. It replaces whatever the deltas built (they differ only when the model
  failed midway and the template wrote the list), and is the text to keep.
- one ``done`` event (index -1) ends the stream and carries the whole
  :class:`ExplainResult` (the same texts, counts and any fallback).

Example:
    >>> r = ExplainResult(texts=["Drama."], sentences=1)
    >>> r.replaced, r.fallback is None
    (0, True)
    >>> ExplainEvent("final", 0, "Drama.").kind
    'final'
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from assistant.reply import Fallback, Grounds

if TYPE_CHECKING:
    from assistant.deadline import TurnDeadline
    from retrieval.models import Item
    from retrieval.request import Request

__all__ = ["ExplainEvent", "ExplainResult", "Explainer", "Pick"]

Pick = tuple["Item", Grounds]
"""One pick as explainers take it: the item and its grounds."""


class ExplainResult(BaseModel):
    """The explanations of one list: one text per pick, in pick order."""

    model_config = ConfigDict(frozen=True)

    texts: list[str] = Field(default_factory=list, description="One text per pick.")
    sentences: int = Field(default=0, ge=0, description="Sentences written, for TurnMeta.")
    replaced: int = Field(default=0, ge=0,
                          description="Of those, sentences that failed the grounding check "
                                      "(or were missing) and came from the template.")
    fallback: Fallback | None = Field(default=None,
                                      description="Set when the configured explainer failed "
                                                  "and the template wrote every text.")


@dataclass(frozen=True)
class ExplainEvent:
    """One event of :meth:`Explainer.stream` (see the module docstring for the order).

    Attributes:
        kind: ``"delta"`` (provisional text), ``"final"`` (checked text to keep) or
            ``"done"`` (end of stream, ``result`` set).
        index: 0-based pick index (-1 for ``done``).
        text: The new text (``delta``) or the whole checked text (``final``).
        result: The whole result, on ``done`` only.
    """

    kind: Literal["delta", "final", "done"]
    index: int
    text: str = ""
    result: ExplainResult | None = None


@runtime_checkable
class Explainer(Protocol):
    """Writes a short grounded explanation for each pick."""

    name: str

    def explain(self, picks: Sequence[Pick], request: Request | None, *,
                deadline: TurnDeadline | None = None) -> ExplainResult:
        """One text per pick, checked against its grounds, by ``deadline`` (the turn's)."""
        ...

    def stream(self, picks: Sequence[Pick], request: Request | None, *,
               deadline: TurnDeadline | None = None) -> Iterator[ExplainEvent]:
        """``delta`` events as checked text is produced, then one ``final`` per pick, then
        ``done``."""
        ...
