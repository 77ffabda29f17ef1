"""Request parsers: one message (and what the conversation knows) in, one :class:`Request` out.

Implementations, picked by the ``llm.parser`` setting:

- ``rules`` (:mod:`assistant.parsers.rules`): offline and deterministic, built from the
  catalog's own genres, tags and titles. The default.
- ``llm`` (:mod:`assistant.parsers.llm`): LangChain structured output into the same schema,
  the prompt read from ``prompts/parse_request.txt``; on any failure the caller falls back
  to ``rules`` (:func:`assistant.parsers.llm.parse_with_fallback`).

Example:
    >>> from retrieval.demo import load_demo_catalog
    >>> parser = make_parser("rules", load_demo_catalog())
    >>> r = parser.parse("90s sci-fi films under 2 hours")
    >>> r.media_types, r.genres, (r.year_min, r.year_max), r.max_minutes
    ([<MediaType.movie: 'movie'>], ['science fiction'], (1990, 1999), 120)
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any, Protocol, runtime_checkable

from retrieval.catalog import Catalog
from retrieval.request import ParseContext, Request

__all__ = ["RequestParser", "available_parsers", "make_parser", "register_parser"]


@runtime_checkable
class RequestParser(Protocol):
    """Turns one message into a :class:`Request`.

    ``parse`` never raises on the text of a message (empty, huge, control characters,
    another language, instructions aimed at the system): it returns a request whose
    ``issues`` say what it noticed, and sets no hard constraint it did not read.
    """

    def parse(self, message: str, context: ParseContext | None = None) -> Request:
        """Parse ``message``; ``context`` resolves "that one", "the second one", "shorter"."""
        ...


ParserFactory = Callable[..., RequestParser]

# name -> "module:attribute" (imported on first use, so optional dependencies stay optional)
# or a factory registered at run time.
_REGISTRY: dict[str, str | ParserFactory] = {
    "rules": "assistant.parsers.rules:RulesParser",
    "llm": "assistant.parsers.llm:LLMParser",
}


def available_parsers() -> list[str]:
    """Names :func:`make_parser` accepts."""
    return sorted(_REGISTRY)


def register_parser(name: str, factory: ParserFactory) -> None:
    """Make ``factory(catalog, **kw)`` available as ``make_parser(name, catalog, **kw)``."""
    if not name or not name.isidentifier():
        raise ValueError(f"parser name must be a plain identifier, got {name!r}")
    _REGISTRY[name] = factory


def _resolve(name: str, target: str | ParserFactory) -> ParserFactory:
    if not isinstance(target, str):
        return target
    module_name, _, attribute = target.partition(":")
    try:
        module = import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            raise ValueError(
                f"request parser {name!r} is declared but {module_name} is not part of this "
                f"build yet. Fix: use one of the parsers that are ({', '.join(_built())})"
            ) from None
        raise ModuleNotFoundError(
            f"request parser {name!r} needs the package {exc.name!r}, which is not installed. "
            f"Fix: pip install 'encore-rec[{name}]' (or pip install {exc.name})", name=exc.name
        ) from exc
    return getattr(module, attribute)


def _built() -> list[str]:
    from importlib.util import find_spec

    names = []
    for name, target in sorted(_REGISTRY.items()):
        if not isinstance(target, str) or find_spec(target.partition(":")[0]) is not None:
            names.append(name)
    return names


def make_parser(name: str, catalog: Catalog, **kwargs: Any) -> RequestParser:
    """Build the request parser called ``name`` for ``catalog``.

    Args:
        name: One of :func:`available_parsers` (the ``llm.parser`` setting).
        catalog: The catalog whose genres, tags and titles the parser uses.
        **kwargs: Passed to the implementation (e.g. ``max_chars`` for ``rules``).

    Raises:
        ValueError: ``name`` is unknown (the message lists the valid names), or declared but
            not available in this build.
    """
    key = name.strip().lower() if isinstance(name, str) else name
    if key not in _REGISTRY:
        raise ValueError(
            f"unknown request parser {name!r}; valid names: {', '.join(available_parsers())}. "
            "Fix: set llm.parser (ENCORE_LLM__PARSER) to one of them"
        )
    return _resolve(key, _REGISTRY[key])(catalog, **kwargs)
