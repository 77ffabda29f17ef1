"""Errors the assistant raises to its callers: each message is one line that names what is
wrong and the fix, so a front end can show it as is (never a stack trace).

Example:
    >>> str(UnknownItem("mv-nope"))
    "unknown item id 'mv-nope'. Fix: use an id from the catalog (see `encore recommend --json`)"
    >>> isinstance(BundleNotReady(), EncoreError)
    True
"""

from __future__ import annotations

__all__ = ["BundleError", "BundleNotReady", "EncoreError", "UnknownItem"]


class EncoreError(ValueError):
    """Base of the assistant's errors (a ValueError: bad input, not a bug)."""


class BundleError(EncoreError):
    """The bundle is missing, corrupt, or was built by an incompatible version."""


class BundleNotReady(EncoreError):
    """A request arrived while the bundle is still being built."""

    def __init__(self, detail: str = "") -> None:
        msg = "the bundle is still being built; try again in a moment"
        super().__init__(f"{msg} ({detail})" if detail else msg)


class UnknownItem(EncoreError, KeyError):
    """An item id that is not in the catalog."""

    def __init__(self, item_id: str) -> None:
        self.item_id = item_id
        super().__init__(f"unknown item id {item_id!r}. Fix: use an id from the catalog "
                         "(see `encore recommend --json`)")

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])
