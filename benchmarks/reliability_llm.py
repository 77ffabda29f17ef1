"""Turns answered under every kind of LLM-server fault, and what each costs.

For each fault mode of the fake OpenAI-compatible server (``tests/reliability/fake_llm.py``:
ok, stall, slow, http500, http429, malformed, empty, reset, truncated, invented,
wrong_schema), N turns go through :class:`~assistant.core.Assistant` with both LLM stages
(parser and explainer) pointed at it, over the small test bundle (the demo catalog, 200
SYNTHETIC users, the tiny test encoder; built once into a temporary folder, about 25 s).

Per mode it prints: turns answered (a reply with every card explained), turns whose
explanations hold only checked text (no invented number, address, markup or instruction of
the fake's "invented" answers), the fallback reasons of the parser and the explainer, the
median and the largest turn time, and the process's threads and sockets before and after
the N turns. The circuit breaker is off (``breaker_failures`` 1000) so that every turn
meets the fault; one more row, ``stall+breaker``, runs the stall with the default breaker
(3 failures, 30 s cool-down): the first turns cost one deadline, the rest go straight to
the offline path.

Run (2 CPU cores, about 1.5 minutes with the defaults):
    .venv/bin/python benchmarks/reliability_llm.py
    .venv/bin/python benchmarks/reliability_llm.py --turns 20 --deadline 0.5

The last line is ``RESULT {...}`` (JSON) for the README.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.reliability.fake_llm import FORBIDDEN, open_sockets  # noqa: E402

MESSAGES = ["sci-fi films", "something calm for tonight", "podcasts about history",
            "jazz albums from the 60s", "a short comedy series"]


def counts(settle_s: float = 2.0, target: tuple[int, int] | None = None) -> tuple[int, int]:
    """Threads and sockets (waiting up to ``settle_s`` for ``target`` or fewer: the fake
    server's connection threads end a moment after the client hangs up)."""
    end = time.monotonic() + settle_s
    while True:
        now = (threading.active_count(), open_sockets())
        if target is None or (now[0] <= target[0] and now[1] <= target[1]) \
                or time.monotonic() > end:
            return now
        time.sleep(0.05)


def run_mode(bundle: Path, mode: str, turns: int, deadline: float, breaker: bool) -> dict:
    from assistant.core import Assistant
    from assistant.settings import Settings
    from assistant.store import open_store
    from tests.reliability.fake_llm import FakeLLM

    extra = {} if breaker else {"breaker_failures": 1000}
    with FakeLLM("ok", slow_gap_s=0.05) as fake:
        settings = Settings(llm=fake.llm_settings(timeout_s=deadline, **extra))
        with Assistant.from_bundle(bundle, settings, store=open_store("sqlite://:memory:")) as bot:
            user = bot.users(1)[0]
            bot.chat("warm-up", user, "films")  # lazily built parts exist before counting
            fake.mode = mode
            before = counts()
            times, answered, clean, reasons = [], 0, 0, set()
            for i in range(turns):
                start = time.monotonic()
                reply = bot.chat(f"{mode}-{i}", user, MESSAGES[i % len(MESSAGES)])
                times.append(time.monotonic() - start)
                texts = [r.explanation for r in reply.recommendations]
                answered += bool(texts) and all(texts)
                clean += not any(FORBIDDEN.search(t) for t in texts)
                by_stage = {f.stage: f.reason for f in reply.meta.fallbacks}
                reasons.add(f"{by_stage.get('parser', '-')} / {by_stage.get('explainer', '-')}")
            after = counts(target=before)
    return {"mode": mode + ("+breaker" if breaker else ""), "turns": turns,
            "answered": answered, "clean": clean, "fallbacks": "; ".join(sorted(reasons)),
            "median_ms": round(statistics.median(times) * 1000), "max_ms": round(max(times) * 1000),
            "threads": (before[0], after[0]), "sockets": (before[1], after[1])}


def main(argv: list[str] | None = None) -> None:
    from tests.reliability.fake_llm import MODES

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--turns", type=int, default=10, help="turns per fault mode (10)")
    parser.add_argument("--deadline", type=float, default=1.0,
                        help="llm.timeout_s, the turn's LLM deadline in seconds (1.0)")
    parser.add_argument("--modes", default=",".join(MODES), help="fault modes to run")
    parser.add_argument("--bundle", type=Path, default=None,
                        help="a built bundle to use instead of building the test bundle")
    args = parser.parse_args(argv)
    if not 1 <= args.turns <= 200:
        parser.error("--turns must be 1 to 200")
    logging.disable(logging.WARNING)  # every fallback logs a warning; the table says it
    with tempfile.TemporaryDirectory(prefix="encore-rel-llm-") as tmp:
        bundle = args.bundle
        if bundle is None:
            from tests.bundles import build_demo_bundle

            t = time.monotonic()
            bundle = build_demo_bundle(Path(tmp))
            print(f"test bundle built in {time.monotonic() - t:.0f} s")
        rows = [run_mode(bundle, m, args.turns, args.deadline, breaker=False)
                for m in args.modes.split(",")]
        rows.append(run_mode(bundle, "stall", args.turns, args.deadline, breaker=True))
    head = (f"{'mode':<15}{'answered':>9}{'clean':>7}{'median ms':>11}{'max ms':>8}"
            f"{'threads':>10}{'sockets':>9}  fallbacks (parser / explainer)")
    print(f"\ndeadline {args.deadline:g} s, {args.turns} turns per mode\n{head}")
    for r in rows:
        threads, sockets = "{}->{}".format(*r["threads"]), "{}->{}".format(*r["sockets"])
        print(f"{r['mode']:<15}{r['answered']:>4}/{r['turns']:<4}{r['clean']:>7}"
              f"{r['median_ms']:>11}{r['max_ms']:>8}{threads:>10}{sockets:>9}"
              f"  {r['fallbacks']}")
    faults = [r for r in rows if r["mode"] != "ok"]
    result = {
        "deadline_s": args.deadline, "turns_per_mode": args.turns,
        "fault_modes": len([r for r in faults if "+" not in r["mode"]]),
        "turns": sum(r["turns"] for r in faults), "answered": sum(r["answered"] for r in faults),
        "clean": sum(r["clean"] for r in faults),
        "max_turn_ms": max(r["max_ms"] for r in faults),
        "stall_median_ms": next(r["median_ms"] for r in rows if r["mode"] == "stall"),
        "stall_breaker_median_ms": rows[-1]["median_ms"],
        "thread_growth_max": max(r["threads"][1] - r["threads"][0] for r in rows),
        "socket_growth_max": max(r["sockets"][1] - r["sockets"][0] for r in rows),
    }
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
