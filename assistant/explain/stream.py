"""A model's numbered answer, read as it streams, checked sentence by sentence before any of
it is shown.

:class:`NumberedLines` finds which pick each line of the answer is for. :class:`CheckedStream`
keeps each pick's text until a sentence has ended (the next one has begun, or the line has
ended), and only then cleans and checks it (:class:`~assistant.explain.check.PickText`:
markup stripped, grounding, invented titles and numbers, addresses, instructions): what it
hands on is checked text, a failing sentence already replaced by the pick's template
sentence. Markup still being written (an unclosed tag or link) is held until it closes, so
no sentence is cut inside it.

Example:
    >>> from assistant.explain.check import TitleIndex
    >>> from assistant.reply import Grounds
    >>> g = Grounds(title="Arrival", year=2016, matched_genres=["drama"])
    >>> s = CheckedStream([g], TitleIndex(["Contact"]), max_sentences=3)
    >>> [s.feed(c) for c in ["1. A drama", " from 2016.", " Like Contact. <b>Calm", "</b>."]]
    [[], [], [(0, 'A drama from 2016.'), (0, ' Drama, as you asked.')], []]
    >>> s.close(), s.result().texts
    ([(0, ' Calm.')], ['A drama from 2016. Drama, as you asked. Calm.'])
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from assistant.explain.base import ExplainResult
from assistant.explain.check import PickText, TitleIndex, sentence_spans, split_sentences
from assistant.explain.markup import markup_spans, pending_markup
from assistant.explain.template import template_sentence, template_text
from assistant.llm import LLMFailure
from assistant.reply import Grounds

__all__ = ["CheckedStream", "NumberedLines"]

log = logging.getLogger(__name__)

# "1. text", "1) text", "**1.** text", "- 1: text", "Pick 1 - text"
_LINE_RE = re.compile(r"^\s*(?:[-*#>]+\s*)?(?:\*\*)?(?:pick\s*)?(\d{1,3})\s*(?:\*\*)?\s*"
                      r"[.):\]-]\s*(?:\*\*)?\s*(.*)$", re.IGNORECASE)
_HEAD_RE = re.compile(r"^\s*(?:[-*#>]+\s*)?(?:\*\*)?(?:pick\s*)?(\d{1,3})\s*(?:\*\*)?\s*"
                      r"[.):\]-]\s*(?:\*\*)?\s*(?=\S)", re.IGNORECASE)


class NumberedLines:
    """Reads a model's numbered answer as it streams: which pick each line is for, and the
    text to show so far. Unnumbered lines, numbers out of range and repeated numbers are
    ignored (the first line for a pick wins).

    Example:
        >>> lines = NumberedLines(2)
        >>> [lines.feed(c) for c in ["Sure!\\n1", ". Dark", " and tense.\\n2) Fun", "ny."]]
        [[], [(0, 'Dark')], [(0, ' and tense.'), (1, 'Fun')], [(1, 'ny.')]]
        >>> lines.close(), lines.texts
        ([], {0: 'Dark and tense.', 1: 'Funny.'})
    """

    def __init__(self, n_picks: int) -> None:
        self.n_picks = n_picks
        self.texts: dict[int, str] = {}
        self._buf = ""
        self._index: int | None = None  # pick of the current line; -1: ignored; None: unknown
        self._shown = 0
        self._finished: list[int] = []

    def _decide(self, line: str, complete: bool) -> None:
        m = (_LINE_RE if complete else _HEAD_RE).match(line)
        if m is None:
            if complete:
                self._index = -1
            return
        i = int(m.group(1)) - 1
        self._index = i if 0 <= i < self.n_picks and i not in self.texts else -1
        if self._index >= 0:
            self.texts[self._index] = ""

    def _progress(self, line: str, complete: bool) -> list[tuple[int, str]]:
        if self._index is None:
            self._decide(line, complete)
        if self._index is None or self._index < 0:
            return []
        m = _LINE_RE.match(line)
        content = m.group(2) if m else ""
        self.texts[self._index] = content.strip()
        delta = content[self._shown:]
        self._shown = len(content)
        return [(self._index, delta)] if delta else []

    def feed(self, chunk: str) -> list[tuple[int, str]]:
        """Take the next piece of the answer; return the ``(pick, new text)`` it shows."""
        out: list[tuple[int, str]] = []
        self._buf += chunk
        while "\n" in self._buf:
            line, self._buf = self._buf.split("\n", 1)
            out += self._progress(line, complete=True)
            self._end_line()
        if self._buf:
            out += self._progress(self._buf, complete=False)
        return out

    def close(self) -> list[tuple[int, str]]:
        """The answer has ended: finish its last line."""
        out = self._progress(self._buf, complete=True) if self._buf else []
        self._buf = ""
        self._end_line()
        return out

    def _end_line(self) -> None:
        if self._index is not None and self._index >= 0:
            self._finished.append(self._index)
        self._index, self._shown = None, 0

    def take_finished(self) -> list[int]:
        """The picks whose line has ended since the last call."""
        done, self._finished = self._finished, []
        return done


class CheckedStream:
    """Checked text per pick from a model's numbered answer, fed as it streams.

    Args:
        grounds: Each pick's grounds, in pick order.
        titles: The catalog titles the check looks for.
        max_sentences: Sentences kept per pick.
        allowed_urls: Addresses a pick's text may hold (its own), by pick index.
    """

    def __init__(self, grounds: Sequence[Grounds], titles: TitleIndex, *,
                 max_sentences: int = 2,
                 allowed_urls: Sequence[Sequence[str]] | None = None) -> None:
        self.grounds = list(grounds)
        self.titles = titles
        self.lines = NumberedLines(len(self.grounds))
        urls = allowed_urls or [()] * len(self.grounds)
        self.picks = [PickText(g, titles, template_sentence(g), max_sentences=max_sentences,
                               allowed_urls=u) for g, u in zip(self.grounds, urls, strict=True)]
        self._buf = [""] * len(self.grounds)

    def feed(self, chunk: str) -> list[tuple[int, str]]:
        """Take the next piece of the answer; return the ``(pick, checked text)`` to add."""
        out: list[tuple[int, str]] = []
        for i, delta in self.lines.feed(chunk):
            self._buf[i] += delta
            out += self._drain(i, final=False)
        for i in self.lines.take_finished():
            out += self._drain(i, final=True)
        return out

    def close(self) -> list[tuple[int, str]]:
        """The answer has ended: check what every pick still holds."""
        out: list[tuple[int, str]] = []
        for i, delta in self.lines.close():
            self._buf[i] += delta
        self.lines.take_finished()
        for i in range(len(self._buf)):
            out += self._drain(i, final=True)
        return out

    def _drain(self, i: int, *, final: bool) -> list[tuple[int, str]]:
        buf = self._buf[i]
        pending = None if final else pending_markup(buf)
        region = buf if pending is None else buf[:pending]
        spans = sentence_spans(region, self.titles, markup_spans(region))
        # The last sentence may still be being written, unless the line has ended.
        complete = spans if final else spans[:-1]
        out = []
        for start, end in complete:
            piece = self.picks[i].add(region[start:end])
            if piece:
                out.append((i, piece))
        if final:
            self._buf[i] = ""
        elif len(spans) > len(complete):
            self._buf[i] = buf[spans[-1][0]:]
        return out

    def result(self) -> ExplainResult:
        """Every pick's checked text and the counts, once the answer has ended.

        Raises:
            LLMFailure: "bad output" when no line of the answer was a pick's.
        """
        if not any(t.strip() for t in self.lines.texts.values()):
            raise LLMFailure("bad output", "the model's answer had no numbered line with text "
                                           "(expected '1. ...' per pick)")
        texts: list[str] = []
        sentences = replaced = 0
        for pick, grounds in zip(self.picks, self.grounds, strict=True):
            if not pick.written:  # no line for it, or markup alone: the template's text
                fill = template_text(grounds)
                n = len(split_sentences(fill))
                texts.append(fill)
                sentences += n
                replaced += n
                continue
            checked = pick.result()
            if checked.problems:
                log.info("explanation of %r: replaced %d sentence(s): %s", grounds.title,
                         checked.replaced, ", ".join(checked.problems))
            texts.append(checked.text)
            sentences += checked.sentences
            replaced += checked.replaced
        return ExplainResult(texts=texts, sentences=sentences, replaced=replaced)
