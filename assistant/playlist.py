"""Playlists of a target length that honour what was asked.

- What matches (:class:`Wanted`): an item *matches* when it has a genre the request names
  (any of them) and, when moods are named, a tag of one of those moods. A *close match* has
  a neighbouring genre (:data:`CLOSE_GENRES`: alternative or punk for rock, never pop or
  latin) with the mood, or the genre without the mood; it is labelled in words ("close
  match: alternative, not indie rock"). Anything else never enters the playlist.
- How it fills (:func:`assemble`): kept items first (a previous playlist, in order, cut
  from the end when it runs past the target), then matching items, then close matches
  *only when the matching items cannot reach the target*. When even they cannot, the
  playlist is shorter than asked and :func:`describe` says how close it came and why. This
  is the documented choice between padding and honesty: a playlist is never padded with
  items that neither match nor come close (no Despacito in an indie-rock playlist).
- Lengths (:func:`fill`): a bounded subset sum picks, among the best-ranked items, those
  whose durations sum closest to the target (within ±5% when the catalog allows it).
- Order (:func:`flow`): relevance order, the same creator never twice in a row when
  avoidable. :meth:`assistant.engine.Engine.playlist` draws and ranks the candidates;
  :func:`playlist_reply` turns the result into the typed
  :class:`~assistant.reply.PlaylistReply` (M3U and JSON export).

Example:
    >>> fill([50, 30, 25, 10], target=60, lo=57, hi=63)
    [0, 3]
    >>> want = Wanted.of(Request(genres=["indie", "rock"]))
    >>> want.level(["rock", "alternative"], []), want.level(["alternative"], [])
    (('match', ''), ('close', 'close match: alternative, not indie rock'))
    >>> want.level(["latin", "pop"], [])
    (None, '')
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from retrieval.request import Request

if TYPE_CHECKING:
    from assistant.reply import PlaylistReply, Recommendation
    from assistant.turn.registry import PlaylistInfo
    from retrieval.catalog import Catalog
    from retrieval.diversify import RankedItem

__all__ = ["CLOSE_GENRES", "Pick", "Playlist", "Pool", "Wanted", "assemble", "describe", "fill",
           "clock", "flow", "playlist_reply", "span", "title"]

_DURATION_UNIT = 100  # playlist sums are exact to 1/100 of a minute

Level = Literal["match", "close"]
Shortfall = Literal["", "nothing", "all_too_long", "not_enough", "too_coarse"]

# Neighbouring genres, by hand over retrieval/demo/VOCABULARY.md: what a person who asked for
# the key would accept as "close". Written one way and made symmetric below. Deliberately
# narrow: pop, latin and electronic are not close to rock, so they never fill a rock playlist.
_NEIGHBOURS: dict[str, tuple[str, ...]] = {
    # music
    "rock": ("alternative", "indie", "punk", "metal", "blues"),
    "indie": ("alternative", "folk"),
    "alternative": ("punk",),
    "punk": ("metal",),
    "pop": ("r&b", "soul", "funk"),
    "electronic": ("ambient",),
    "ambient": ("classical", "soundtrack"),
    "classical": ("soundtrack",),
    "jazz": ("blues", "soul", "funk"),
    "blues": ("soul", "folk"),
    "soul": ("r&b", "funk"),
    "r&b": ("hip hop", "funk"),
    "hip hop": ("funk",),
    "folk": ("country",),
    "country": ("blues",),
    "latin": ("reggae",),
    "reggae": ("soul",),
    # films and series
    "science fiction": ("fantasy", "adventure"),
    "fantasy": ("adventure", "animation"),
    "horror": ("thriller", "mystery"),
    "thriller": ("crime", "mystery"),
    "crime": ("mystery",),
    "action": ("adventure", "thriller"),
    "comedy": ("family", "animation"),
    "family": ("animation",),
    "drama": ("biography", "romance"),
    "biography": ("history", "documentary"),
    "history": ("war", "documentary"),
    # podcasts and audiobooks
    "true crime": ("crime", "society & culture"),
    "science": ("technology", "education"),
    "technology": ("business",),
    "news": ("politics",),
    "politics": ("society & culture",),
    "arts": ("society & culture",),
    "health": ("science",),
    "fiction": ("fantasy", "science fiction", "mystery"),
}


def _symmetric(pairs: dict[str, tuple[str, ...]]) -> dict[str, frozenset[str]]:
    out: dict[str, set[str]] = {}
    for a, bs in pairs.items():
        for b in bs:
            out.setdefault(a, set()).add(b)
            out.setdefault(b, set()).add(a)
    return {k: frozenset(v) for k, v in out.items()}


CLOSE_GENRES: dict[str, frozenset[str]] = _symmetric(_NEIGHBOURS)
"""Genre -> the genres close to it (symmetric)."""


@dataclass(frozen=True)
class Wanted:
    """What a playlist item must have: one of ``genres`` (none named: any), and one of
    ``mood_tags`` (no mood named: any); ``close`` are the neighbours of ``genres``.

    Example:
        >>> w = Wanted.of(Request(genres=["pop"], moods=["upbeat"], tags=["upbeat"]))
        >>> w.level(["pop"], ["danceable"]), w.level(["pop"], ["sad"])
        (('match', ''), ('close', 'close match: pop, but not upbeat'))
        >>> w.phrase
        'upbeat pop'
        >>> both = Wanted.of(Request(genres=["indie", "rock"], all_genres=True))
        >>> both.level(["indie", "rock"], []), both.level(["rock"], [])
        (('match', ''), ('close', 'close match: rock, not indie rock'))
    """

    genres: tuple[str, ...] = ()
    moods: tuple[str, ...] = ()
    mood_tags: frozenset[str] = frozenset()
    close: frozenset[str] = frozenset()
    all_genres: bool = False
    """Every genre at once ("indie rock"); an item with some of them comes close."""

    @classmethod
    def of(cls, request: Request) -> Wanted:
        from assistant.parsers.vocabulary import MOODS

        genres = tuple(dict.fromkeys(g.lower() for g in request.genres))
        tags: set[str] = set()
        for mood in request.moods:
            tags.update(MOODS.get(mood, ((mood.value,), ()))[0])
        close = frozenset().union(*(CLOSE_GENRES.get(g, frozenset()) for g in genres))
        return cls(genres, tuple(m.value for m in request.moods), frozenset(tags),
                   close - set(genres), request.all_genres and len(genres) > 1)

    @property
    def phrase(self) -> str:
        """The request in a few words ("upbeat indie rock"), empty when it names nothing."""
        return " ".join([" and ".join(self.moods), " ".join(self.genres)]).strip()

    def level(self, genres: Iterable[str], tags: Iterable[str]) -> tuple[Level | None, str]:
        """How an item with ``genres`` and ``tags`` answers: ``("match", "")``,
        ``("close", label in words)`` or ``(None, "")`` (never in the playlist)."""
        have, labels = set(genres), set(tags)
        mood_ok = not self.moods or bool(labels & self.mood_tags)
        genre_ok = not self.genres or (set(self.genres) <= have if self.all_genres
                                       else bool(have & set(self.genres)))
        if genre_ok and mood_ok:
            return "match", ""
        some = [g for g in self.genres if g in have]
        if self.all_genres and some and mood_ok:
            return "close", f"close match: {', '.join(some)}, not {' '.join(self.genres)}"
        if genre_ok and self.genres:
            got = ", ".join(g for g in self.genres if g in have)
            return "close", f"close match: {got}, but not {' or '.join(self.moods)}"
        near = [g for g in sorted(have) if g in self.close]
        if near and mood_ok:
            return "close", f"close match: {', '.join(near[:2])}, not {' '.join(self.genres)}"
        return None, ""


@dataclass(frozen=True)
class Pick:
    """One candidate: the ranked item, its length, and how it answers the request."""

    item: RankedItem
    minutes: float
    level: Level = "match"
    note: str = ""


@dataclass(frozen=True)
class Pool:
    """Everything :func:`assemble` chooses from.

    Attributes:
        kept: The previous playlist's items still allowed, in its order.
        matches: Matching candidates, best first.
        close: Close matches, best first.
        n_match: Matching items in the catalog that fit the request (the pool may hold
            fewer when the catalog is large), and ``match_minutes`` their total length.
        n_close: Close matches likewise, and ``close_minutes``.
        too_long: Matching items skipped because each alone runs past the target.
    """

    kept: list[Pick] = field(default_factory=list)
    matches: list[Pick] = field(default_factory=list)
    close: list[Pick] = field(default_factory=list)
    n_match: int = 0
    match_minutes: float = 0.0
    n_close: int = 0
    close_minutes: float = 0.0
    too_long: int = 0


@dataclass(frozen=True)
class Playlist:
    """An ordered playlist and how close its length came to the target.

    Attributes:
        items: The picks in play order (``rank`` is the position, ``score`` the ranker's).
        total_minutes: Sum of their ``duration_min``.
        target_minutes: The length asked for.
        within_tolerance: Whether ``total_minutes`` is within the tolerance of the target;
            when False the candidates could not reach it and this is the closest found.
        tolerance: The relative tolerance used (0.05: ±5%).
        levels: Item id -> ``"match"`` or ``"close"``.
        notes: Item id -> its close-match label in words (matching items have none).
        kept: How many items at the start come from the previous playlist (``keep_ids``).
        dropped: How many of the previous playlist's items were cut from its end.
        shortfall: Why it is not within tolerance ("" when it is): ``nothing`` matches,
            ``all_too_long`` (every match is longer than the target), ``not_enough``
            (everything that matches or comes close is shorter than the target),
            ``too_coarse`` (the lengths do not add up any closer).
        n_match, match_minutes, n_close, close_minutes: What the catalog holds
            (:class:`Pool`), for the words of :func:`describe`.

    Example:
        >>> p = Playlist(items=[], total_minutes=0.0, target_minutes=60, within_tolerance=False)
        >>> p.shortfall_minutes
        60.0
    """

    items: list[RankedItem]
    total_minutes: float
    target_minutes: int
    within_tolerance: bool
    tolerance: float = 0.05
    levels: dict[str, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    kept: int = 0
    dropped: int = 0
    shortfall: Shortfall = ""
    n_match: int = 0
    match_minutes: float = 0.0
    n_close: int = 0
    close_minutes: float = 0.0

    @property
    def shortfall_minutes(self) -> float:
        """Target minus total (negative when the playlist runs long)."""
        return round(float(self.target_minutes) - self.total_minutes, 2)

    @property
    def n_close_used(self) -> int:
        return sum(1 for v in self.levels.values() if v == "close")


def flow(picks: list[RankedItem], catalog: Catalog) -> list[RankedItem]:
    """Relevance order, moving an item down when it would follow one of the same creator
    (the next different one plays first)."""
    rest = list(picks)
    out: list[RankedItem] = []
    while rest:
        prev = set(catalog[out[-1].item_id].creators) if out else set()
        j = next((j for j, p in enumerate(rest)
                  if not prev & set(catalog[p.item_id].creators)), 0)
        out.append(rest.pop(j))
    return out


def fill(minutes: Sequence[float], target: float, lo: float, hi: float) -> list[int]:
    """Positions (ascending) of a subset of ``minutes`` whose sum is closest to ``target``,
    within ``[lo, hi]`` when possible, preferring early (higher-ranked) positions.

    The shortest prefix of the list that can reach ``[lo, hi]`` is searched (prefixes
    doubling) with a subset sum over units of 1/100 minute (bit sets held in Python
    integers, one per prefix length, so the subset can be read back); among its reachable
    sums in range the one closest to ``target`` is taken, and read back preferring the
    earlier items. When no prefix reaches the range, the whole list's closest sum is used.

    Example:
        >>> fill([50, 30, 25, 10], target=60, lo=57, hi=63)
        [0, 3]
    """
    units = [max(1, int(round(m * _DURATION_UNIT))) for m in minutes]
    if not units:
        return []
    t, lo_u, hi_u = (int(round(x * _DURATION_UNIT)) for x in (target, lo, hi))
    # Sums above the range are never wanted, so the bit sets stop there.
    limit_mask = (1 << (max(hi_u, t) + 1)) - 1
    reach = [1]  # reach[j]: sums reachable with the first j items (bit s set: sum s)
    for u in units:
        reach.append((reach[-1] | (reach[-1] << u)) & limit_mask)

    def closest(bits: int) -> int:
        """The reachable sum closest to the target (ties: the longer)."""
        below = bits & ((1 << (t + 1)) - 1)
        above = bits >> t
        options = []
        if below:
            options.append(below.bit_length() - 1)
        if above:
            options.append(t + (above & -above).bit_length() - 1)
        return min(options, key=lambda x: (abs(x - t), -x))

    chosen_len, target_sum = len(units), closest(reach[-1])
    m = 1
    while True:
        m = min(m, len(units))
        s = closest(reach[m])
        if lo_u <= s <= hi_u:
            chosen_len, target_sum = m, s
            break
        if m == len(units):
            break
        m *= 2
    # Read back, last item first: take item j only when the sum is not reachable without
    # it, so earlier (higher-ranked) items are preferred.
    out, s = [], target_sum
    for j in range(chosen_len, 0, -1):
        if (reach[j - 1] >> s) & 1:
            continue
        out.append(j - 1)
        s -= units[j - 1]
    return sorted(out)


def _top_up(tier: Sequence[Pick], total: float, target: float, lo: float, hi: float
            ) -> list[Pick]:
    """The picks of ``tier`` that bring ``total`` closest to ``target`` (within [lo, hi]
    when they can), without running past ``hi``."""
    room = hi - total
    usable = [p for p in tier if p.minutes <= room]
    chosen = fill([p.minutes for p in usable], target - total, max(lo - total, 0.0), room)
    return [usable[j] for j in chosen]


def assemble(pool: Pool, *, target: int, tolerance: float, catalog: Catalog) -> Playlist:
    """The playlist from ``pool``: the kept items (cut from the end when they run past the
    target; when the cut leaves it short, later kept items that fit come back, in order),
    then matching items, then close matches only while the target is not reached; each
    added tier in :func:`flow` order.

    Example:
        >>> from retrieval.catalog import Catalog
        >>> from retrieval.diversify import RankedItem
        >>> from retrieval.models import Item
        >>> cat = Catalog([Item(id=i, title=i, media_type="music_track", duration_min=10)
        ...                for i in "abcdef"])
        >>> pick = lambda i, level="match": Pick(RankedItem(item_id=i, rank=1, score=0.0), 10,
        ...                                      level, "close match" if level == "close" else "")
        >>> pool = Pool(kept=[pick("a"), pick("b"), pick("c")], matches=[pick("d")],
        ...             close=[pick("e", "close")], n_match=4, match_minutes=40.0)
        >>> pl = assemble(pool, target=20, tolerance=0.05, catalog=cat)
        >>> [p.item_id for p in pl.items], pl.kept, pl.dropped
        (['a', 'b'], 2, 1)
        >>> pl = assemble(pool, target=50, tolerance=0.05, catalog=cat)
        >>> [p.item_id for p in pl.items], pl.notes
        (['a', 'b', 'c', 'd', 'e'], {'e': 'close match'})
    """
    lo, hi = target * (1 - tolerance), target * (1 + tolerance)
    kept: list[Pick] = []
    total = 0.0
    for p in pool.kept:  # keep the previous order; cut from the end
        if total + p.minutes > hi:
            break
        kept.append(p)
        total += p.minutes
    if total < lo and len(kept) < len(pool.kept):
        # Cut too much: the rest of the old playlist (still in order) fills before new items.
        more = _top_up(pool.kept[len(kept):], total, target, lo, hi)
        kept += more
        total += sum(p.minutes for p in more)
    added: list[list[Pick]] = []
    for tier in (pool.matches, pool.close):
        if total >= lo:
            break
        got = _top_up(tier, total, target, lo, hi)
        total += sum(p.minutes for p in got)
        added.append(got)
    chosen = kept + [p for tier in added for p in _flowed(tier, catalog)]
    items = [p.item.model_copy(update={"rank": pos + 1}) for pos, p in enumerate(chosen)]
    total = round(sum(p.minutes for p in chosen), 2)
    within = bool(items) and lo <= total <= hi
    return Playlist(
        items, total, target, within, tolerance,
        levels={p.item.item_id: p.level for p in chosen},
        notes={p.item.item_id: p.note for p in chosen if p.note},
        kept=len(kept), dropped=len(pool.kept) - len(kept),
        shortfall="" if within else _shortfall(pool, items, total, lo),
        n_match=pool.n_match, match_minutes=round(pool.match_minutes, 2),
        n_close=pool.n_close, close_minutes=round(pool.close_minutes, 2))


def _flowed(tier: list[Pick], catalog: Catalog) -> list[Pick]:
    by_id = {p.item.item_id: p for p in tier}
    return [by_id[r.item_id] for r in flow([p.item for p in tier], catalog)]


def _shortfall(pool: Pool, items: list[RankedItem], total: float, lo: float) -> Shortfall:
    if not items:
        return "all_too_long" if pool.too_long else "nothing"
    everything = (sum(p.minutes for p in pool.kept) + pool.match_minutes
                  + pool.close_minutes)
    return "not_enough" if total < lo and everything < lo else "too_coarse"


# -- words -----------------------------------------------------------------------------------

_PLURAL = {"movie": "films", "series": "series", "episode": "episodes", "music_track": "tracks",
           "album": "albums", "podcast": "podcasts", "audiobook": "audiobooks"}


def span(minutes: float) -> str:
    """A length in words: ``"34 min"``, ``"2 h"``, ``"1 h 58 min"``.

    Example:
        >>> span(34.4), span(120), span(118.2)
        ('34 min', '2 h', '1 h 58 min')
    """
    total = round(minutes)
    if total < 60:
        return f"{total} min"
    hours, mins = divmod(total, 60)
    return f"{hours} h {mins} min" if mins else f"{hours} h"


def clock(minutes: float | None) -> str:
    """A length as a player shows it: ``m:ss`` or ``h:mm:ss`` (``?`` when unknown).

    Example:
        >>> clock(3.87), clock(120), clock(None)
        ('3:52', '2:00:00', '?')
    """
    if minutes is None:
        return "?"
    secs = round(minutes * 60)
    h, rest = divmod(secs, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _media(request: Request) -> str:
    return " and ".join(_PLURAL.get(m.value, m.value) for m in request.media_types) or "items"


def _what(request: Request) -> str:
    phrase = Wanted.of(request).phrase
    return f"{phrase} {_media(request)}" if phrase else _media(request)


def _only(pl: Playlist, request: Request) -> str:
    """"Only 8 tracks here match indie rock (32 min)": an item matches any genre named."""
    phrase = Wanted.of(request).phrase
    if pl.n_match == 0:  # "No tracks here match indie rock", not "Only 0 tracks"
        return f"No {_media(request)} here{f' match {phrase}' if phrase else ''}"
    match = f" match {phrase}" if phrase else ""
    return f"Only {pl.n_match} {_media(request)} here{match} ({span(pl.match_minutes)})"


def describe(pl: Playlist, request: Request) -> str:
    """The playlist's lead in words: its length against the target and, when it is not
    within tolerance or needed close matches, why (what the catalog holds).

    Example:
        >>> req = Request(media_types=["music_track"], genres=["indie", "rock"])
        >>> describe(Playlist([], 0.0, 120, False, shortfall="nothing"), req)
        'I found no indie rock tracks for a playlist, nor close matches.'
    """
    what, n, target = _what(request), len(pl.items), span(pl.target_minutes)
    head = _kept_words(pl)
    if pl.shortfall == "nothing":
        return head + f"I found no {what} for a playlist, nor close matches."
    if pl.shortfall == "all_too_long":
        return head + f"No playlist: every one of the {what} here is longer than {target}."
    length = f"{_count(n)}, {span(pl.total_minutes)} in all"
    n_close = pl.n_close_used
    only = _only(pl, request)
    if pl.within_tolerance:
        if n_close:
            return head + f"{only}, so {_close(n_close)} follow{'s' * (n_close == 1)}: {length}:"
        return head + f"A {target} playlist of {what}, {length}:"
    if pl.shortfall == "not_enough":
        extra = (f" and {_close(n_close)}" if n_close else
                 "" if pl.n_close else ", and nothing close")
        return (head + f"{only}{extra}, so this playlist runs {span(pl.total_minutes)} of "
                f"the {target} asked for ({_count(n)}):")
    why = ("keeping your playlist in order, " if pl.kept else "") + \
        f"the lengths of the {what} here do not add up to within " \
        f"{round(pl.tolerance * 100)}% of it"
    return (head + f"The closest I could get to {target} is {span(pl.total_minutes)} "
            f"({_count(n)}): {why}:")


def _close(n: int) -> str:
    """ "1 close match", "3 close matches"."""
    return f"{n} close match" if n == 1 else f"{n} close matches"


def _count(n: int) -> str:
    """ "1 item", "3 items"."""
    return f"{n} item" if n == 1 else f"{n} items"


def _kept_words(pl: Playlist) -> str:
    if not pl.kept and not pl.dropped:
        return ""
    added = len(pl.items) - pl.kept
    if pl.dropped:
        words = f"Kept {pl.kept} of your playlist's items, in order"
    else:
        words = f"Kept your playlist's {_count(pl.kept)}"
    return words + (f" and added {added}" if added else "") + ". "


# -- the typed reply -------------------------------------------------------------------------


def title(request: Request, target_minutes: int) -> str:
    """A name for the playlist.

    Example:
        >>> title(Request(genres=["indie", "rock"]), 120)
        'Encore: indie rock, 2 h'
    """
    phrase = Wanted.of(request).phrase
    return f"Encore: {phrase + ', ' if phrase else 'playlist, '}{span(target_minutes)}"


def playlist_reply(info: PlaylistInfo, cards: Sequence[Recommendation], *, query: str = "",
                   user_id: str | None = None, with_cards: bool = True) -> PlaylistReply:
    """The :class:`~assistant.reply.PlaylistReply` of a playlist tool's result and its cards
    (all of them, in play order); ``with_cards=False`` leaves its ``recommendations`` empty
    (a chat reply carries them itself)."""
    from assistant.reply import PlaylistEntry, PlaylistReply

    entries = [PlaylistEntry(position=pos + 1, item_id=c.item_id, title=c.title,
                             media_type=c.media_type, creators=list(c.creators),
                             duration_min=c.duration_min, genres=list(c.genres),
                             match="close" if info.levels.get(c.item_id) == "close" else "match",
                             note=info.notes.get(c.item_id, ""), kept=pos < info.kept)
               for pos, c in enumerate(cards)]
    return PlaylistReply(user_id=user_id, title=info.title or "Encore playlist", query=query,
                         summary=info.summary,
                         target_minutes=info.target_minutes, total_minutes=info.total_minutes,
                         tolerance=info.tolerance, within_tolerance=info.within_tolerance,
                         items=entries, recommendations=list(cards) if with_cards else [])
