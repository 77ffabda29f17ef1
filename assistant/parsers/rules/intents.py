"""Step 7, intent: what the person wants done, from cue phrases and what was found.

In order: history ("show me my history"), trending ("what's popular"), playlist, details
("tell me about the second one"), search ("is Fleabag on here?"), similar ("more like
Arrival"), feedback ("I loved Parasite"), recommend, chitchat ("thanks!"). Free text with
nothing else found is a recommendation ("stories about lighthouse keepers").
"""

from __future__ import annotations

import re

from assistant.parsers.rules.state import State, lower_same_length
from assistant.parsers.rules.title_patterns import AVAILABLE
from retrieval.request import Intent, TitleRole

__all__ = ["PLAYLIST", "intent_of", "own_history"]

_TRENDING = re.compile(
    r"\b(?:trending|popular|what'?s\s+hot|hottest|top\s+charts?|charts"
    r"|most\s+(?:played|watched|popular|streamed|listened)"
    r"|(?:everyone|everybody|people)(?:'s|\s+is|\s+are)?\s+(?:watching|listening|into)"
    r"|top\s+(?:\d+|ten|five|twenty|three))\b")
PLAYLIST = re.compile(r"\b(?:playlists?|mixtapes?|make\s+(?:me\s+)?a\s+mix|a\s+mix\s+of)\b")
_DETAILS = re.compile(
    r"\b(?:tell\s+me\s+(?:more\s+)?about|more\s+(?:info|information|details)"
    r"|details\s+(?:on|about|of)|info\s+(?:on|about)"
    r"|who\s+(?:made|directed|wrote|sings|created|stars\s+in|plays\s+in|narrates|hosts)"
    r"|how\s+long\s+(?:is|are|was|does|do|did)|how\s+many\s+(?:episodes|seasons|songs|tracks|chapters)"
    r"|runtime|run\s+time|running\s+time|length\s+of"
    r"|what(?:'s|\s+is|\s+was)|what\s+about|how\s+about)\b")
_SEARCH = re.compile(
    r"\b(?:search|look\s+up|lookup|find(?!\s+(?:me|us)\b)|do\s+you\s+have|is\s+there)\b")
_SEARCH_TITLE = re.compile(  # search when a title is the subject
    r"\b(?:find|play|put\s+on|show\s+me|have\s+you\s+got|(?:looking|searching)\s+for"
    r"|i'?m\s+after|trying\s+to\s+find|can\s+i\s+(?:find|get|stream|watch|hear|listen\s+to)"
    rf"|{AVAILABLE})")
_SIMILAR = re.compile(
    r"\b(?:similar|more\s+like|in\s+the\s+vein\s+of|reminds?\s+me\s+of|same\s+vibe|vibes?\s+of"
    r"|reminiscent\s+of)\b")
_FEEDBACK = re.compile(
    r"\b(?:loved?|liked|enjoyed|adored|hated?|disliked?|didn'?t\s+(?:like|enjoy)|did\s+not"
    r"|not\s+(?:that|this)|seen|watched|heard|thumbs"
    r"|was\s+(?:great|boring|awesome|bad|terrible|amazing|good))\b")
_RECOMMEND = re.compile(
    r"\b(?:recommend|suggest|something|anything|some|what\s+should|give\s+me|show\s+me|i\s+want"
    r"|i'?d\s+like|looking\s+for|in\s+the\s+mood|any\s+(?:good|ideas)|what\s+else|more|options"
    r"|ideas|play|another(?:\s+one)?)\b")
# "show me my history", "what have I liked?", "my dislikes"; not "based on my history".
_HISTORY = re.compile(
    r"\b(?:my|our)\s+(?:own\s+)?(?:history|likes|dislikes|ratings|feedback"
    r"|(?:viewing|watch|listening|play)\s+history)\b"
    r"|\bwhat\s+(?:have|did)\s+i\s+(?:liked?|disliked?|rated|watched|seen|heard|listened\s+to)\b"
    r"|\bwhat\s+i(?:'ve|\s+have)\s+(?:liked|disliked|rated|watched|seen)\b")
_BASED_ON = re.compile(r"\b(?:based\s+on|from|using|given|according\s+to|for|fits?|match(?:es)?)"
                       r"\s+(?:my|our)\b")
_GREETING = re.compile(
    r"^\W*(?:hi|hello|hey|yo|hiya|good\s+(?:morning|evening|afternoon|night)|thanks?|thank\s+you"
    r"|cheers|ok|okay|cool|great|nice|bye|goodbye|who\s+are\s+you|what\s+can\s+you\s+do"
    r"|how\s+are\s+you|help)\b")



def own_history(st: State) -> bool:
    """Whether the message asks about the person's own history ("show me my history"), not
    for picks based on it ("something based on my history")."""
    low = lower_same_length(st.text)
    return bool(_HISTORY.search(low)) and not _BASED_ON.search(low)


def intent_of(st: State, foreign: bool, has_slots: bool) -> Intent:
    """The intent of the message in ``st``.

    Args:
        st: The message, with everything found in it.
        foreign: The message is not in English (only its titles were read).
        has_slots: Media types, genres, tags, moods, a language or a relative word were found.
    """
    low = lower_same_length(st.text)
    like_titles = any(t.role is TitleRole.like for t in st.titles)
    about_titles = any(t.role is TitleRole.about for t in st.titles)
    has_amounts = any(v is not None for v in (st.year_min, st.year_max, st.min_minutes,
                                              st.max_minutes, st.count))
    if foreign:
        return Intent.similar if like_titles else Intent.recommend
    if own_history(st) and not (has_slots or has_amounts or st.titles):
        return Intent.history
    if _TRENDING.search(low):
        return Intent.trending
    if st.playlist_minutes is not None or PLAYLIST.search(low):
        return Intent.playlist
    if _DETAILS.search(low) and (about_titles or st.ref_positions or st.titles):
        return Intent.details
    if (_SEARCH.search(low) and (about_titles or st.quoted or has_slots or has_amounts)) or (
            about_titles and _SEARCH_TITLE.search(low)):
        return Intent.search
    if (like_titles and "compare" in st.title_cues) or st.ref_similar or (
            _SIMILAR.search(low) and (st.titles or st.ref_positions)):
        return Intent.similar
    other_content = has_slots or has_amounts
    if (st.titles or st.ref_positions or st.excl_positions) and not other_content and (
            "feedback" in st.title_cues or st.excl_positions or _FEEDBACK.search(low)) and not (
            _RECOMMEND.search(low)):
        return Intent.feedback
    if like_titles and not other_content and (_RECOMMEND.search(low) or not st.title_cues):
        return Intent.similar  # "I loved Parasite, what else?", or a title on its own
    if st.ref_positions and not other_content and not st.titles:
        return Intent.details
    if other_content or st.titles or st.excl_positions or _RECOMMEND.search(low):
        return Intent.recommend
    if _GREETING.search(low) or len(low.split()) < 3:
        return Intent.chitchat
    return Intent.recommend  # free text for the encoder ("stories about lighthouse keepers")
