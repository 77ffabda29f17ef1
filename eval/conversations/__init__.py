"""Encore's own conversation suite: scripted conversations, each turn checked automatically
against the catalog's metadata (hard constraints, request match, order, explanations, the
follow-up's meaning, honest counts).

- :mod:`eval.conversations.suite`: the JSONL format (see ``README.md`` here) and its loader.
- :mod:`eval.conversations.facts`: what the catalog's metadata says about items.
- :mod:`eval.conversations.checks`: one function per check, over a :class:`TurnView`.
- :mod:`eval.conversations.runner`: runs a suite through ``Assistant.chat`` on a bundle.
- :mod:`eval.conversations.report`: pass rates per check and per kind, text and JSON.

The command: ``encore eval --conversations eval/data/conversations.jsonl --bundle DIR``.
"""

from eval.conversations.checks import CHECKS, Outcome, TurnView
from eval.conversations.report import SuiteReport, TurnResult, format_report, write_report
from eval.conversations.runner import run_conversation, run_suite
from eval.conversations.suite import Conversation, Expect, Relation, SuiteTurn, load_suite

__all__ = [
    "CHECKS",
    "Conversation",
    "Expect",
    "Outcome",
    "Relation",
    "SuiteReport",
    "SuiteTurn",
    "TurnResult",
    "TurnView",
    "format_report",
    "load_suite",
    "run_conversation",
    "run_suite",
    "write_report",
]
