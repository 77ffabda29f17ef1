"""The English of a turn: the lead sentence above the cards, and the notices.

The lead is written after the cards, from what the tool did (:class:`ToolResult`) and what
is shown, so it never counts items the reply does not show.

Example:
    >>> from assistant.turn.registry import PlaylistInfo, ToolResult
    >>> req = Request(media_types=["podcast"], genres=["history"], max_minutes=40)
    >>> lead_text("recommend", req, ToolResult(), n_shown=3)
    'Here are 3 podcasts for history (at most 40 minutes):'
    >>> pl = PlaylistInfo(target_minutes=60, total_minutes=59.6, within_tolerance=True)
    >>> lead_text("playlist", req, ToolResult(playlist=pl), n_shown=12)
    'A 60-minute playlist, 12 items, 60 minutes in all:'
    >>> constraint_words(Request(exclude_genres=["horror"], year_min=1990))
    ['no horror', 'years 1990 to …']
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from retrieval.request import Request

if TYPE_CHECKING:
    from assistant.turn.registry import ToolResult

__all__ = ["CHITCHAT", "constraint_words", "lead_text", "new_user_notice", "no_match_notice",
           "relaxed_notice", "unresolved_notice"]

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
    return _list_lead(request, n_shown)


def _list_lead(req: Request, n_shown: int) -> str:
    if not n_shown:
        return "I found nothing that fits."
    what = " and ".join(_type_word(m) for m in req.media_types) or "picks"
    about = ", ".join([*req.genres[:2], *req.tags[:2]])
    cons = constraint_words(req.model_copy(update={"media_types": []}))
    parts = [f"Here are {n_shown} {what}"]
    if about:
        parts.append(f" for {about}")
    if cons:
        parts.append(" (" + "; ".join(cons) + ")")
    return "".join(parts) + ":"


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
        out.append(f"years {req.year_min or '…'} to {req.year_max or '…'}")
    if req.min_minutes is not None:
        out.append(f"at least {req.min_minutes} minutes")
    if req.max_minutes is not None:
        out.append(f"at most {req.max_minutes} minutes")
    if req.language:
        out.append(f"language {req.language}")
    return out


# -- notices --------------------------------------------------------------------------------


def new_user_notice() -> str:
    return "new user: no history yet, so these come from your request and what is popular"


def unresolved_notice(titles: list[str]) -> str:
    return "not in the catalog: " + ", ".join(f"'{t}'" for t in titles[:3])


def relaxed_notice(dropped: list[str]) -> str:
    from assistant.session import relaxed_words

    return f"nothing matched everything said so far, so I dropped {relaxed_words(dropped)}"


def no_match_notice(request: Request, result: ToolResult) -> str | None:
    """Why nothing came back: the tool's own note, else the constraints nothing meets."""
    if result.notes:
        return "; ".join(result.notes)
    if request.hard_constraints():
        return "nothing in the catalog matches all of: " + "; ".join(constraint_words(request))
    return None
