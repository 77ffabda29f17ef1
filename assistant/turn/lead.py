"""The English of a turn: the lead sentence above the cards, and the notices.

The lead is written after the cards, from what the tool did (:class:`ToolResult`) and what
is shown, so it never counts items the reply does not show.

Example:
    >>> from assistant.turn.registry import PlaylistInfo, ToolResult
    >>> req = Request(media_types=["podcast"], genres=["history"], max_minutes=40)
    >>> lead_text("recommend", req, ToolResult(), n_shown=3)
    'Here are 3 history podcasts (at most 40 minutes):'
    >>> pl = PlaylistInfo(target_minutes=60, total_minutes=59.6, within_tolerance=True)
    >>> lead_text("playlist", req, ToolResult(playlist=pl), n_shown=12)
    'A 60-minute playlist, 12 items, 60 minutes in all:'
    >>> constraint_words(Request(exclude_genres=["horror"], year_min=1990))
    ['no horror', 'from 1990 on']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from retrieval.request import Request

if TYPE_CHECKING:
    from assistant.turn.registry import ToolResult
    from retrieval.diversify import RankedItem

__all__ = ["CHITCHAT", "constraint_words", "described", "era_words", "lead_text", "new_user_notice",
           "no_match_notice", "relaxed_notice", "unchecked_notice", "unresolved_notice"]

CHITCHAT = ("Tell me what you are in the mood for: a film, a series, an album or a podcast, "
            "a mood, a length, or a title you liked.")

_TYPE_WORDS = {"movie": "films", "series": "series", "episode": "episodes",
               "music_track": "tracks", "album": "albums", "podcast": "podcasts",
               "audiobook": "audiobooks"}


def lead_text(tool: str, request: Request, result: ToolResult, n_shown: int) -> str:
    """The sentence above the cards for ``tool``'s ``result`` with ``n_shown`` cards."""
    if tool == "chitchat":
        return CHITCHAT
    if tool == "feedback":
        return _noted(result)
    if tool == "history":
        return history_text(result)
    if tool == "details":
        return f"About {result.subjects[0]}:" if result.subjects else \
            "Which title would you like to know about?"
    if tool == "similar":
        return f"Like {', '.join(result.subjects)}:"
    if tool == "trending":
        return "Popular lately" + _scope(request) + ":"
    if tool == "playlist" and result.playlist is not None:
        pl = result.playlist
        if pl.summary:  # the playlist tool's own words (assistant.playlist.describe)
            return pl.summary
        total = round(pl.total_minutes)
        if pl.within_tolerance:
            return (f"A {pl.target_minutes}-minute playlist, {n_shown} items, {total} minutes "
                    "in all:")
        return (f"The closest I could get to {pl.target_minutes} minutes is {total} minutes "
                f"({n_shown} items):")
    return _list_lead(request, result.items, n_shown)


def _list_lead(req: Request, items: Sequence[RankedItem], n_shown: int) -> str:
    if not n_shown:
        return "I found nothing that fits."
    n_close = sum(1 for r in items[:n_shown] if r.match == "close")
    n_exact = n_shown - n_close
    if not n_close:
        return f"Here are {n_shown} {described(req, n_shown)}:"
    follow = f"{n_close} close {'match follows' if n_close == 1 else 'matches follow'}"
    if not n_exact:
        return f"No {described(req, 2)} here; {follow}:"
    return f"Only {n_exact} {described(req, n_exact)} here; {follow}:"


# A genre that names a kind of another genre in a compound ("a romantic comedy").
_ADJECTIVE = {"romance": "romantic", "science fiction": "sci-fi"}


def described(req: Request, n: int = 2) -> str:
    """What the request asks for as a noun phrase, for ``n`` items.

    Example:
        >>> described(Request(media_types=["album"], genres=["jazz"], year_min=1960,
        ...                   year_max=1969), 3)
        'jazz albums from the 1960s'
        >>> described(Request(tags=["funny", "space"], moods=["funny"], max_minutes=40), 1)
        'funny pick about space (at most 40 minutes)'
        >>> described(Request(media_types=["movie"], genres=["romance", "comedy"],
        ...                   all_genres=True), 5)
        'romantic comedy films'
    """
    from assistant.parsers.vocabulary import MOODS

    moods = [m.value for m in req.moods]
    # A mood's own tags ("upbeat" brings "danceable") are the mood, not a theme to be about.
    mood_tags = {t for m in req.moods for t in MOODS.get(m, ((), ()))[0]}
    themes = [t for t in req.tags if t not in moods and t not in mood_tags]
    types = [_TYPE_WORDS.get(str(m), str(m)) for m in req.media_types]
    what = " and ".join(types) or "picks"
    if n == 1:
        what = " and ".join(_ONE.get(w, w) for w in types) or "pick"
    genres = (" ".join(_ADJECTIVE.get(g, g) if i < len(req.genres[:3]) - 1 else g
                       for i, g in enumerate(req.genres[:3])) if req.all_genres
              else " or ".join(req.genres[:3]))
    phrase = " ".join([*moods[:2], genres, what]).strip()
    phrase = " ".join(phrase.split())
    if themes:
        phrase += " about " + " and ".join(themes[:3])
    era = era_words(req.year_min, req.year_max)
    if era:
        phrase += " " + era
    rest = constraint_words(req.model_copy(update={"media_types": [], "year_min": None,
                                                   "year_max": None}))
    if rest:
        phrase += " (" + "; ".join(rest) + ")"
    return phrase


