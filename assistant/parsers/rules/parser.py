"""The :class:`RulesParser`: the steps of :mod:`assistant.parsers.rules`, in order."""

from __future__ import annotations

from assistant.parsers.rules.assemble import assemble
from assistant.parsers.rules.clean import clean
from assistant.parsers.rules.counts import count_from_tokens, read_counts
from assistant.parsers.rules.durations import read_durations
from assistant.parsers.rules.followups import read_too, retarget_playlist
from assistant.parsers.rules.language import is_foreign, language_of
from assistant.parsers.rules.lexicon import Lexicon
from assistant.parsers.rules.references import read_references
from assistant.parsers.rules.spelling import Speller
from assistant.parsers.rules.state import State, lower_same_length
from assistant.parsers.rules.titles import read_titles
from assistant.parsers.rules.words import read_words
from assistant.parsers.rules.years import read_years
from assistant.parsers.vocabulary import TitleMatcher, Vocabulary
from retrieval.catalog import Catalog
from retrieval.request import InputIssue, Intent, ParseContext, Request, Topic

__all__ = ["DEFAULT_MAX_CHARS", "RulesParser"]

DEFAULT_MAX_CHARS = 1000
"""Characters of a message the parser reads; the rest is ignored (issue ``truncated``)."""


class RulesParser:
    """The offline, deterministic :class:`~assistant.parsers.RequestParser`.

    Builds its lexicon and title matcher once from ``catalog``; ``parse`` then reads at most
    ``max_chars`` characters of a message.

    Args:
        catalog: The catalog whose genres, tags and titles the parser may use.
        max_chars: Characters of a message that are read (default 1000).

    Example:
        >>> from retrieval.demo import load_demo_catalog
        >>> parser = RulesParser(load_demo_catalog())
        >>> r = parser.parse("start over: a podcast about space")
        >>> r.topic.value, r.media_types, r.tags, r.query
        ('reset', [<MediaType.podcast: 'podcast'>], ['space'], ': a podcast about space')
        >>> parser.parse("shorter").topic.value, parser.parse("horror then").topic.value
        ('refine', 'new')
    """

    name = "rules"

    def __init__(self, catalog: Catalog, *, max_chars: int = DEFAULT_MAX_CHARS) -> None:
        if not isinstance(max_chars, int) or max_chars < 1:
            raise ValueError(
                f"max_chars must be a positive number of characters, got {max_chars!r}")
        self.max_chars = max_chars
        self._catalog = catalog
        self.vocabulary = Vocabulary.from_catalog(catalog)
        self.titles = TitleMatcher(catalog)
        self.lexicon = Lexicon.build(self.vocabulary)
        self.speller = Speller(self.lexicon.senses)

    def clean(self, message: object) -> tuple[str, list[InputIssue]]:
        """The text of ``message`` that is read, and what was wrong with it (step 1).

        Raises:
            TypeError: ``message`` is neither text nor bytes.
        """
        return clean(message, self.max_chars)

    def parse(self, message: str, context: ParseContext | None = None) -> Request:
        """Parse one message; see :mod:`assistant.parsers.rules` for what is read and how."""
        if context is not None and not isinstance(context, ParseContext):
            context = ParseContext.model_validate(context)
        text, issues = self.clean(message)
        if language_of(text) == "en":  # another language's words are not English typos
            text, _ = self.speller(text)
        state = State(text=text, work=lower_same_length(text), issues=issues, matcher=self.titles)
        if not text:
            if InputIssue.instructions_ignored not in issues:
                issues.append(InputIssue.empty)
            return Request(intent=Intent.chitchat, issues=issues, topic=Topic.refine)
        read_references(state, context)
        read_titles(state, self.titles, self.lexicon)
        if is_foreign(state):
            state.issues.append(InputIssue.unsupported_language)
            return assemble(state, [], context, self.vocabulary, self._catalog, foreign=True)
        too = read_too(state)  # "too long": before "long" is read as a length
        read_durations(state, self.lexicon)
        read_years(state, self.lexicon, self.vocabulary.recent_from)
        read_counts(state)
        tokens, hits = read_words(state, self.lexicon)
        hits = sorted([*too, *hits], key=lambda h: h.start)
        count_from_tokens(state, tokens, hits)
        retarget_playlist(state, hits, context)  # "make it an hour" after a playlist
        return assemble(state, hits, context, self.vocabulary, self._catalog)
