"""Run a conversation suite through :meth:`assistant.core.Assistant.chat` and check each turn.

Every conversation gets a fresh session and its own SQLite history store in a temporary
folder (feedback given in one conversation never reaches another); the bundle is loaded
once. Each reply is read back through the catalog (item ids -> metadata) and handed to the
checks of :mod:`eval.conversations.checks`.

Example (``bundle_path`` is a built demo bundle)::

    report = run_suite(bundle_path, load_suite("eval/data/conversations.jsonl"))
    print(report.pass_rate, report.check_rates()["match"])
"""

from __future__ import annotations

import re
import tempfile
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from eval.conversations.checks import CHECKS, IMPLIED_BOUNDS, TurnView, implied
from eval.conversations.facts import labels
from eval.conversations.report import SuiteReport, TurnResult
from eval.conversations.suite import Conversation, Expect, SuiteTurn, effective_expects

if TYPE_CHECKING:
    from assistant.core import Assistant
    from assistant.engine import Engine
    from assistant.reply import Reply
    from assistant.settings import Settings
    from retrieval.catalog import Catalog
    from retrieval.models import Item

__all__ = ["resolve_user", "run_conversation", "run_suite"]


def run_suite(bundle: str | Path, conversations: Sequence[Conversation], *,
              settings: Settings | None = None, suite_name: str = "",
              progress: Callable[[int, int], None] | None = None) -> SuiteReport:
    """Run every conversation on the bundle at ``bundle`` and check every turn.

    Args:
        bundle: A built bundle (any bundle of the demo catalog).
        conversations: The suite (:func:`eval.conversations.suite.load_suite`).
        settings: Assistant settings (default: the offline rules parser and templates);
            the history store setting is replaced by a temporary SQLite file.
        suite_name: What to call the suite in the report (its file name).
        progress: Called with (conversations done, total) after each one.
    """
    from assistant.core import Assistant
    from assistant.settings import Settings

    settings = settings or Settings()
    base = Assistant.from_bundle(bundle, settings.model_copy(
        update={"store": settings.store.model_copy(update={"url": "sqlite://:memory:"})}))
    turns: list[TurnResult] = []
    users = _UserPicker(base)
    with tempfile.TemporaryDirectory(prefix="encore-conversations-") as tmp:
        for n, conv in enumerate(conversations, start=1):
            turns += run_conversation(base, conv, Path(tmp) / f"{n:04d}.sqlite3", users)
            if progress is not None:
                progress(n, len(conversations))
    base.close()
    return SuiteReport(suite=suite_name, bundle=str(bundle), conversations=len(conversations),
                       checks=list(CHECKS), turns=turns)


def run_conversation(base: Assistant, conv: Conversation, store_file: Path,
                     users: _UserPicker | None = None) -> list[TurnResult]:
    """Run one conversation with a fresh session and store; one result per turn."""
    from assistant.core import Assistant
    from assistant.store import open_store

    user = (users or _UserPicker(base)).pick(conv)
    bot = Assistant(base.engine, base.settings, open_store(f"sqlite:///{store_file}"),
                    bundle_path=base.bundle_path, manifest=base.manifest)
    state = _State()
    results: list[TurnResult] = []
    try:
        for index, (turn, expect) in enumerate(zip(conv.turns, effective_expects(conv),
                                                   strict=True)):
            kinds = [*conv.kinds, *turn.kinds]
            try:
                reply = bot.chat(f"suite-{conv.id}", user, turn.say)
            except Exception as exc:  # a crash fails the turn; the suite goes on
                results.append(TurnResult(conversation=conv.id, turn=index + 1, user=user,
                                          say=turn.say, kinds=kinds,
                                          error=f"{type(exc).__name__}: {exc}"))
                continue
            view = _view(bot, user, reply, expect, turn, state)
            outcomes = {name: out for name, check in CHECKS.items()
                        if (out := check(view)) is not None}
            results.append(TurnResult(
                conversation=conv.id, turn=index + 1, user=user, say=turn.say, kinds=kinds,
                reply=reply.text, shown=[_card_words(it) for it in view.shown],
                outcomes=outcomes))
            state.advance(turn.likes, view.shown, expect, view)
    finally:
        bot.close()
    return results


@dataclass
class _State:
    """What the conversation has shown so far, as the checks need it."""

    shown_before: set[str] = field(default_factory=set)
    previous: list[Item] | None = None
    previous_expect: Expect | None = None
    liked: Item | None = None
    carried: dict[str, float] = field(default_factory=dict)
    """Bounds implied by relative follow-ups that still hold (see ``TurnView.carried``)."""

    def advance(self, likes: int | None, shown: Sequence[Item], expect: Expect,
                view: TurnView | None = None) -> None:
        if likes is not None and self.previous and len(self.previous) >= likes:
            self.liked = self.previous[likes - 1]
        if shown:
            self.previous, self.previous_expect = list(shown), expect
            self.shown_before |= {it.id for it in shown}
        if view is not None:
            bounds = implied(view)
            self.carried = {key: value for key in IMPLIED_BOUNDS
                            if (value := getattr(bounds, key)) is not None
                            and value != getattr(expect, key)}