_ONE = {"films": "film", "episodes": "episode", "tracks": "track", "albums": "album",
        "podcasts": "podcast", "audiobooks": "audiobook"}


def era_words(lo: int | None, hi: int | None) -> str:
    """A year range in words: 'from the 1960s', 'from 1990 to 2005', 'from 2010 on'."""
    if lo is None and hi is None:
        return ""
    if lo is not None and hi is not None:
        if lo == hi:
            return f"from {lo}"
        if lo % 10 == 0 and hi == lo + 9:
            return f"from the {lo}s"
        return f"from {lo} to {hi}"
    return f"from {lo} on" if lo is not None else f"up to {hi}"


def history_text(result: ToolResult, most: int = 8) -> str:
    """The user's history in words: what they liked, did not like and have seen here (the
    ``most`` newest of each), and how much the bundle's own log holds."""
    groups: dict[str, list[str]] = {}
    for r in result.recorded:
        groups.setdefault(r.kind, []).append(r.title)
    said = []
    for kind in ("like", "dislike", "seen"):
        titles = groups.get(kind, [])
        if titles:
            more = f" and {len(titles) - most} more" if len(titles) > most else ""
            said.append(f"you {_FEEDBACK_WORDS[kind]} {', '.join(titles[:most])}{more}")
    logged = int((result.facts or {}).get("logged", 0))
    if not said:
        past = (f" Your earlier history holds {logged} events, which shape your picks."
                if logged else "")
        return "You have not liked or disliked anything here yet." + past
    past = (f" Your earlier history holds {logged} more events, which shape your picks too."
            if logged else "")
    return "Your history here: " + "; ".join(said) + "." + past


def _noted(result: ToolResult) -> str:
    said = [f"you {_FEEDBACK_WORDS.get(r.kind, r.kind)} {r.title}" for r in result.recorded]
    return ("Noted: " + "; ".join(said) + ". ") if said else ""


_FEEDBACK_WORDS = {"like": "liked", "dislike": "did not like", "seen": "have seen"}


def _type_word(media_type: object) -> str:
    return _TYPE_WORDS.get(str(media_type), str(media_type))


def _scope(req: Request) -> str:
    types = [_type_word(m) for m in req.media_types]
    return f" in {' and '.join(types)}" if types else ""


def constraint_words(req: Request) -> list[str]:
    """The request's hard constraints in words, one phrase each."""
    out = []
    if req.media_types:
        out.append("only " + " and ".join(_type_word(m) for m in req.media_types))
    if req.exclude_media_types:
        out.append("no " + " or ".join(_type_word(m) for m in req.exclude_media_types))
    if req.exclude_genres:
        out.append("no " + ", ".join(req.exclude_genres))
    if req.exclude_tags:
        out.append("nothing " + ", ".join(req.exclude_tags))
    if req.year_min is not None or req.year_max is not None:
        out.append(era_words(req.year_min, req.year_max))
    if req.min_minutes is not None:
        out.append(f"at least {req.min_minutes} minutes")
    if req.max_minutes is not None:
        out.append(f"at most {req.max_minutes} minutes")
    if req.language:
        out.append("in " + _language_name(req.language))
    return out


def _language_name(code: str) -> str:
    from assistant.parsers.vocabulary import LANGUAGE_WORDS

    names = [w for w, c in LANGUAGE_WORDS.items() if c == code]
    return names[0].capitalize() if names else f"the language '{code}'"


# -- notices --------------------------------------------------------------------------------


def new_user_notice() -> str:
    return "new user: no history yet, so these come from your request and what is popular"


def unresolved_notice(titles: list[str]) -> str:
    return "not in the catalog: " + ", ".join(f"'{t}'" for t in titles[:3])


def relaxed_notice(dropped: list[str], before: Request | None = None) -> str:
    """Which constraints carried from earlier turns were dropped, in words (never the
    request's slot names).

    Example:
        >>> relaxed_notice(["media_types", "max_minutes"],
        ...                Request(media_types=["podcast"], max_minutes=40))[-47:]
        'so I dropped: only podcasts; at most 40 minutes'
    """
    said = []
    for slot in dropped:
        value = getattr(before, slot, None) if before is not None else None
        said += constraint_words(Request.model_validate({slot: value})) if value not in (
            None, []) else [_SLOT_WORDS.get(slot, "a constraint")]
    return ("nothing matched everything said so far, so I dropped: "
            + "; ".join(dict.fromkeys(said)))


_SLOT_WORDS = {"media_types": "media type", "exclude_media_types": "media types ruled out",
               "year_min": "years", "year_max": "years", "min_minutes": "length",
               "max_minutes": "length", "language": "language"}

_FIELD_WORDS = {"duration": ("the length", "running times"),
                "language": ("the language", "languages"),
                "year": ("the year", "release years")}


def unchecked_notice(unchecked: Sequence[str]) -> str | None:
    """What the catalog could not check ("duration": it has no running times).

    Example:
        >>> unchecked_notice(["duration"])
        'I could not check the length: this catalog has no running times'
    """
    said = [_FIELD_WORDS.get(f, (f"the {f}", f"{f}s")) for f in unchecked]
    if not said:
        return None
    return ("I could not check " + " or ".join(w for w, _ in said)
            + ": this catalog has no " + " or ".join(m for _, m in said))


def no_match_notice(request: Request, result: ToolResult) -> str | None:
    """Why nothing came back: the tool's own note, else the constraints nothing meets."""
    if result.notes:
        return "; ".join(result.notes)
    if request.hard_constraints():
        return "nothing in the catalog matches all of: " + "; ".join(constraint_words(request))
    return None
