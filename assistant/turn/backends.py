"""The language backends of a turn: the request parser and the explainer the settings name.

:class:`Backends` builds them once (the LLM chat model only when a stage asks for ``llm``)
and parses with a fallback: an LLM failure never fails a turn, it answers with ``rules``
and says why (:class:`Parsed.fallback`).

Example:
    >>> from retrieval.demo import load_demo_catalog
    >>> from assistant.settings import Settings
    >>> b = Backends(Settings().llm, load_demo_catalog())
    >>> parsed = b.parse("90s sci-fi films")
    >>> parsed.parser, parsed.request.year_min, b.explainer.name
    ('rules', 1990, 'template')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from assistant.errors import EncoreError

if TYPE_CHECKING:
    from assistant.explain import Explainer
    from assistant.reply import Fallback
    from assistant.settings import LLMSettings
    from retrieval.catalog import Catalog
    from retrieval.request import ParseContext, Request

__all__ = ["Backends", "Parsed"]


@dataclass(frozen=True)
class Parsed:
    """What the parse stage produced."""

    request: Request
    parser: str
    """The parser that answered ('rules' or 'llm')."""
    fallback: Fallback | None = None
    """Set when the configured parser failed and ``rules`` answered instead."""


class Backends:
    """The parser and the explainer of one assistant.

    Args:
        llm: The ``llm`` settings (which backend each stage uses, the model, time-outs).
        catalog: The catalog the parsers resolve titles and vocabulary against.

    Raises:
        EncoreError: a stage asks for ``llm`` and the chat model cannot be built (no model
            name, a missing extra): a wrong setting is an error now, not a fallback every turn.
    """

    def __init__(self, llm: LLMSettings, catalog: Catalog) -> None:
        from assistant.explain import TemplateExplainer
        from assistant.parsers import make_parser

        self.llm = llm
        self.rules = make_parser("rules", catalog)
        self.template: Explainer = TemplateExplainer()
        self.llm_parser: Any = None
        self.llm_explainer: Explainer | None = None
        if "llm" in (llm.parser, llm.explainer):
            self._setup_llm(catalog)

    def _setup_llm(self, catalog: Catalog) -> None:
        from assistant.llm import make_chat_model

        llm = self.llm
        try:
            chat_model = make_chat_model(llm)
        except (ValueError, ImportError, ModuleNotFoundError) as exc:
            raise EncoreError(f"the LLM backend could not be set up: {exc}") from None
        if llm.parser == "llm":
            from assistant.parsers import make_parser

            self.llm_parser = make_parser("llm", catalog, settings=llm, chat_model=chat_model)
        if llm.explainer == "llm":
            from assistant.explain import LLMExplainer

            self.llm_explainer = LLMExplainer(chat_model, model_name=llm.model,
                                              timeout_s=llm.timeout_s, catalog=catalog)

    @property
    def explainer(self) -> Explainer:
        """The configured explainer (its own failures fall back to the template inside)."""
        return self.llm_explainer or self.template

    def parse(self, message: str, context: ParseContext | None = None) -> Parsed:
        """``message`` as a request: with the LLM parser when configured, else ``rules``."""
        if self.llm_parser is None:
            return Parsed(self.rules.parse(message, context), "rules")
        from assistant.parsers.llm import parse_with_fallback

        request, used, fallback = parse_with_fallback(self.llm_parser, self.rules, message,
                                                      context)
        return Parsed(request, used, fallback)
