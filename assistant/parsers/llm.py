"""The LLM request parser: structured output into a bounded schema, then checked like input.

What happens to one message:

1. **Clean-up**, the rules parser's own (control characters, truncation to ``max_chars``,
   clauses addressed to the system dropped). An empty message gets the rules parser's answer
   and no LLM call.
2. **Prompt** from ``prompts/parse_request.txt``: the catalog's genres, a short summary of
   the conversation (the previous request's slots, the titles of the last list shown) and
   the message as a JSON string.
3. **Structured output** into :class:`ParsedRequest`, the LLM-facing schema: every field
   required (nullable or empty when not said), ``additionalProperties: false``, every list
   and string bounded, enums for intents, media types, moods and roles. That is what OpenAI
   ``strict`` JSON schemas demand, and an unbounded list lets a small model generate until
   ``max_tokens``.
4. **Checks**, since a model's output is untrusted: genres and tags are held to the
   catalog's vocabulary (moods add their tags, as in the rules parser); each title must be
   said in the message (or shown in the last list) and match a catalog title
   (:class:`~assistant.parsers.vocabulary.TitleMatcher`); positions must exist in the last
   list. Then the :class:`~retrieval.request.Request` validators run.

Every failure raises :class:`~assistant.llm.LLMFailure` with a short ``reason``; the turn
falls back to the rules parser (:func:`parse_with_fallback`) and records it.

Using it against a real server (``vllm serve``, see ``encore vllm-command``)::

    from assistant.parsers.llm import LLMParser
    from assistant.settings import LLMSettings
    parser = LLMParser(catalog, settings=LLMSettings(
        parser="llm", base_url="http://127.0.0.1:8000/v1", model=MODEL, max_tokens=256))
    request = parser.parse("something like Arrival but shorter")

Example (a scripted chat model in place of a server):
    >>> from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    >>> from langchain_core.messages import AIMessage
    >>> from retrieval.demo import load_demo_catalog
    >>> reply = ParsedRequest.empty(intent="similar", media_types=["movie"],
    ...     exclude_genres=["horror"], titles=[{"text": "Arrival", "role": "like"}])
    >>> fake = GenericFakeChatModel(messages=iter([AIMessage(content=reply.model_dump_json())]))
    >>> parser = LLMParser(load_demo_catalog(), chat_model=fake)
    >>> r = parser.parse("films like Arrival, no horror")
    >>> r.intent.value, r.media_types, r.exclude_genres, r.like_ids
    ('similar', [<MediaType.movie: 'movie'>], ['horror'], ['mv-arrival-2016'])
"""

from __future__ import annotations

import json
import logging
from typing import Annotated, Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import HumanMessage
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from assistant.deadline import TurnDeadline
from assistant.llm import (
    LLMFailure,
    failure_reason,
    make_chat_model,
    run_within,
    structured,
)
from assistant.parsers.rules import DEFAULT_MAX_CHARS, RulesParser
from assistant.parsers.rules.topic import is_reset, topic_of
from assistant.parsers.vocabulary import title_key
from assistant.reply import Fallback
from assistant.settings import LLMSettings
from prompts import load_prompt
from retrieval.catalog import Catalog
from retrieval.models import MediaType
from retrieval.request import (
    InputIssue,
    Intent,
    Mood,
    ParseContext,
    RelativeDuration,
    RelativeYear,
    Request,
    TitleRef,
    TitleRole,
    Topic,
)

__all__ = ["LLMParser", "ParsedRequest", "ParsedTitle", "parse_with_fallback"]

log = logging.getLogger(__name__)

MAX_PROMPT_GENRES = 150
"""Genres listed in the prompt (the most frequent ones, for very large vocabularies)."""
MAX_SHOWN_TITLES = 20
"""Titles of the last list shown in the prompt's conversation summary."""
TITLE_IN_MESSAGE_CUTOFF = 80.0
"""How closely (rapidfuzz partial ratio, 0-100) a title must appear in the message."""

_Label = Annotated[str, StringConstraints(min_length=1, max_length=60)]
_Position = Annotated[int, Field(ge=-1, le=100)]