def _view(bot: Assistant, user: str, reply: Reply, expect: Expect, turn: SuiteTurn,
          state: _State) -> TurnView:
    catalog = bot.catalog
    shown = [catalog[r.item_id] for r in reply.recommendations if r.item_id in catalog]
    history = [catalog[e.item_id] for e in bot.history(user, limit=100_000)
               if e.item_id in catalog]
    cards = [r for r in reply.recommendations if r.item_id in catalog]
    # "Never twice" is for fresh suggestions: a follow-up (or feedback) may show again what
    # the conversation showed, so those items stay available to it.
    refines = bool(turn.follow) or turn.likes is not None
    shown_before = set() if refines else state.shown_before
    if any(rel.replaced is not None for rel in turn.follow):
        # "Not the Nth one": the rest of the list stays, and its replacement is a fresh
        # suggestion, so what earlier lists showed is not available to it.
        shown_before = state.shown_before - {it.id for it in state.previous or ()}
        # The item the person turned down cannot be shown again, so it is not available.
        previous = state.previous or []
        shown_before |= {previous[rel.replaced - 1].id for rel in turn.follow
                         if rel.replaced is not None and 0 < rel.replaced <= len(previous)}
    explanations = [r.explanation for r in cards]
    return TurnView(
        expect=expect, shown=shown, catalog=list(catalog), lead=reply.text,
        notice=reply.notice or "", explanations=explanations,
        cited=[cited_history(card.explanation, item, history,
                             grounded={h.item_id for h in card.grounds.history})
               for card, item in zip(cards, shown, strict=True)],
        unavailable=frozenset({it.id for it in history} | shown_before),
        previous=state.previous, previous_expect=state.previous_expect, liked=state.liked,
        relations=turn.follow, unreadable=turn.unreadable,
        intent=reply.intent, carried={} if turn.fresh else dict(state.carried))


def cited_history(text: str, pick: Item, history: Sequence[Item],
                  grounded: Collection[str] = ()) -> list[Item]:
    """History items whose titles ``text`` names, apart from the pick's own title.

    Titles are matched whole and case-sensitively. A one-word title ("Up", "Sleep") may be
    a plain word: it counts when quoted, or when the pick's grounds list that history item
    (``grounded`` ids, what the explainer was given to cite).

    Example:
        >>> from retrieval.models import Item
        >>> pick = Item(id="p", title="Dune: Part Two", media_type="movie")
        >>> hist = [Item(id="d", title="Dune", media_type="movie"),
        ...         Item(id="u", title="Up", media_type="movie")]
        >>> text = "Dune: Part Two, like Dune. Up next"
        >>> [it.title for it in cited_history(text, pick, hist, grounded={"d"})]
        ['Dune']
    """
    own = [m.span() for m in re.finditer(re.escape(pick.title), text)]
    out: list[Item] = []
    for item in history:
        title = item.title
        if item.id == pick.id or item in out:
            continue
        core = re.escape(title)
        plain = " " in title.strip() or item.id in grounded
        pattern = core if plain else r"[\"'“‘]" + core + r"[\"'”’]"
        for m in re.finditer(r"(?<![\w])" + pattern + r"(?![\w])", text):
            # "Dune" inside the pick's own "Dune: Part Two" cites nothing.
            if not any(a <= m.start() and m.end() <= b for a, b in own):
                out.append(item)
                break
    return out


def _card_words(item: Item) -> str:
    minutes = f", {item.duration_min:g} min" if item.duration_min else ""
    year = f" ({item.year})" if item.year else ""
    return f"{item.title}{year} [{item.media_type.value}{minutes}; " \
           f"{', '.join(item.genres)}]"


class _UserPicker:
    """Resolves a conversation's ``user``: 'new', a bundle user id, or 'fan:LABEL'."""

    def __init__(self, bot: Assistant) -> None:
        self.bot = bot
        self._fans: dict[str, str] = {}

    def pick(self, conv: Conversation) -> str:
        user = conv.user.strip()
        if user == "new":
            return f"suite-new-{conv.id}"
        if user.startswith("fan:"):
            return self.fan_of(user[4:].strip().lower())
        if not self.bot.engine.has_user(user):
            raise ValueError(f"conversation {conv.id!r}: user {user!r} is not in the bundle. "
                             "Fix: use 'new', 'fan:LABEL' or a user id of this bundle")
        return user

    def fan_of(self, label: str) -> str:
        """The bundle user whose liked and played items most often carry ``label``."""
        if label not in self._fans:
            self._fans[label] = resolve_user(self.bot.engine, self.bot.catalog, label)
        return self._fans[label]


def resolve_user(engine: Engine, catalog: Catalog, label: str, min_events: int = 10) -> str:
    """The user (with at least ``min_events`` positive events) whose positive history has
    the largest share of items labelled ``label``; ties go to the smaller id.

    Raises:
        ValueError: no user has an item with that label (the message names it).
    """
    best: tuple[float, str] | None = None
    for user in engine.known_users():
        hist = engine.base_history(user)
        positive = [i for i, ev in zip(hist.item_ids, hist.events, strict=True)
                    if ev not in ("dislike", "skip") and i in catalog]
        if len(positive) < min_events:
            continue
        counts = Counter(label in labels(catalog[i]) for i in positive)
        key = (-counts[True] / len(positive), user)
        if counts[True] and (best is None or key < best):
            best = key
    if best is None:
        raise ValueError(f"no user of this bundle has an item labelled {label!r}. Fix: use a "
                         "genre or tag of the catalog in 'fan:LABEL'")
    return best[1]
