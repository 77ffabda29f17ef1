"""Checks of what callers hand the :class:`~assistant.core.Assistant`: ids, list lengths,
filters and feedback kinds. Each returns the cleaned value or raises an
:class:`~assistant.errors.EncoreError` whose message names the fix.

Example:
    >>> check_user("  u1 "), check_k(5)
    ('u1', 5)
    >>> apply_filters(Request(genres=["drama"]), {"max_minutes": 90}).max_minutes
    90
    >>> check_k(0)
    Traceback (most recent call last):
    ...
    assistant.errors.EncoreError: k must be a whole number from 1 to 50, got 0
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from assistant.errors import EncoreError
from assistant.reply import FeedbackKind
from retrieval.loaders._common import has_control
from retrieval.request import Request

__all__ = ["DEFAULT_K", "MAX_K", "apply_filters", "check_feedback_kind", "check_k",
           "check_session", "check_user", "finite"]

DEFAULT_K = 10
"""List length when the caller (or the request) names none."""
MAX_K = 50
_MAX_ID = 200


def check_user(user_id: Any) -> str:
    """A user id, stripped; any non-empty string of at most 200 visible characters."""
    return _check_id(user_id, "user")


def check_session(session_id: Any) -> str:
    """A session id, stripped; any non-empty string of at most 200 characters."""
    return _check_id(session_id, "session")


def _check_id(value: Any, what: str) -> str:
    # Ids are printed and stored: control and format characters (NUL, bidi overrides, lone
    # surrogates) are refused rather than removed, so two ids never collapse into one.
    if (not isinstance(value, str) or not value.strip() or len(value) > _MAX_ID
            or has_control(value)):
        raise EncoreError(f"invalid {what} id {str(value)[:40]!r}. Fix: pass a non-empty id of "
                          f"at most {_MAX_ID} visible characters")
    return value.strip()


def check_k(k: Any) -> int:
    """A list length from 1 to 50 (a bool is not a length)."""
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= MAX_K:
        raise EncoreError(f"k must be a whole number from 1 to {MAX_K}, got {k!r}")
    return k


def check_feedback_kind(kind: Any) -> FeedbackKind:
    """``like``, ``dislike`` or ``seen`` (any case, surrounding spaces ignored)."""
    try:
        return FeedbackKind(str(kind).strip().lower())
    except ValueError:
        raise EncoreError(f"unknown feedback kind {kind!r}. Fix: use one of "
                          f"{', '.join(k.value for k in FeedbackKind)}") from None


def apply_filters(request: Request, filters: dict[str, Any] | Request | None) -> Request:
    """``request`` with the slots of ``filters`` set over it (filters win).

    Raises:
        EncoreError: ``filters`` is not a dict or a Request, names an unknown slot, or holds
            an invalid value (the message names the slot).
    """
    if filters is None:
        return request
    if isinstance(filters, Request):
        update = filters.model_dump(exclude_defaults=True)
    elif isinstance(filters, dict):
        update = dict(filters)
    else:
        raise EncoreError(f"filters must be a dict of request slots, got {type(filters).__name__}")
    unknown = sorted(set(update) - set(Request.model_fields))
    if unknown:
        raise EncoreError(f"unknown filter {unknown[0]!r}. Fix: use request slots such as "
                          "media_types, genres, exclude_genres, year_min, year_max, "
                          "max_minutes, language")
    try:
        return Request.model_validate({**request.model_dump(), **update})
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first.get("loc", ())) or "filters"
        raise EncoreError(f"invalid filter {loc}: {first.get('msg')}") from None


def finite(value: float) -> float | None:
    """``value`` as a float, or None for NaN (JSON has no NaN)."""
    return None if value != value else float(value)