class ParsedTitle(BaseModel):
    """A title as the model read it: the words of the message, and how it is meant."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=120, description="The title as written.")
    role: TitleRole = Field(description="like: more like it; not: not it; about: the subject.")


class ParsedRequest(BaseModel):
    """The schema the model fills: :class:`~retrieval.request.Request`'s slots an LLM may
    read from a message, all required and bounded (a strict JSON schema).

    Ids, issues and excluded ids are left out: the parser derives them (titles are
    resolved against the catalog, positions against the last list).

    Example:
        >>> schema = ParsedRequest.model_json_schema()
        >>> schema["additionalProperties"], len(schema["required"]) == len(schema["properties"])
        (False, True)
        >>> ParsedRequest.empty(count=5).count
        5
    """

    model_config = ConfigDict(
        extra="forbid", use_attribute_docstrings=True,
        # the model sees this, not the class docstring and its examples
        json_schema_extra={"description": "What one message asks for. Empty or null: not said."})

    intent: Intent
    """recommend, search, similar, playlist, trending, details, feedback or chitchat."""
    query: str = Field(max_length=200)
    """The message in a few words, without what it rejects."""
    media_types: list[MediaType] = Field(max_length=7)
    """Kinds of item asked for (empty: any)."""
    exclude_media_types: list[MediaType] = Field(max_length=7)
    """Kinds of item refused."""
    genres: list[_Label] = Field(max_length=6)
    """Wanted genres, from the catalog's list."""
    exclude_genres: list[_Label] = Field(max_length=6)
    """Genres to leave out."""
    tags: list[_Label] = Field(max_length=8)
    """Wanted themes, lower case."""
    exclude_tags: list[_Label] = Field(max_length=8)
    """Themes to leave out."""
    moods: list[Mood] = Field(max_length=4)
    """Moods named in the message."""
    year_min: int | None = Field(ge=1800, le=2100)
    """Earliest release year, inclusive."""
    year_max: int | None = Field(ge=1800, le=2100)
    """Latest release year, inclusive."""
    relative_year: RelativeYear | None
    """Newer or older than what was shown last."""
    min_minutes: int | None = Field(ge=1, le=100_000)
    """Shortest duration in minutes (one episode for series and podcasts)."""
    max_minutes: int | None = Field(ge=1, le=100_000)
    """Longest duration in minutes (one episode for series and podcasts)."""
    relative_duration: RelativeDuration | None
    """Shorter or longer than what was shown last."""
    language: str | None = Field(pattern=r"^[a-z]{2,3}$")
    """Original language, ISO 639-1."""
    titles: list[ParsedTitle] = Field(max_length=5)
    """Titles named in the message."""
    reference_positions: list[_Position] = Field(max_length=5)
    """1-based positions in the last list the message points at (-1: the last)."""
    exclude_positions: list[_Position] = Field(max_length=5)
    """1-based positions in the last list the message rejects (-1: the last)."""
    count: int | None = Field(ge=1, le=50)
    """How many items were asked for."""
    playlist_minutes: int | None = Field(ge=1, le=1440)
    """Target length of a playlist in minutes."""
    topic: Topic | None
    """new: it says what it wants (a subject, genre, mood or title); refine: it only changes
    the previous request; reset: it starts over. Null: the parser decides."""

    @classmethod
    def empty(cls, **values: Any) -> ParsedRequest:
        """A reply with nothing said except ``values`` (for tests and examples)."""
        base: dict[str, Any] = {
            name: ([] if "list" in str(field.annotation) else None)
            for name, field in cls.model_fields.items()}
        base.update(intent=Intent.recommend, query="")
        return cls.model_validate({**base, **values})


