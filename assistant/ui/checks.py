"""Checks of what the page and its API receive, before anything reaches the assistant.

A front-end call can carry anything JSON can: lone surrogates (``"\\ud800"``), a list
length of ``"abc"`` or ``10**9``, a 10 MB message, NUL or bidi-override characters. Each
check returns the cleaned value or raises :class:`InputError`, whose message names the
field, what is wrong and the fix (shown as is by the page and ``gradio_client``).

Example:
    >>> whole("7", "k", 1, 50)
    7
    >>> whole("abc", "k", 1, 50)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    assistant.ui.checks.InputError: k must be a whole number from 1 to 50 (got 'abc'). Fix: ...
    >>> text("hi\\u202eevil", "message")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    assistant.ui.checks.InputError: message contains a control or bidi-override character ...
    >>> clean_display("a\\x00b\\u202ec")
    'abc'
"""

from __future__ import annotations

import re
from typing import Any

from assistant.errors import EncoreError

__all__ = ["InputError", "MAX_ID", "MAX_MESSAGE", "clean_display", "ident", "text", "whole"]

MAX_MESSAGE = 2000
"""Longest chat message or query (characters)."""
MAX_ID = 200
"""Longest user, session or item id (as :mod:`assistant.validation`)."""

# C0 and C1 controls except tab, newline and carriage return; the bidi embeddings,
# overrides and isolates (U+202A-U+202E, U+2066-U+2069: "Trojan source" reordering); and
# surrogates, which are no characters at all (only lone halves arrive here).
_CONTROL = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
_BIDI = "\u202a-\u202e\u2066-\u2069"
_BAD = re.compile(f"[{_CONTROL}{_BIDI}]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_DISPLAY_DROP = re.compile(f"[{_CONTROL}{_BIDI}\ud800-\udfff]")


class InputError(EncoreError):
    """A front-end value that cannot be used; the message names the field and the fix."""


def _shown(value: Any) -> str:
    """A short, printable rendering of a bad value for an error message."""
    raw = value if isinstance(value, str) else repr(value)
    return repr(_DISPLAY_DROP.sub("?", raw[:40]) + ("..." if len(raw) > 40 else ""))


def text(value: Any, field: str, *, max_len: int = MAX_MESSAGE, required: bool = True) -> str:
    """A text field, stripped: a string of at most ``max_len`` characters with no lone
    surrogate and no control or bidi-override character (tab and newlines are fine).

    Raises:
        InputError: naming ``field``, what is wrong and the fix.
    """
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InputError(f"{field} must be text (got {type(value).__name__}). "
                         "Fix: pass a string")
    if (m := _SURROGATE.search(value)) is not None:
        raise InputError(f"{field} contains a lone surrogate (U+{ord(m.group()):04X} at "
                         f"position {m.start()}), which is not a character. Fix: send valid "
                         "UTF-8 text")
    if (m := _BAD.search(value)) is not None:
        raise InputError(f"{field} contains a control or bidi-override character "
                         f"(U+{ord(m.group()):04X} at position {m.start()}). Fix: remove it "
                         "and send the text again")
    if len(value) > max_len:
        raise InputError(f"{field} is too long ({len(value)} characters; at most {max_len}). "
                         "Fix: shorten it")
    value = value.strip()
    if required and not value:
        raise InputError(f"{field} is empty. Fix: say what you would like")
    return value


def ident(value: Any, field: str, *, required: bool = False) -> str | None:
    """An id (user, session, item): text of at most :data:`MAX_ID` characters without
    spaces inside; None when empty and not ``required``."""
    value = text(value, field, max_len=MAX_ID, required=False)
    if not value:
        if required:
            raise InputError(f"{field} is empty. Fix: pass an id")
        return None
    if any(c.isspace() for c in value):
        raise InputError(f"{field} {_shown(value)} contains a space. Fix: pass the id "
                         "without spaces")
    return value


def whole(value: Any, field: str, lo: int, hi: int) -> int:
    """A whole number from ``lo`` to ``hi``; an integral float or a string of digits is
    accepted, a bool is not."""
    number: int | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d{1,12}\s*", value):
        number = int(value)
    if number is None:
        raise InputError(f"{field} must be a whole number from {lo} to {hi} (got "
                         f"{_shown(value)}). Fix: pass an integer such as {min(max(10, lo), hi)}")
    if not lo <= number <= hi:
        raise InputError(f"{field} must be from {lo} to {hi} (got {number}). Fix: pass a "
                         f"number in that range")
    return number


def clean_display(value: object) -> str:
    """``value`` as text with control, bidi-override and surrogate characters removed
    (tab and newlines kept): what the page may show of text it did not write itself."""
    return _DISPLAY_DROP.sub("", str(value))
