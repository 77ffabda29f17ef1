"""Kill bundle builds at every step of the swap, twice in a row, and check what loads.

Run as a script (``python tests/reliability/bundle_kills.py REPORT.json [--legacy]``) by
``test_bundle_recovery.py``: this process imports the build code once and forks one child
per build or load (a fresh interpreter per build would cost a second or two each, and
there are hundreds). Each build child gets ``ENCORE_TEST_CRASH_AT=<step>`` and SIGKILLs
itself at that step (:func:`retrieval.bundle_store.crash_point`): a real kill, so no
``finally`` block or clean-up handler runs. The parent never runs FAISS, pandas or Arrow
code itself, so no thread pool is forked half-initialised.

For every pair of steps (i, j): kill build 1 at step i, load; kill build 2 at step j,
load; run a clean build, load; check that each load gives the bundle it must (the one
before the kill, or the new one once the kill came after the pointer swap), that loading
moved nothing, and that the clean build left no leftovers. The report is JSON: every case
with what went wrong (an empty list when all held).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Imported once here, not in every child (importing FAISS starts no threads).
import retrieval.encoder  # noqa: E402, F401
import retrieval.index  # noqa: E402, F401
import retrieval.loaders.catalog  # noqa: E402, F401
from retrieval.bundle import Bundle, build_bundle  # noqa: E402
from retrieval.bundle_store import (  # noqa: E402
    CRASH_ENV,
    CRASH_STEPS,
    MIGRATION_STEPS,
    check_folder,
    leftovers,
    resolve,
)
from retrieval.catalog import Catalog  # noqa: E402
from retrieval.config import BuildConfig  # noqa: E402
from retrieval.dataset import Dataset  # noqa: E402
from retrieval.interactions import Interactions  # noqa: E402
from retrieval.models import Interaction, Item  # noqa: E402

CHILD_TIMEOUT_S = 60.0
# Steps after which the new generation is live: a kill there must load the new bundle.
LIVE_AFTER = ("pointer-swapped", "prune-renamed", "prune-partial", "legacy-partial")


class HashEncoder:
    """A deterministic 16-dimensional text hash: builds need no model weights."""

    dim = 16
    name = "hash-encoder"

    def encode(self, texts: list[str]) -> np.ndarray:
        rows = [np.frombuffer(hashlib.sha256(t.encode()).digest()[:16], dtype=np.uint8)
                for t in texts]
        vecs = np.asarray(rows, dtype="float32") + 1.0
        return vecs / np.linalg.norm(vecs, axis=1, keepdims=True)


def dataset(tag: str) -> Dataset:
    """Twelve items and a few events; ``tag`` names the build (read back from the manifest)."""
    items = [Item(id=f"i{k}", title=f"Title {k}", media_type="movie", year=1990 + k,
                  genres=["drama"]) for k in range(12)]
    rows = [Interaction(user_id=f"u{u}", item_id=f"i{(u + t) % 12}", timestamp=100 * u + t,
                        event="play") for u in range(4) for t in range(3)]
    return Dataset(name=tag, catalog=Catalog(items), interactions=Interactions.from_records(rows),
                   source="tests")


def _fork(fn, *args) -> tuple[int | None, int | None]:
    """Run ``fn(*args)`` in a child; (exit code, signal) once it ends."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            fn(*args)
            code = 0
        except BaseException as exc:  # noqa: BLE001 - reported through the exit code
            print(f"child error: {exc!r}", file=sys.stderr)
        finally:
            os._exit(code)
    deadline = time.monotonic() + CHILD_TIMEOUT_S
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            return None, None
        time.sleep(0.005)
    if os.WIFSIGNALED(status):
        return None, os.WTERMSIG(status)
    return os.WEXITSTATUS(status), None


def _build(out: Path, tag: str, crash: str | None) -> None:
    if crash:
        os.environ[CRASH_ENV] = crash
    build_bundle(dataset(tag), out, BuildConfig(), encoder=HashEncoder(),  # type: ignore[arg-type]
                 finetune=False, train_ranker=False, progress=False)


def _load(out: Path, result: Path) -> None:
    b = Bundle.load(out)
    result.write_text(json.dumps({"tag": b.manifest["dataset"]["name"], "items": len(b.catalog),
                                  "folder": b.path.name}))


def _tree(folder: Path) -> dict[str, tuple[int, int, int]]:
    return {str(p): (p.lstat().st_ino, p.lstat().st_size, p.lstat().st_mtime_ns)
            for p in sorted(folder.rglob("*"))}


