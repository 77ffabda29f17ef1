"""One dialogue replay end to end, as ``encore eval --dialogues FILE --bundle DIR`` runs it.

Loads the dialogues and the bundle, maps every mentioned movie to the catalog, makes the
test points (optionally one half of the dialogues: ``first`` / ``second`` by sorted
``conversationId``, so that settings tuned on one half are reported on the other), lets
each system rank the same points and computes recall@1/10/50 over all (turn, movie) pairs
and over the novel ones.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from eval.dialogues.mapping import TitleMatcher, map_mentions
from eval.dialogues.metrics import ScoredPoint, pair_count, recall_table
from eval.dialogues.redial import Dialogue, load_redial, test_points
from eval.dialogues.systems import DIALOGUE_SYSTEMS, Replay, make_dialogue_system

if TYPE_CHECKING:
    from retrieval.bundle import Bundle
    from retrieval.catalog import Catalog

__all__ = ["DialogueEvalConfig", "DialogueResult", "prepare_replays", "run_dialogues",
           "select_half", "write_dialogue_report"]

Half = Literal["all", "first", "second"]


class DialogueEvalConfig(BaseModel):
    """What a replay runs: the dialogue file, the bundle, the systems and the half."""

    model_config = ConfigDict(extra="forbid")

    dialogues: Path
    bundle: Path
    systems: list[str] = Field(default_factory=lambda: list(DIALOGUE_SYSTEMS), min_length=1)
    ks: list[int] = Field(default_factory=lambda: [1, 10, 50])
    half: Half = "all"
    encore: dict[str, Any] = Field(default_factory=dict)
    """Settings of the ``encore`` system (:class:`~eval.dialogues.systems.EncoreDialogueConfig`)."""


class DialogueResult(BaseModel):
    """Per system its metrics and seconds; the counts of the replay."""

    dialogues: str
    bundle: str
    half: Half
    counts: dict[str, float]
    metrics: dict[str, dict[str, float]]
    seconds: dict[str, float]


def select_half(dialogues: Sequence[Dialogue], half: Half) -> list[Dialogue]:
    """All dialogues, or the first or second half by sorted ``conversationId`` (numeric
    ids in numeric order)."""
    if half == "all":
        return list(dialogues)
    key = sorted(dialogues, key=lambda d: (len(d.conversationId), d.conversationId))
    mid = (len(key) + 1) // 2
    return key[:mid] if half == "first" else key[mid:]


def prepare_replays(dialogues: Sequence[Dialogue], catalog: Catalog,
                    popularity: dict[str, float] | None = None
                    ) -> tuple[list[Replay], dict[str, float]]:
    """The test points of the dialogues mapped to the catalog, and the mapping's counts."""
    matcher = TitleMatcher(catalog, popularity)
    names: dict[str, str | None] = {}
    for d in dialogues:
        names.update(d.movieMentions)
    mapping = map_mentions(names, matcher)
    replays = []
    for d in dialogues:
        for p in test_points(d):
            replays.append(Replay(
                point=p, targets=[mapping.get(t) for t in p.targets],
                earlier=[mapping[e] for e in p.earlier if e in mapping],
                turn_items=[[mapping[m] for m in t.mentions if m in mapping] for t in p.context]))
    pairs = [t for r in replays for t in r.targets]
    counts = {"dialogues": len(dialogues), "test points": len(replays),
              "pairs": len(pairs),
              "novel pairs": pair_count([ScoredPoint(r.targets, r.earlier) for r in replays],
                                        novel=True),
              "movies named": len(names), "movies mapped": len(mapping),
              "share of movies mapped": round(len(mapping) / max(len(names), 1), 4),
              "share of pairs mapped": round(sum(t is not None for t in pairs)
                                             / max(len(pairs), 1), 4)}
    return replays, counts


def run_dialogues(config: DialogueEvalConfig, *, bundle: Bundle | None = None,
                  on_step: Any = None) -> DialogueResult:
    """Replay the dialogues against every system of ``config``."""
    from retrieval.bundle import Bundle

    say = on_step or (lambda msg: None)
    unknown = [s for s in config.systems if s.strip().lower() not in DIALOGUE_SYSTEMS]
    if unknown:
        raise ValueError(f"unknown dialogue systems {unknown}; valid: "
                         f"{', '.join(DIALOGUE_SYSTEMS)}")
    dialogues = select_half(load_redial(config.dialogues), config.half)
    say(f"loading the bundle {config.bundle}")
    bundle = bundle or Bundle.load(config.bundle, verify=False)
    replays, counts = prepare_replays(dialogues, bundle.catalog)
    depth = max(config.ks) + max((len(r.earlier) for r in replays), default=0)
    metrics, seconds = {}, {}
    for name in config.systems:
        say(f"building {name}")
        started = time.perf_counter()
        params = config.encore if name.strip().lower() == "encore" else {}
        system = make_dialogue_system(name, bundle, **params)
        say(f"ranking {len(replays)} test points with {name}")
        lists = system.rank(replays, depth)
        seconds[system.name] = round(time.perf_counter() - started, 1)
        scored = [ScoredPoint(r.targets, r.earlier, ranked)
                  for r, ranked in zip(replays, lists, strict=True)]
        metrics[system.name] = recall_table(scored, config.ks)
    return DialogueResult(dialogues=str(config.dialogues), bundle=str(config.bundle),
                          half=config.half, counts=counts, metrics=metrics, seconds=seconds)


def write_dialogue_report(result: DialogueResult, out: str | Path) -> Path:
    """Write ``dialogues.json`` (the whole result) into ``out``."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "dialogues.json"
    path.write_text(json.dumps(result.model_dump(mode="json"), indent=2) + "\n",
                    encoding="utf-8")
    return path
