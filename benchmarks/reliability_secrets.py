"""Reliability: secrets never reach files or output, and sessions are one person's and expire
(issue 14, parts 1 and 7).

Secrets. A real ``encore build`` of the demo data set (``demo:300``: real titles,
SYNTHETIC interactions; the packaged all-MiniLM-L6-v2 fine-tuned on 512 pairs, a quick
LightGBM ranker) runs in a subprocess with planted secrets in its environment: the LLM API
key, the chat page's login and a Postgres password in the store URL. Every log record
(DEBUG and up, any library) goes to a file; HOME, TMPDIR and the working folder lie in one
scratch folder. Then every file under that folder (recursively, binary included, names too,
UTF-8 and UTF-16) and the captured stdout and stderr are searched for the planted values.
Also searched: ``repr``, ``str``, ``model_dump`` and ``model_dump_json`` of the Settings, and
the errors of opening the store with a planted password in 4 malformed or unreachable URLs.

Sessions, on a SQLite file and, when ENCORE_TEST_POSTGRES_URL is set, on a Postgres schema of
its own (``bash tests/setup/postgres.sh python benchmarks/reliability_secrets.py`` starts a
throwaway server):

- cross-user: 400 users share 100 session ids (4 users each) through the SessionCache the
  turns use; every user's session is then read under each of the 3 others' ids, through the
  store and through a fresh cache (a restart): each read must be refused, and every user's
  own state must be intact (no overwrite);
- expiry: 1,000 sessions saved at ages spread over 0..2x ``session_max_age_s`` (a fake
  clock); each is loaded: those older than the age must load as None, the others whole;
  then a purge must leave only the live ones.

Run (2 CPU cores, 2-4 minutes, most of it the build):
    .venv/bin/python benchmarks/reliability_secrets.py
    .venv/bin/python benchmarks/reliability_secrets.py --tiny   # the tiny test encoder
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

PLANTED = {
    "ENCORE_LLM__API_KEY": "sk-planted-bench-9a1f0c",
    "ENCORE_UI__AUTH": "admin:planted-bench-ui-41d2",
    "ENCORE_STORE__URL": "postgresql://u:planted-bench-db-77e3@127.0.0.1/x",
}
SECRETS = ("sk-planted-bench-9a1f0c", "planted-bench-9a1f0c", "planted-bench-ui-41d2",
           "planted-bench-db-77e3")
QUICK_RANKER = {"ENCORE_RANKER__MAX_ROUNDS": "60", "ENCORE_RANKER__EARLY_STOPPING": "10",
                "ENCORE_RANKER__NUM_THREADS": "1", "ENCORE_TRAINING__CUTS": "3"}
_WITH_LOG = ("import logging, sys; "
             "logging.basicConfig(level=logging.DEBUG, filename=sys.argv.pop(1)); "
             "from assistant.cli import main; sys.argv[0] = 'encore'; main()")


# -- secrets ----------------------------------------------------------------------------------


def scan(root: Path) -> tuple[int, int, list[str]]:
    """(files, bytes, hits) of a search of every file under ``root`` for the secrets."""
    needles = [n for s in SECRETS for n in (s.encode(), s.encode("utf-16-le"))]
    files = size = 0
    hits: list[str] = []
    for path in sorted(root.rglob("*")):
        if any(s in str(path) for s in SECRETS):
            hits.append(f"{path} (name)")
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            files, size = files + 1, size + len(data)
            hits += [str(path) for n in needles if n in data][:1]
    return files, size, hits


def build_with_planted_secrets(root: Path, tiny: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENCORE_")}
    for folder in ("home", "tmp", "work"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    env.update({**PLANTED, **QUICK_RANKER}, HOME=str(root / "home"), TMPDIR=str(root / "tmp"),
               PYTHONPATH=str(REPO), OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1",
               TRANSFORMERS_OFFLINE="1")
    if tiny:
        from tests.bundles import build_tiny_model

        encoder = build_tiny_model(root.parent / "tiny-encoder")  # outside the scanned folder
        env["ENCORE_RETRIEVAL__ENCODER_MODEL"] = str(encoder)
    log = root / "work" / "encore.log"
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", _WITH_LOG, str(log), "build", "--data", "demo:300",
         "--out", str(root / "work" / "bundle"), "--max-pairs", "512", "--no-progress",
         "--json"],
        cwd=root / "work", env=env, capture_output=True, text=True, timeout=900)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"the build failed:\n{result.stderr[-3000:]}")
    files, size, hits = scan(root)
    hits += [f"<{name}>" for name, text in (("stdout", result.stdout),
                                            ("stderr", result.stderr))
             if any(s in text for s in SECRETS)]
    summary = json.loads(result.stdout)
    return {"files": files, "bytes": size, "hits": hits, "seconds": round(seconds, 1),
            "log_bytes": log.stat().st_size, "encoder": summary["encoder"]["model"]}


def settings_and_store_views() -> tuple[int, list[str]]:
    """(views checked, views holding a secret): Settings dumps and store errors."""
    from assistant.settings import Settings
    from assistant.store import StoreError, open_store

    s = Settings(llm={"api_key": PLANTED["ENCORE_LLM__API_KEY"]},
                 ui={"auth": PLANTED["ENCORE_UI__AUTH"]},
                 store={"url": PLANTED["ENCORE_STORE__URL"]})
    views = {"repr": repr(s), "str": str(s), "model_dump": str(s.model_dump()),
             "model_dump(json)": str(s.model_dump(mode="json")),
             "model_dump_json": s.model_dump_json()}
    for i, url in enumerate(("postgresql://u:planted-bench-db-77e3@127.0.0.1:1/x",
                             "postgresql://u:planted bench db 77e3@127.0.0.1/x",
                             "postgresql://u@127.0.0.1:1/x?password=planted-bench-db-77e3",
                             "postgresql://u:planted-bench-db-77e3@127.0.0.1:notaport/x")):
        try:
            open_store(url).close()
            views[f"store error {i}"] = ""
        except (StoreError, ModuleNotFoundError) as exc:
            views[f"store error {i}"] = str(exc)
    leaks = [name for name, text in views.items()
             if any(x in text for x in (*SECRETS, "planted bench"))]
    return len(views), leaks


# -- sessions ---------------------------------------------------------------------------------


class FakeClock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def cross_user(url: str) -> dict[str, int]:
    from assistant.sessions_cache import SessionCache
    from assistant.store import open_store

    n_ids, per_id = 100, 4
    with open_store(url) as store:
        cache = SessionCache(store)
        for sid in range(n_ids):
            for u in range(per_id):
                s = cache.load(f"sess-{sid}", f"user-{sid}-{u}")
                s.turn, s.shown_ids = u + 1, [f"item-{sid}-{u}"]
                cache.save(s)
        fresh = SessionCache(store)  # a restart: everything comes from the store
        tried = refused = intact = 0
        for sid in range(n_ids):
            for u in range(per_id):
                mine = fresh.load(f"sess-{sid}", f"user-{sid}-{u}")
                intact += mine.turn == u + 1 and mine.shown_ids == [f"item-{sid}-{u}"]
                # a stranger names this session id: the store and the cache give nothing
                stranger = f"stranger-{sid}-{u}"
                refused += store.load_session(f"sess-{sid}", stranger) is None
                refused += fresh.load(f"sess-{sid}", stranger).turn == 0
                # each other owner of the id reads their own conversation, never this one
                for other in (o for o in range(per_id) if o != u):
                    state = store.load_session(f"sess-{sid}", f"user-{sid}-{other}")
                    refused += state is not None and state["shown_ids"] != [f"item-{sid}-{u}"]
                tried += 2 + per_id - 1
    return {"tried": tried, "refused": refused, "intact": intact, "sessions": n_ids * per_id}


def expiry(url: str) -> dict[str, int]:
    from assistant.store import open_store

    n, max_age = 1000, 3600
    clock = FakeClock()
    start = clock.now
    with open_store(url, session_max_age_s=max_age, clock=clock) as store:
        ages = []
        for i in range(n):  # saved at ages 0 .. 2*max_age (seen from the end time)
            age = (i * 2 * max_age) // n + (1 if i % 2 else 0)
            ages.append(age)
            clock.now = start - age
            store.save_session(f"s{i}", f"u{i % 37}", {"i": i})
        clock.now = start
        correct = 0
        for i, age in enumerate(ages):
            state = store.load_session(f"s{i}", f"u{i % 37}")
            correct += (state is None) if age > max_age else (state == {"i": i})
        clock.now = start + max_age + 1  # everything is older than the age now
        purged = store.purge_expired_sessions()
        left = sum(store.load_session(f"s{i}", f"u{i % 37}") is not None for i in range(n))
    alive = sum(a <= max_age for a in ages)
    return {"checked": n, "correct": correct, "expired": n - alive, "purged_late": purged,
            "left_after_purge": left, "alive_before": alive}


def backends(tmp: Path) -> list[tuple[str, str, object]]:
    """(name, url, cleanup) of each store to try."""
    out: list[tuple[str, str, object]] = [("sqlite", f"sqlite:///{tmp / 'h.sqlite3'}", None)]
    base = os.environ.get("ENCORE_TEST_POSTGRES_URL", "")
    if base:
        import psycopg

        schema = f"encore_bench_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        sep = "&" if "?" in base else "?"
        out.append(("postgres", f"{base}{sep}options=-csearch_path%3D{schema}",
                    (base, schema)))
    return out


def drop(cleanup: object) -> None:
    if cleanup is None:
        return
    import psycopg

    base, schema = cleanup  # type: ignore[misc]
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true",
                        help="build with the tiny random test encoder (seconds, not minutes)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="encore-secrets-") as tmp:
        build = build_with_planted_secrets(Path(tmp) / "scratch", args.tiny)
        views, view_leaks = settings_and_store_views()
        rows = []
        for name, url, cleanup in backends(Path(tmp)):
            try:
                rows.append((name, cross_user(url), expiry(url)))
            finally:
                drop(cleanup)
    print(f"build with planted secrets: {build['seconds']} s, encoder {build['encoder']}, "
          f"{build['files']} files, {build['bytes'] / 1e6:.1f} MB scanned "
          f"(log {build['log_bytes']} bytes)")
    print(f"  planted secrets found in files, names, stdout, stderr, log: {len(build['hits'])}")
    for hit in build["hits"]:
        print(f"    {hit}")
    print(f"  settings dumps and store errors checked: {views}, holding a secret: "
          f"{len(view_leaks)} {view_leaks or ''}")
    print()
    print(f"{'store':<9} {'cross-user reads':>17} {'refused':>8} {'own intact':>11} "
          f"{'expiry checked':>15} {'correct':>8} {'expired':>8} {'left after purge':>17}")
    for name, cu, ex in rows:
        print(f"{name:<9} {cu['tried']:>17} {cu['refused']:>8} "
              f"{cu['intact']:>5}/{cu['sessions']:<5} {ex['checked']:>15} {ex['correct']:>8} "
              f"{ex['expired']:>8} {ex['left_after_purge']:>17}")
    result = {
        "planted_secrets_found": len(build["hits"]) + len(view_leaks),
        "build_files_scanned": build["files"], "build_bytes_scanned": build["bytes"],
        "secret_views_checked": views,
        "backends": [name for name, _, _ in rows],
        "cross_user_reads_tried": sum(cu["tried"] for _, cu, _ in rows),
        "cross_user_reads_refused": sum(cu["refused"] for _, cu, _ in rows),
        "own_sessions_intact": sum(cu["intact"] for _, cu, _ in rows),
        "own_sessions": sum(cu["sessions"] for _, cu, _ in rows),
        "sessions_expiry_checked": sum(ex["checked"] for _, _, ex in rows),
        "sessions_expired_correctly": sum(ex["correct"] for _, _, ex in rows),
        "sessions_left_after_purge": sum(ex["left_after_purge"] for _, _, ex in rows),
    }
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
