"""The language backends of a turn: the request parser and the explainer the settings name,
one deadline per turn, and the circuit breaker in front of the LLM.

:class:`Backends` builds them once (the LLM chat models only when a stage asks for ``llm``,
sharing one bounded HTTP client) and answers with a fallback: an LLM failure never fails a
turn, it answers with ``rules``/``template`` and says why (:class:`~assistant.reply.Fallback`).

A turn asks :meth:`Backends.begin` for its :class:`LLMTurn`: the turn's
:class:`~assistant.deadline.TurnDeadline` (``llm.timeout_s``, shared by the parser and the
explainer) and whether the :class:`~assistant.breaker.CircuitBreaker` lets it call the LLM.
A stage that may not call it falls back at once, with the reason ``"circuit open"`` (the LLM
failed ``llm.breaker_failures`` times in a row and is skipped for ``breaker_cooldown_s``)
or ``"deadline spent"`` (an earlier stage used the turn's time up).

Example:
    >>> from retrieval.demo import load_demo_catalog
    >>> from assistant.settings import Settings
    >>> b = Backends(Settings().llm, load_demo_catalog())
    >>> parsed = b.parse("90s sci-fi films")
    >>> parsed.parser, parsed.request.year_min, b.explainer.name
    ('rules', 1990, 'template')
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from assistant.breaker import CircuitBreaker
from assistant.deadline import TurnDeadline
from assistant.errors import EncoreError
from assistant.reply import Fallback

if TYPE_CHECKING:
    from assistant.explain import Explainer
    from assistant.settings import LLMSettings
    from retrieval.catalog import Catalog
    from retrieval.request import ParseContext, Request

__all__ = ["CIRCUIT_OPEN", "DEADLINE_SPENT", "Backends", "LLMTurn", "Parsed"]

CIRCUIT_OPEN = "circuit open"
"""Fallback reason of a stage that skipped the LLM because the circuit breaker is open."""
DEADLINE_SPENT = "deadline spent"
"""Fallback reason of a stage that found the turn's LLM deadline already spent."""


@dataclass(frozen=True)
class Parsed:
    """What the parse stage produced."""

    request: Request
    parser: str
    """The parser that answered ('rules' or 'llm')."""
    fallback: Fallback | None = None
    """Set when the configured parser failed and ``rules`` answered instead."""


@dataclass(frozen=True)
class LLMTurn:
    """One turn's access to the LLM: its deadline, and whether the breaker let it in."""

    deadline: TurnDeadline
    admitted: bool
    """False: the circuit was open when the turn began; no stage calls the LLM."""