class LLMParser:
    """The ``llm`` :class:`~assistant.parsers.RequestParser`: a chat model fills
    :class:`ParsedRequest`, and the result is checked against the catalog.

    Unlike the rules parser, ``parse`` raises :class:`~assistant.llm.LLMFailure` when the
    model gives no usable answer; :func:`parse_with_fallback` turns that into the rules
    parser's answer plus a :class:`~assistant.reply.Fallback`.

    Args:
        catalog: The catalog whose genres, tags and titles requests may name.
        settings: The ``llm`` settings (server, model, time-out); used when ``chat_model`` is
            not given.
        chat_model: A LangChain chat model to use instead (a fake in unit tests).
        rules: The rules parser to share (its clean-up, title matcher and vocabulary, and
            its answer for empty messages); built from ``catalog`` when not given.
        max_chars: Characters of a message that are read (when ``rules`` is not given).

    See the module docstring for an example.
    """

    name = "llm"

    def __init__(self, catalog: Catalog, *, settings: LLMSettings | None = None,
                 chat_model: BaseChatModel | None = None, rules: RulesParser | None = None,
                 max_chars: int = DEFAULT_MAX_CHARS) -> None:
        self.settings = settings if settings is not None else LLMSettings(parser="llm")
        self.chat_model = chat_model if chat_model is not None else make_chat_model(self.settings)
        self._catalog = catalog
        self._rules = rules if rules is not None else RulesParser(catalog, max_chars=max_chars)
        self._prompt = load_prompt("parse_request")
        self._runnable = structured(self.chat_model, ParsedRequest)
        counts = catalog.genre_counts()
        self._genres = ", ".join(sorted(g for g, _ in counts.most_common(MAX_PROMPT_GENRES)))

    @property
    def model_name(self) -> str:
        """The model's name as the chat model reports it (for a turn's metadata)."""
        for attr in ("model_name", "model"):
            value = getattr(self.chat_model, attr, None)
            if isinstance(value, str) and value:
                return value
        return type(self.chat_model).__name__

    def prompt(self, text: str, context: ParseContext | None = None) -> str:
        """The prompt sent for the cleaned message ``text``."""
        return self._prompt.format(genres=self._genres or "(none)",
                                   history=self._history(context),
                                   message=json.dumps(text, ensure_ascii=False))

    def parse(self, message: str, context: ParseContext | None = None, *,
              deadline: TurnDeadline | None = None) -> Request:
        """Parse one message with the chat model, by ``deadline`` (the turn's; default:
        ``llm.timeout_s`` from now).

        Raises:
            LLMFailure: the model timed out, was unreachable, refused, or returned invalid
                JSON, JSON outside the schema, an unknown title or a position that the last
                list does not have (``reason`` says which).
        """
        if context is not None and not isinstance(context, ParseContext):
            context = ParseContext.model_validate(context)
        text, issues = self._rules.clean(message)
        if not text:
            return self._rules.parse(message, context)
        try:
            messages = [HumanMessage(content=self.prompt(text, context))]
            if deadline is None:
                deadline = TurnDeadline(self.settings.timeout_s)
            parsed = run_within(lambda: self._runnable.invoke(messages), deadline,
                                self.chat_model, "the parser model")
            if not isinstance(parsed, ParsedRequest):
                raise LLMFailure("schema violation",
                                 f"the chat model returned {type(parsed).__name__}, "
                                 "not ParsedRequest")
            return self.to_request(parsed, text, issues, context)
        except LLMFailure:
            raise
        except Exception as exc:  # every backend error becomes one recorded reason
            raise LLMFailure(failure_reason(exc), f"{type(exc).__name__}: {exc}"[:300]) from exc

    # -- conversion and checks -------------------------------------------------------------

    def to_request(self, parsed: ParsedRequest, text: str,
                   issues: list[InputIssue] | None = None,
                   context: ParseContext | None = None) -> Request:
        """Check ``parsed`` against the catalog and the conversation; build the Request.

        Raises:
            LLMFailure: "unknown title" or "position out of range".
            pydantic.ValidationError: the slots contradict each other (year_min > year_max).
        """
        vocab = self._rules.vocabulary
        excl_genres = vocab.keep_genres(parsed.exclude_genres)
        genres = [g for g in vocab.keep_genres(parsed.genres) if g not in excl_genres]
        explicit_excl_tags = vocab.keep_tags(parsed.exclude_tags)
        tags = list(parsed.tags)
        mood_excl: list[str] = []
        for mood in parsed.moods:
            include, exclude = vocab.mood_tags(mood)
            tags += include
            mood_excl += exclude
        tags = [t for t in vocab.keep_tags(tags) if t not in explicit_excl_tags]
        # an explicit "no X" always wins; a mood's opposite gives way to anything asked for
        excl_tags = list(dict.fromkeys(explicit_excl_tags + [t for t in mood_excl
                                                             if t not in tags]))
        excl_media = list(dict.fromkeys(parsed.exclude_media_types))
        media = [m for m in dict.fromkeys(parsed.media_types) if m not in excl_media]
        shown = self._shown_titles(context)
        self._check_positions(parsed.reference_positions + parsed.exclude_positions, context)
        exclude_ids = [i for p in parsed.exclude_positions
                       if context is not None and (i := context.id_at(p)) is not None]
        request = Request(
            intent=parsed.intent,
            query=(" ".join(parsed.query.split()) or text)[:500],
            media_types=media,
            exclude_media_types=excl_media,
            genres=genres[:10],
            exclude_genres=excl_genres[:10],
            tags=tags[:20],
            exclude_tags=excl_tags[:20],
            moods=list(dict.fromkeys(parsed.moods)),
            year_min=parsed.year_min,
            year_max=parsed.year_max,
            relative_year=parsed.relative_year,
            min_minutes=parsed.min_minutes,
            max_minutes=parsed.max_minutes,
            relative_duration=parsed.relative_duration,
            language=parsed.language,
            titles=self._titles(parsed.titles, text, shown)[:10],
            reference_positions=list(dict.fromkeys(parsed.reference_positions)),
            exclude_positions=list(dict.fromkeys(parsed.exclude_positions)),
            exclude_ids=list(dict.fromkeys(exclude_ids)),
            count=parsed.count,
            playlist_minutes=parsed.playlist_minutes,
            issues=list(dict.fromkeys(issues or []))[:5],
            topic=parsed.topic,
        )
        if parsed.topic is None:  # the model left it open: read the message as the rules do
            request = request.model_copy(update={"topic": topic_of(request, is_reset(text))})
        return request

    def _titles(self, titles: list[ParsedTitle], text: str, shown: list[str]) -> list[TitleRef]:
        from rapidfuzz import fuzz

        matcher = self._rules.titles
        said = title_key(text)
        out: list[TitleRef] = []
        for t in titles:
            key = title_key(t.text)
            if not key or not any(fuzz.partial_ratio(key, where) >= TITLE_IN_MESSAGE_CUTOFF
                                  for where in [said, *shown]):
                raise LLMFailure("unknown title",
                                 f"{t.text!r} is not in the message nor in the last list")
            match = matcher.exact(t.text) or matcher.fuzzy(t.text)
            if match is None:
                raise LLMFailure("unknown title", f"{t.text!r} matches no title of the catalog")
            for item_id in match.ids:
                if item_id not in self._catalog:
                    raise LLMFailure("unknown title", f"{item_id!r} is not in the catalog")
                if all(r.item_id != item_id for r in out):
                    out.append(TitleRef(text=t.text, item_id=item_id, role=t.role,
                                        score=round(match.score, 1)))
        return out

    @staticmethod
    def _check_positions(positions: list[int], context: ParseContext | None) -> None:
        n = len(context.last_ids) if context is not None else 0
        for p in positions:
            if p == 0 or (p != -1 and p > n) or (p == -1 and n == 0):
                shown = f"the last list has {n} items" if n else "no list was shown"
                raise LLMFailure("position out of range", f"position {p}, but {shown}")

    # -- prompt ---------------------------------------------------------------------------------

    def _shown_titles(self, context: ParseContext | None) -> list[str]:
        if context is None:
            return []
        items = (self._catalog.get(i) for i in context.last_ids[:MAX_SHOWN_TITLES])
        return [title_key(it.title) for it in items if it is not None]

    def _history(self, context: ParseContext | None) -> str:
        if context is None or (context.previous is None and not context.last_ids):
            return "(nothing yet: this is the first message)"
        lines = []
        if context.previous is not None:
            slots = context.previous.model_dump(
                mode="json", exclude_defaults=True,
                exclude={"issues", "exclude_ids", "query", "topic"})
            for t in slots.get("titles", []):
                t.pop("score", None)
                t.pop("item_id", None)
            lines.append("Previous request: " + json.dumps(slots, ensure_ascii=False,
                                                           separators=(", ", ": ")))
        if context.last_ids:
            lines.append("Last list shown:")
            for n, item_id in enumerate(context.last_ids[:MAX_SHOWN_TITLES], start=1):
                item = self._catalog.get(item_id)
                if item is None:
                    lines.append(f"{n}. (an item no longer in the catalog)")
                    continue
                facts = ", ".join(str(x) for x in (item.media_type, item.year) if x)
                lines.append(f"{n}. {item.title[:100]} ({facts})")
            if len(context.last_ids) > MAX_SHOWN_TITLES:
                lines.append(f"... and {len(context.last_ids) - MAX_SHOWN_TITLES} more")
        return "\n".join(lines)


