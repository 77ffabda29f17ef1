"""Dialogues in ReDial's format (Li et al., NeurIPS 2018): the loader and the turn split.

One JSON object per line::

    {"conversationId": "20001", "initiatorWorkerId": 960, "respondentWorkerId": 961,
     "messages": [{"senderWorkerId": 961, "text": "have you seen @205163 ?", ...}, ...],
     "movieMentions": {"205163": "Avengers: Infinity War (2018)"},
     "initiatorQuestions": {...}, "respondentQuestions": {...}}

The initiator is the seeker, the respondent the recommender. In the text a movie appears as
``@<movieId>``; ``movieMentions`` names it. Consecutive messages of one worker form one
:class:`Turn`; :func:`test_points` makes every recommender turn that mentions a movie a test
point (the protocol of the CRS literature, see ``shared/data/redial-dev/README.md``).

Example:
    >>> d = Dialogue.model_validate({"conversationId": "1", "initiatorWorkerId": 1,
    ...     "respondentWorkerId": 2, "movieMentions": {"7": "Up (2009)"},
    ...     "messages": [{"senderWorkerId": 1, "text": "hi"},
    ...                  {"senderWorkerId": 1, "text": "something animated?"},
    ...                  {"senderWorkerId": 2, "text": "try @7"}]})
    >>> [(t.role, t.text) for t in split_turns(d)]
    [('seeker', 'hi\\nsomething animated?'), ('recommender', 'try Up (2009)')]
    >>> [(p.context[-1].role, p.targets) for p in test_points(d)]
    [('seeker', ['7'])]
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from retrieval.errors import DataError

__all__ = ["Dialogue", "Message", "TestPoint", "Turn", "load_redial", "mention_ids",
           "replace_mentions", "split_turns", "test_points"]

MENTION = re.compile(r"@(\d+)")
_FIX = ("write one ReDial dialogue per line: conversationId, messages (senderWorkerId, text), "
        "initiatorWorkerId, respondentWorkerId, movieMentions")


class Message(BaseModel):
    """One message of a dialogue."""

    model_config = ConfigDict(extra="ignore")

    senderWorkerId: int
    text: str
    messageId: int | None = None
    timeOffset: int | None = None


class Dialogue(BaseModel):
    """One ReDial dialogue (the fields Encore reads; others are kept out)."""

    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)

    conversationId: str
    messages: list[Message] = Field(min_length=1)
    initiatorWorkerId: int
    respondentWorkerId: int
    movieMentions: dict[str, str | None] = Field(default_factory=dict)
    initiatorQuestions: dict[str, Any] | list[Any] = Field(default_factory=dict)
    respondentQuestions: dict[str, Any] | list[Any] = Field(default_factory=dict)


Role = Literal["seeker", "recommender"]


class Turn(BaseModel):
    """Consecutive messages of one worker: their text (mentions replaced by the movies'
    names, messages joined by new lines) and the ReDial ids it mentions, in order."""

    model_config = ConfigDict(frozen=True)

    role: Role
    text: str
    raw: str
    mentions: list[str]


class TestPoint(BaseModel):
    """A recommender turn that mentions a movie: what came before it and what it named.

    Attributes:
        conversation_id: The dialogue.
        turn: Index of the recommender turn in the dialogue's turns.
        context: Every turn before it.
        targets: ReDial ids the turn mentions (each one ground-truth item), in order.
        earlier: ReDial ids mentioned earlier in the dialogue (in ``context``).
    """

    model_config = ConfigDict(frozen=True)
    __test__ = False  # not a pytest class

    conversation_id: str
    turn: int
    context: list[Turn]
    targets: list[str]
    earlier: list[str]


def mention_ids(text: str) -> list[str]:
    """The ReDial ids ``@<id>`` in a text, in order, once each.

    Example:
        >>> mention_ids("@1 or @22, or @1")
        ['1', '22']
    """
    return list(dict.fromkeys(MENTION.findall(text)))


def replace_mentions(text: str, names: dict[str, str | None]) -> str:
    """``@<id>`` replaced by the movie's name (its double spaces collapsed); an id without
    a name stays as written.

    Example:
        >>> replace_mentions("have you seen @5 ?", {"5": "Spider-Man  (2002)"})
        'have you seen Spider-Man (2002) ?'
    """
    def name(m: re.Match[str]) -> str:
        got = names.get(m.group(1))
        return " ".join(got.split()) if got else m.group(0)

    return MENTION.sub(name, text)


def split_turns(dialogue: Dialogue) -> list[Turn]:
    """The dialogue's turns: consecutive messages of one worker joined. Messages of a
    worker who is neither the initiator nor the respondent are left out."""
    roles = {dialogue.initiatorWorkerId: "seeker", dialogue.respondentWorkerId: "recommender"}
    groups: list[tuple[str, list[str]]] = []
    for msg in dialogue.messages:
        role = roles.get(msg.senderWorkerId)
        if role is None:
            continue
        if groups and groups[-1][0] == role:
            groups[-1][1].append(msg.text)
        else:
            groups.append((role, [msg.text]))
    out = []
    for role, texts in groups:
        raw = "\n".join(texts)
        out.append(Turn(role=role, raw=raw,
                        text=replace_mentions(raw, dialogue.movieMentions),
                        mentions=mention_ids(raw)))
    return out


def test_points(dialogue: Dialogue) -> list[TestPoint]:
    """Every recommender turn that mentions a movie, with the turns before it."""
    turns = split_turns(dialogue)
    out = []
    seen: list[str] = []
    for k, turn in enumerate(turns):
        if turn.role == "recommender" and turn.mentions and k > 0:
            out.append(TestPoint(conversation_id=dialogue.conversationId, turn=k,
                                 context=turns[:k], targets=list(turn.mentions),
                                 earlier=list(seen)))
        seen.extend(m for m in turn.mentions if m not in seen)
    return out



def load_redial(path: str | Path) -> list[Dialogue]:
    """Read a ReDial JSONL file (blank lines skipped).

    Raises:
        DataError: a missing file, a line that is not JSON, a missing or mistyped field
            (naming the file, the line and the field), or no dialogue at all.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError("dialogue file not found", path=path,
                        fix="check the path (e.g. shared/data/redial-dev/dialogues.jsonl)")
    out: list[Dialogue] = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if line.strip():
                out.append(_parse_line(line, path, n))
    if not out:
        raise DataError("no dialogue in the file", path=path, fix=_FIX)
    return out


def _parse_line(line: str, path: Path, n: int) -> Dialogue:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise DataError(f"not valid JSON ({exc.msg} at column {exc.colno})", path=path, line=n,
                        fix=_FIX) from None
    if not isinstance(obj, dict):
        raise DataError(f"expected a JSON object, got {type(obj).__name__}", path=path,
                        line=n, fix=_FIX)
    try:
        dialogue = Dialogue.model_validate(obj)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err.get("loc", ()))
        missing = err.get("type") == "missing"
        raise DataError(("missing" if missing else err.get("msg", "invalid value")),
                        path=path, line=n, field=where or None, fix=_FIX) from None
    workers = {dialogue.initiatorWorkerId, dialogue.respondentWorkerId}
    if len(workers) < 2:
        raise DataError("initiatorWorkerId and respondentWorkerId are the same worker",
                        path=path, line=n, field="respondentWorkerId",
                        fix="give the seeker and the recommender different worker ids")
    return dialogue