def load_tag(site: Path, out: Path) -> tuple[str | None, list[str]]:
    """Load the bundle in a child; its build tag, and what went wrong."""
    result = site.parent / f"{site.name}.load.json"
    result.unlink(missing_ok=True)
    before = _tree(site)
    code, sig = _fork(_load, out, result)
    problems = []
    if _tree(site) != before:
        problems.append("loading changed the folder")
    if code != 0:
        problems.append(f"load failed (exit {code}, signal {sig})")
        return None, problems
    return json.loads(result.read_text())["tag"], problems


def build(out: Path, tag: str, crash: str | None) -> bool:
    """Run a build (killed at ``crash``); True when the kill happened."""
    code, sig = _fork(_build, out, tag, crash)
    if sig == 9:
        return True
    if code != 0:
        raise RuntimeError(f"build {tag} (crash at {crash}) failed: exit {code}, signal {sig}")
    return False


def base_state(work: Path, legacy: bool) -> Path:
    """A site with a good bundle "base" (tag), and leftovers for every step to fire."""
    site = work / "base"
    out = site / "bundle"
    if legacy:
        # The older flat layout, next to the old swap's leftovers (a temporary folder and
        # a half-deleted .old one).
        build(work / "src", "base", None)
        shutil.copytree(resolve(work / "src").folder, out)
        shutil.copytree(resolve(work / "src").folder, site / ".bundle.old-4242")
        (site / ".bundle.old-4242" / "catalog.jsonl").unlink()
        (site / ".bundle.abcd1234.tmp").mkdir()
        return site
    build(out, "older", None)
    build(out, "base", None)   # two generations: the next build prunes one
    build(out, "killed", "data-written")  # a leftover temporary folder to clean
    return site


def _clean_build(site: Path, out: Path) -> list[str]:
    """Build without a kill; what is wrong afterwards (the live bundle, the leftovers)."""
    problems = []
    build(out, "clean", None)
    found = resolve(out)
    tag = json.loads((found.folder / "manifest.json").read_text())["dataset"]["name"]
    if tag != "clean" or check_folder(found.folder, hashes=True) is not None:
        problems.append(f"after the clean build: the live bundle is {tag!r} in {found.folder}")
    if left := leftovers(out):
        problems.append(f"after the clean build: leftovers {left}")
    return problems


def _kill_and_load(site: Path, tag: str, step: str, before: str) -> tuple[bool, str, list[str]]:
    """Build ``tag`` killed at ``step`` and load; (killed, the tag now live, problems)."""
    out = site / "bundle"
    killed = build(out, tag, step)
    expect = tag if not killed or step in LIVE_AFTER else before
    got, issues = load_tag(site, out)
    problems = [f"after a kill at {step}: {x}" for x in issues]
    if got != expect:
        problems.append(f"after a kill at {step}: loaded {got!r}, expected {expect!r}")
    return killed, expect, problems


def run_first(work: Path, start: Path, i: str, seconds: list[str]) -> list[dict[str, object]]:
    """Kill build 1 at step i and load; then, on a copy of what it left for each step j,
    kill build 2 at j and load, then build cleanly."""
    first = work / f"{i}"
    shutil.copytree(start, first)
    killed, live, problems = _kill_and_load(first, "one", i, "base")
    cases = [{"first": i, "second": None, "fired": [killed], "problems": problems}]
    for j in seconds:
        site = work / f"{i}--{j}"
        shutil.copytree(first, site)
        fired, _, problems = _kill_and_load(site, "two", j, live)
        problems += _clean_build(site, site / "bundle")
        cases.append({"first": i, "second": j, "fired": [killed, fired], "problems": problems})
        shutil.rmtree(site)
    shutil.rmtree(first)
    return cases


def main(report: Path, legacy: bool, pairs: str) -> None:
    """Try every step as the first kill; as the second, every step (``pairs="all"``) or the
    same step again (``"same"``)."""
    steps = list(CRASH_STEPS) + (list(MIGRATION_STEPS[:5]) if legacy else [])
    started = time.monotonic()
    shm = Path("/dev/shm")  # no disk flushes: a kill loses nothing fsync would have saved
    with tempfile.TemporaryDirectory(prefix="encore-kills-",
                                     dir=shm if shm.is_dir() else None) as tmp:
        work = Path(tmp)
        start = base_state(work, legacy)
        cases = [case for i in steps
                 for case in run_first(work, start, i, steps if pairs == "all" else [i])]
    report.write_text(json.dumps({"legacy": legacy, "steps": steps, "cases": cases,
                                  "seconds": round(time.monotonic() - started, 1)}))


if __name__ == "__main__":
    os.environ.pop(CRASH_ENV, None)
    main(Path(sys.argv[1]), "--legacy" in sys.argv[2:],
         "all" if "--all-pairs" in sys.argv[2:] else "same")
