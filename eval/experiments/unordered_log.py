"""Encore against EASE on a copy of ml-100k whose training log has no timestamps.

A log may leave timestamps out (the interaction format allows it). Encore then has no
order to read: its ranker must not invent one (issue 12, "order only where there is
one"). This script writes a timestamp-free copy of ml-100k and evaluates EASE and Encore
on it through ``encore eval``:

1. the test part is each user's latest interaction by timestamp (leave-one-out, ties by
   item id, every rating a positive), made from the full log with its timestamps;
2. the training part (everything else) is written without its timestamp column, in the
   file's own row order (``u.data`` is not sorted by item), as ``train.csv``; the test part
   as ``test.csv``;
3. ``encore eval --data movielens:ML100K --train train.csv --test test.csv --systems
   ease,encore --json`` runs on them (the catalog comes from the MovieLens folder).

Run (the second step takes a few minutes on two cores):
    PYTHONPATH=$PWD .venv/bin/python -m eval.experiments.unordered_log \\
        --ml100k ../shared/data/ml-100k --out /tmp/unordered-ml100k
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

METRICS = ("ndcg@10", "recall@10", "recall@20")


def build(ml100k: Path, out: Path) -> tuple[Path, Path]:
    """Write ``train.csv`` (no timestamps) and ``test.csv`` under ``out``; return them."""
    from eval.protocols import implicit_positives, leave_one_out
    from retrieval.loaders import load_movielens

    log = load_movielens(ml100k).interactions
    log, _ = implicit_positives(log)
    split = leave_one_out(log, tie_break="item")
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, part in (("train", split.train), ("test", split.test)):
        frame = part.df.drop(columns=["timestamp"])
        path = out / f"{name}.csv"
        frame.to_csv(path, index=False)
        paths.append(path)
    return paths[0], paths[1]


def run(ml100k: Path, train: Path, test: Path, systems: str, out: Path, python: str) -> dict:
    """``encore eval`` on the copy (report in ``out``); returns each system's metrics as
    mean and standard error, the split's counts and the wall time."""
    cmd = [python, "-c", "from assistant.cli import main; main()", "eval",
           "--data", f"movielens:{ml100k}", "--train", str(train), "--test", str(test),
           "--systems", systems, "--metrics", ",".join(METRICS), "--out", str(out),
           "--json", "--no-progress"]
    print("$", " ".join(cmd), file=sys.stderr)
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
    if done.returncode != 0:
        raise SystemExit(f"encore eval failed ({done.returncode}):\n{done.stderr[-4000:]}")
    full = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    return {
        "command": " ".join(cmd),
        "wall_s": round(time.perf_counter() - started, 1),
        "counts": full["counts"],
        "systems": {name: {m: f"{v['mean']:.4f} ± {v['se']:.4f}"
                           for m, v in sr["metrics"].items()}
                    for name, sr in full["systems"].items()},
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ml100k", type=Path, required=True, help="The ml-100k folder.")
    parser.add_argument("--out", type=Path, default=Path("/tmp/unordered-ml100k"),
                        help="Where the timestamp-free copy and the summary go.")
    parser.add_argument("--systems", default="ease,encore")
    parser.add_argument("--build-only", action="store_true", help="Write the files and stop.")
    args = parser.parse_args(argv)
    train, test = build(args.ml100k, args.out)
    print(f"wrote {train} and {test}", file=sys.stderr)
    if args.build_only:
        return
    summary = run(args.ml100k, train, test, args.systems, args.out / "eval", sys.executable)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False),
                                           encoding="utf-8")
    print(json.dumps(summary, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
