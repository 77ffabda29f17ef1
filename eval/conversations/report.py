"""Results of a conversation suite: per turn, per check, per kind; as text and as JSON.

Example:
    >>> from eval.conversations.checks import Outcome
    >>> ok, bad = Outcome(passed=True), Outcome(passed=False, reasons=["Dark: series, not movie"])
    >>> report = SuiteReport(conversations=1, checks=["constraints", "match"], turns=[
    ...     TurnResult(conversation="c", turn=1, say="films", outcomes={"constraints": ok}),
    ...     TurnResult(conversation="c", turn=2, say="shorter", outcomes={"constraints": bad})])
    >>> report.pass_rate, report.check_rates()["constraints"]["rate"]
    (0.5, 0.5)
    >>> report.check_rates()["match"]
    {'applicable': 0, 'passed': 0, 'rate': None}
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from eval.conversations.checks import Outcome

__all__ = ["SuiteReport", "TurnResult", "format_report", "write_report"]


class TurnResult(BaseModel):
    """One checked turn."""

    conversation: str
    turn: int = Field(ge=1)
    user: str = ""
    say: str
    kinds: list[str] = Field(default_factory=list)
    reply: str = ""
    """The reply's lead."""
    shown: list[str] = Field(default_factory=list)
    """The shown items, in words (title, year, type, minutes, genres)."""
    outcomes: dict[str, Outcome] = Field(default_factory=dict)
    """The checks that applied to this turn."""
    error: str | None = None
    """The exception the turn raised, if it did (the turn then fails)."""

    @property
    def passed(self) -> bool:
        """Every applicable check passed (and the turn did not crash)."""
        return self.error is None and all(o.passed for o in self.outcomes.values())

    def failures(self) -> list[str]:
        """``check: reason`` for every failed check."""
        if self.error is not None:
            return [f"error: {self.error}"]
        return [f"{name}: {reason}" for name, out in self.outcomes.items() if not out.passed
                for reason in (out.reasons or ["failed"])]


class SuiteReport(BaseModel):
    """Every turn of a suite run, with the pass rates the command prints."""

    suite: str = ""
    bundle: str = ""
    conversations: int = 0
    checks: list[str] = Field(default_factory=list)
    turns: list[TurnResult] = Field(default_factory=list)

    @property
    def pass_rate(self) -> float | None:
        """Share of turns that pass every applicable check."""
        if not self.turns:
            return None
        return sum(t.passed for t in self.turns) / len(self.turns)

    def check_rates(self) -> dict[str, dict[str, Any]]:
        """Per check: the turns it applied to, how many passed, the rate (None: never
        applied); the match check also has its mean score."""
        out: dict[str, dict[str, Any]] = {}
        for name in self.checks:
            outs = [t.outcomes[name] for t in self.turns if name in t.outcomes]
            passed = sum(o.passed for o in outs)
            row: dict[str, Any] = {"applicable": len(outs), "passed": passed,
                                   "rate": passed / len(outs) if outs else None}
            scores = [o.score for o in outs if o.score is not None]
            if scores:
                row["mean_score"] = sum(scores) / len(scores)
            out[name] = row
        return out

    def kind_rates(self) -> dict[str, dict[str, Any]]:
        """Per kind of turn (typo, not_nth, conflict...): turns and the share passing."""
        groups: dict[str, list[bool]] = defaultdict(list)
        for t in self.turns:
            for kind in dict.fromkeys(t.kinds):
                groups[kind].append(t.passed)
        return {k: {"turns": len(v), "passed": sum(v), "rate": sum(v) / len(v)}
                for k, v in sorted(groups.items())}

    def summary(self, *, failures: bool = True) -> dict[str, Any]:
        """The figures as one JSON-ready object (with the failing turns unless told not)."""
        data: dict[str, Any] = {
            "suite": self.suite, "bundle": self.bundle, "conversations": self.conversations,
            "turns": len(self.turns), "passed": sum(t.passed for t in self.turns),
            "pass_rate": self.pass_rate, "errors": sum(t.error is not None for t in self.turns),
            "checks": self.check_rates(), "kinds": self.kind_rates()}
        if failures:
            data["failures"] = [
                {"conversation": t.conversation, "turn": t.turn, "say": t.say,
                 "reply": t.reply, "shown": t.shown, "reasons": t.failures()}
                for t in self.turns if not t.passed]
        return data


def _rate(value: float | None) -> str:
    return "  n/a" if value is None else f"{value:6.1%}"


def format_report(report: SuiteReport, *, verbose: bool = False) -> str:
    """The report as plain text: overall and per-check pass rates, per kind, and (verbose)
    every failing turn with its reasons and what it showed."""
    total = len(report.turns)
    passed = sum(t.passed for t in report.turns)
    lines = [f"Conversation suite {report.suite or ''} on {report.bundle or 'the bundle'}: "
             f"{report.conversations} conversations, {total} turns",
             f"  all checks  {_rate(report.pass_rate)}  ({passed}/{total} turns)"]
    for name, row in report.check_rates().items():
        extra = f", mean score {row['mean_score']:.3f}" if "mean_score" in row else ""
        lines.append(f"  {name:<12}{_rate(row['rate'])}  ({row['passed']}/{row['applicable']} "
                     f"turns it applies to{extra})")
    errors = sum(t.error is not None for t in report.turns)
    if errors:
        lines.append(f"  {errors} turn(s) raised an error")
    lines.append("Per kind of turn:")
    lines += [f"  {kind:<16}{_rate(row['rate'])}  ({row['passed']}/{row['turns']})"
              for kind, row in report.kind_rates().items()]
    if verbose:
        lines.append("Failing turns:")
        for t in report.turns:
            if t.passed:
                continue
            lines.append(f"- {t.conversation} #{t.turn} ({t.user}): {t.say!r}")
            lines.append(f"    reply: {t.reply}")
            lines += [f"    shown {i}. {s}" for i, s in enumerate(t.shown, start=1)]
            lines += [f"    FAIL {reason}" for reason in t.failures()]
    elif passed < total:
        lines.append("(--verbose lists the failing turns and why)")
    return "\n".join(lines)


def write_report(report: SuiteReport, out: str | Path) -> dict[str, Path]:
    """Write ``conversations.json`` (every turn) and ``conversations.md`` (the text report
    with the failing turns) into the folder ``out``."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    files = {"json": folder / "conversations.json", "md": folder / "conversations.md"}
    data = {**report.summary(failures=False),
            "turn_results": [t.model_dump() | {"passed": t.passed} for t in report.turns]}
    files["json"].write_text(json.dumps(data, indent=1, allow_nan=False) + "\n",
                             encoding="utf-8")
    files["md"].write_text("```\n" + format_report(report, verbose=True) + "\n```\n",
                           encoding="utf-8")
    return files