class Backends:
    """The parser and the explainer of one assistant.

    Args:
        llm: The ``llm`` settings (which backend each stage uses, the model, the deadline,
            the breaker).
        catalog: The catalog the parsers resolve titles and vocabulary against.
        clock: Seconds on a monotonic clock, for deadlines and the breaker (a fake in tests).

    Raises:
        EncoreError: a stage asks for ``llm`` and the chat model cannot be built (no model
            name, a missing extra): a wrong setting is an error now, not a fallback every turn.
    """

    def __init__(self, llm: LLMSettings, catalog: Catalog, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        from assistant.explain import TemplateExplainer
        from assistant.parsers import make_parser

        self.llm = llm
        self.clock = clock
        self.breaker = CircuitBreaker(llm.breaker_failures, llm.breaker_cooldown_s, clock=clock)
        self.rules = make_parser("rules", catalog)
        self.template: Explainer = TemplateExplainer()
        self.llm_parser: Any = None
        self.llm_explainer: Explainer | None = None
        self._http: Any = None
        if self.uses_llm:
            self._setup_llm(catalog)

    @property
    def uses_llm(self) -> bool:
        """Whether a stage is configured to use the LLM."""
        return "llm" in (self.llm.parser, self.llm.explainer)

    def _setup_llm(self, catalog: Catalog) -> None:
        from assistant.llm import make_chat_model

        llm = self.llm
        try:
            if llm.backend == "openai":
                from assistant.llm_http import deadline_http_client

                self._http = deadline_http_client(llm)
            parser_model = make_chat_model(llm, http_client=self._http)
            explainer_model = make_chat_model(llm, streaming=True, http_client=self._http) \
                if llm.backend == "openai" else parser_model
        except (ValueError, ImportError, ModuleNotFoundError) as exc:
            self.close()
            raise EncoreError(f"the LLM backend could not be set up: {exc}") from None
        if llm.parser == "llm":
            from assistant.parsers import make_parser

            self.llm_parser = make_parser("llm", catalog, settings=llm, chat_model=parser_model)
        if llm.explainer == "llm":
            from assistant.explain import LLMExplainer

            self.llm_explainer = LLMExplainer(explainer_model, model_name=llm.model,
                                              timeout_s=llm.timeout_s, catalog=catalog)

    @property
    def explainer(self) -> Explainer:
        """The configured explainer (its own failures fall back to the template inside)."""
        return self.llm_explainer or self.template

    # -- one turn's access to the LLM ------------------------------------------------------

    def begin(self) -> LLMTurn:
        """A new turn's deadline (``llm.timeout_s`` from now) and the breaker's answer."""
        admitted = self.breaker.allow() if self.uses_llm else True
        return LLMTurn(TurnDeadline(self.llm.timeout_s, clock=self.clock), admitted)

    def skip_reason(self, turn: LLMTurn) -> str | None:
        """Why a stage of ``turn`` may not call the LLM now (None: it may)."""
        if not turn.admitted or self.breaker.is_open():
            return CIRCUIT_OPEN
        if turn.deadline.expired:
            return DEADLINE_SPENT
        return None

    def record(self, fallback: Fallback | None) -> None:
        """Report one LLM stage's outcome to the breaker (None: it answered). A stage that
        made no call (circuit open, deadline spent) reports nothing."""
        if fallback is not None and fallback.reason in (CIRCUIT_OPEN, DEADLINE_SPENT):
            return
        self.breaker.record(None if fallback is None else fallback.reason)

    def skipped_notice(self) -> str:
        """What a reply says while the breaker keeps turns off the LLM."""
        wait = max(round(self.breaker.retry_in()), 1)
        return (f"The language model failed {self.llm.breaker_failures} times in a row, so it "
                "is skipped for now: this answer comes from the offline parser and "
                f"templates. It will be tried again in about {wait} s.")

    # -- stages ----------------------------------------------------------------------------

    def parse(self, message: str, context: ParseContext | None = None,
              turn: LLMTurn | None = None) -> Parsed:
        """``message`` as a request: with the LLM parser when configured and allowed, else
        ``rules`` (and the fallback says why)."""
        if self.llm_parser is None:
            return Parsed(self.rules.parse(message, context), "rules")
        from assistant.parsers.llm import parse_with_fallback

        turn = turn if turn is not None else self.begin()
        skip = self.skip_reason(turn)
        if skip is not None:
            return Parsed(self.rules.parse(message, context), "rules",
                          Fallback(stage="parser", wanted="llm", used="rules", reason=skip))
        request, used, fallback = parse_with_fallback(self.llm_parser, self.rules, message,
                                                      context, deadline=turn.deadline)
        self.record(fallback)
        return Parsed(request, used, fallback)

    def explainer_for(self, turn: LLMTurn) -> tuple[Explainer, Fallback | None]:
        """The explainer a stage of ``turn`` uses, and the fallback to record when the LLM
        explainer is configured but may not be called."""
        if self.llm_explainer is None:
            return self.template, None
        skip = self.skip_reason(turn)
        if skip is None:
            return self.llm_explainer, None
        return self.template, Fallback(stage="explainer", wanted="llm", used="template",
                                       reason=skip)

    def close(self) -> None:
        """Close the LLM's HTTP connections."""
        if self._http is not None:
            self._http.close()
            self._http = None
