"""Model text made plain before it is checked or shown: no markup, no links, no addresses.

An explanation is one or two plain sentences. What a model writes around them is removed:

- ``<script>``, ``<style>`` (and ``<iframe>``, ``<object>``...) with their content, HTML
  comments, chat-template tokens (``<|im_start|>``, ``[INST]``): removed; the sentence fails
  (``"markup: script"``...), since a model writing them is following someone else's text;
- other HTML tags: removed, their text kept (``<b>Dark</b>`` is ``Dark``); entities are
  decoded first, so ``&lt;script&gt;`` is a script too;
- Markdown images: removed; links: their text kept; bold, italics, code marks, headings and
  quotes: removed;
- web addresses (``http://...``, ``www....``, ``javascript:``, in a link or a tag or bare):
  removed; the sentence fails (``"url: evil.example"``) unless the address is one of
  ``allowed_urls`` (the item's own, when its catalog has one);
- any ``<`` or ``>`` left, control characters and doubled spaces: removed.

:func:`pending_markup` tells a streaming reader where markup that is still being written
begins (an unclosed tag or link), so that no sentence is cut inside it.

Example:
    >>> strip_markup('<b>Dark</b> and [tense](http://evil.example/x). <script>alert(1)</script>')
    ('Dark and tense.', ['markup: script', 'url: evil.example'])
    >>> strip_markup("**Science fiction**, as you asked.")
    ('Science fiction, as you asked.', [])
    >>> pending_markup("A calm pick. <a href='x"), pending_markup("Done.")
    (13, None)
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

__all__ = ["markup_spans", "pending_markup", "strip_markup"]

_BLOCK_TAGS = "script|style|iframe|object|embed|svg|math|template|noscript|textarea"
_BLOCK_RE = re.compile(rf"<\s*({_BLOCK_TAGS})\b[^>]*>.*?(?:<\s*/\s*\1\s*>|$)",
                       re.IGNORECASE | re.DOTALL)
_COMMENT_RE = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)
_SPECIAL_RE = re.compile(r"<\|[^|>]{0,40}\|>|\[/?(?:INST|SYS)\]|<<\s*/?SYS\s*>>", re.IGNORECASE)
_IMAGE_RE = re.compile(r"!\[([^\]]*)\]\(([^)\s]*)[^)]*\)")
_LINK_RE = re.compile(r"\[([^\]]*)\]\(([^)\s]*)[^)]*\)")
_TAG_RE = re.compile(r"<\s*/?\s*[A-Za-z][^<>]*>")
_ATTR_URL_RE = re.compile(r"""(?:href|src|action|data)\s*=\s*["']?([^"'\s>]+)""", re.IGNORECASE)
_URL_RE = re.compile(r"\b(?:(?:https?|ftp|file|javascript|data|vbscript):|www\.)[^\s<>\"'`]*",
                     re.IGNORECASE)
_EMPHASIS_RE = re.compile(r"\*+|_{2,}|~~|`+")
_LINE_MARK_RE = re.compile(r"^\s*(?:#{1,6}|>)\s*")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
_TRAILING_PUNCT = ".,;:!?)]}'\""


def _host(url: str) -> str:
    url = url.rstrip(_TRAILING_PUNCT)
    try:
        parts = urlsplit(url if "://" in url or ":" in url.split(".", 1)[0] else "//" + url)
    except ValueError:
        return url[:60]
    return (parts.hostname or parts.scheme or url)[:60]


def _url_problem(url: str, allowed: frozenset[str], problems: list[str]) -> None:
    url = url.strip()
    if url and url.rstrip(_TRAILING_PUNCT) not in allowed:
        problems.append(f"url: {_host(url)}")


def strip_markup(text: str, allowed_urls: Iterable[str] = ()) -> tuple[str, list[str]]:
    """``text`` as plain words, and why it cannot be shown (empty: it can).

    Args:
        text: One sentence (or any span) of a model's answer.
        allowed_urls: Addresses that may stay (the item's own).

    Returns:
        The plain text (whitespace collapsed) and the problems found: ``"markup: TAG"``
        for script-like blocks, ``"markup: template token"``, ``"url: HOST"``.
    """
    allowed = frozenset(u.rstrip(_TRAILING_PUNCT) for u in allowed_urls)
    problems: list[str] = []
    for _ in range(3):  # entities of entities ("&amp;lt;") decode in turn
        decoded = html.unescape(text)
        if decoded == text:
            break
        text = decoded

    def block(m: re.Match[str]) -> str:
        problems.append(f"markup: {m.group(1).lower()}")
        return " "

    def special(m: re.Match[str]) -> str:
        problems.append("markup: template token")
        return " "

    text = _BLOCK_RE.sub(block, text)
    text = _COMMENT_RE.sub(" ", text)
    text = _SPECIAL_RE.sub(special, text)

    def image(m: re.Match[str]) -> str:
        _url_problem(m.group(2), allowed, problems)
        return " "

    def link(m: re.Match[str]) -> str:
        _url_problem(m.group(2), allowed, problems)
        return m.group(1)

    def tag(m: re.Match[str]) -> str:
        for url in _ATTR_URL_RE.findall(m.group(0)):
            _url_problem(url, allowed, problems)
        return " " if m.group(0).lstrip("< /").lower().startswith(("br", "p", "div", "li")) else ""

    text = _IMAGE_RE.sub(image, text)
    text = _LINK_RE.sub(link, text)
    text = _TAG_RE.sub(tag, text)

    def url(m: re.Match[str]) -> str:
        found = m.group(0)
        core = found.rstrip(_TRAILING_PUNCT)
        if core in allowed:
            return found
        _url_problem(core, allowed, problems)
        return found[len(core):]  # keep the sentence's own closing punctuation

    text = _URL_RE.sub(url, text)
    text = _EMPHASIS_RE.sub("", text)
    text = _LINE_MARK_RE.sub("", text)
    text = text.replace("<", " ").replace(">", " ")
    text = _CONTROL_RE.sub(" ", text)
    text = " ".join(text.split())
    text = re.sub(r"\s+([.,;:!?])", r"\1", text)  # "tense ." after a removed link
    return text, problems


def markup_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of the closed markup in ``text`` (blocks, comments, tags, links,
    images, addresses): a sentence never ends inside one."""
    spans: list[tuple[int, int]] = []
    for pattern in (_BLOCK_RE, _COMMENT_RE, _IMAGE_RE, _LINK_RE, _TAG_RE, _URL_RE):
        spans += [m.span() for m in pattern.finditer(text)]
    return spans


_OPENERS = re.compile(r"<|!?\[")


def pending_markup(text: str) -> int | None:
    """Where markup still being written starts in ``text`` (None: there is none).

    An unclosed tag (``<a href='...``), script block, comment or Markdown link may hold a
    sentence end that is not one; a streaming reader keeps everything from there until it
    is closed (or the line ends).
    """
    for m in _OPENERS.finditer(text):
        start = m.start()
        rest = text[start:]
        if rest.startswith("<!--"):
            if "-->" not in rest:
                return start
            continue
        if rest.startswith("<"):
            block = re.match(rf"<\s*({_BLOCK_TAGS})\b", rest, re.IGNORECASE)
            if block is not None:
                if not re.search(rf"<\s*/\s*{block.group(1)}\s*>", rest, re.IGNORECASE):
                    return start
                continue
            if ">" not in rest:
                return start
            continue
        if not rest.startswith(("[", "![")):
            continue
        close = re.match(r"!?\[[^\]]*\]\(([^)]*)\)", rest)
        if close is None and (re.match(r"!?\[[^\]]*\](?:\(|\s*$)", rest)
                              or "]" not in rest):
            return start  # "[text" or "[text](url" or "[text]" with its link still to come
    return None