def parse_with_fallback(primary: Any, fallback: Any, message: str,
                        context: ParseContext | None = None, *,
                        deadline: TurnDeadline | None = None,
                        ) -> tuple[Request, str, Fallback | None]:
    """Parse with ``primary`` (by ``deadline`` when given); on any failure, with
    ``fallback``, saying why.

    Returns:
        (request, name of the parser that answered, the :class:`~assistant.reply.Fallback`
        to record or None).

    Example:
        >>> from retrieval.demo import load_demo_catalog
        >>> rules = RulesParser(load_demo_catalog())
        >>> class Down:
        ...     name = "llm"
        ...     def parse(self, message, context=None):
        ...         raise LLMFailure("connection refused")
        >>> request, used, fb = parse_with_fallback(Down(), rules, "90s sci-fi films")
        >>> used, fb.reason, request.genres
        ('rules', 'connection refused', ['science fiction'])
    """
    wanted = getattr(primary, "name", type(primary).__name__)
    try:
        if deadline is None:
            return primary.parse(message, context), wanted, None
        return primary.parse(message, context, deadline=deadline), wanted, None
    except Exception as exc:  # an LLM failure never fails a turn
        reason = failure_reason(exc)
        log.warning("request parser %r failed (%s: %s); using %r", wanted, reason, exc,
                    getattr(fallback, "name", type(fallback).__name__))
    used = getattr(fallback, "name", type(fallback).__name__)
    request = fallback.parse(message, context)
    return request, used, Fallback(stage="parser", wanted=wanted, used=used, reason=reason)
