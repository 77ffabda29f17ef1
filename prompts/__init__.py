"""Prompt templates as files, loaded by name and shipped inside the wheel.

Each template is a ``.txt`` file in this folder whose variables are written ``{name}``.

Example:
    >>> sorted(load_prompt("parse_request").variables)
    ['genres', 'history', 'message']
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from functools import cache
from importlib import resources

__all__ = ["Prompt", "available_prompts", "load_prompt"]


@dataclass(frozen=True)
class Prompt:
    """A named template with the variables it expects."""

    name: str
    text: str

    @property
    def variables(self) -> set[str]:
        return {f for _, f, _, _ in string.Formatter().parse(self.text) if f}

    def format(self, **values: object) -> str:
        missing = self.variables - set(values)
        if missing:
            raise KeyError(f"prompt {self.name!r} needs values for {sorted(missing)}")
        return self.text.format(**values)


def available_prompts() -> list[str]:
    files = resources.files("prompts").iterdir()
    return sorted(p.name[:-4] for p in files if p.name.endswith(".txt"))


@cache
def load_prompt(name: str) -> Prompt:
    """Load ``prompts/<name>.txt``; an unknown name lists the available ones."""
    path = resources.files("prompts") / f"{name}.txt"
    if not path.is_file():
        raise ValueError(f"unknown prompt {name!r}; available: {', '.join(available_prompts())}")
    return Prompt(name=name, text=path.read_text(encoding="utf-8"))
