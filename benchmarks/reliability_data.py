"""Bad data: every defect of the corpus through the real loaders, counted.

The corpus (``tests/reliability/data/bad_data.py``) holds one small file or MovieLens folder
per defect: broken and truncated JSON and CSV, stray quotes, a 10 MB field, timestamps of
``inf`` and ``1e30``, JSON nested 100,000 deep, a cut ``ratings.dat``, empty files, control
and bidi characters, byte-order marks, oversized ids, tags and creators... Each is loaded
as it is, and again with ``skip_bad_rows``. A defect is

- **clear** when the loader raises a ``DataError`` naming the file, the line (where the
  defect has one), the field (where it has one) and a fix;
- **accepted by rule** when it loads and the stated rule holds on what was loaded (e.g. a
  BOM file gives the same rows; control characters are gone from titles);
- **unclear** otherwise (a bare Python exception, a message missing its location or fix,
  or a silent load): the count must be 0.

``skip kept all`` counts the row-level defects for which ``skip_bad_rows`` loaded every
good row and listed the bad line.

Run (a few seconds):
    .venv/bin/python benchmarks/reliability_data.py
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _corpus():
    spec = importlib.util.spec_from_file_location(
        "bad_data_corpus", REPO / "tests" / "reliability" / "data" / "bad_data.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--verbose", action="store_true", help="print every defect's outcome")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    logging.getLogger("retrieval").setLevel(logging.ERROR)  # the corpus warns by design
    corpus = _corpus()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="encore-bad-data-") as tmp:
        outcomes = corpus.run_corpus(Path(tmp))
    seconds = time.perf_counter() - start
    by_kind: dict[str, Counter[str]] = {}
    for o in outcomes:
        by_kind.setdefault(o.defect.kind, Counter())[o.result] += 1
    skip_cases = [o for o in outcomes if o.skip_ok is not None]
    skip_kept = sum(1 for o in skip_cases if o.skip_ok)
    total = Counter(o.result for o in outcomes)
    print(f"{'file kind':<14}{'tried':>7}{'clear':>7}{'by rule':>9}{'unclear':>9}")
    for kind, c in by_kind.items():
        print(f"{kind:<14}{sum(c.values()):>7}{c['clear']:>7}{c['accepted']:>9}"
              f"{c['unclear']:>9}")
    print(f"{'all':<14}{len(outcomes):>7}{total['clear']:>7}{total['accepted']:>9}"
          f"{total['unclear']:>9}")
    print(f"skip_bad_rows kept every good row and listed the bad line: {skip_kept} of "
          f"{len(skip_cases)} row-level defects; {seconds:.1f} s in all")
    for o in outcomes:
        if args.verbose or o.result == "unclear" or o.skip_ok is False:
            print(f"  [{o.result}{'' if o.skip_ok is not False else ', skip lost rows'}] "
                  f"{o.defect.name}: {o.detail[:160]}")
    result = {"defects_tried": len(outcomes), "clear": total["clear"],
              "accepted_by_rule": total["accepted"], "unclear": total["unclear"],
              "skip_row_level": len(skip_cases), "skip_kept_all": skip_kept,
              "seconds": round(seconds, 1)}
    print("RESULT " + json.dumps(result))
    return 0 if not total["unclear"] and skip_kept == len(skip_cases) else 1


if __name__ == "__main__":
    raise SystemExit(main())
