"""Secrets never reach files or output (issue 14, defect 1).

A real `encore build` runs in a subprocess with planted secrets in its environment (the LLM
API key, the chat page's login and a Postgres password in the store URL), every log record
at DEBUG written to a file, and HOME, TMPDIR and the working folder inside one scratch
folder; then every file under it (recursively, binary included, names too) and the
captured stdout and stderr are searched for the planted values. Before the fix the
manifest held ``"api_key": "sk-..."`` and ``"auth": "admin:..."``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

PLANTED = {
    "ENCORE_LLM__API_KEY": "sk-planted-5f0c1e7a9b",
    "ENCORE_UI__AUTH": "admin:planted-ui-3d8e2b",
    "ENCORE_STORE__URL": "postgresql://u:planted-db-71c4aa@127.0.0.1/x",
}
# What must never appear: each secret whole, and the distinctive part of each.
SECRETS = ("sk-planted-5f0c1e7a9b", "planted-5f0c1e7a9b", "planted-ui-3d8e2b",
           "planted-db-71c4aa")

# A quick pipeline for a small real build (the test bundles' settings, as environment).
QUICK_BUILD = {
    "ENCORE_RETRIEVAL__N_CANDIDATES": "50", "ENCORE_RETRIEVAL__COLLABORATIVE": "40",
    "ENCORE_RANKER__MAX_ROUNDS": "40", "ENCORE_RANKER__EARLY_STOPPING": "10",
    "ENCORE_RANKER__MIN_DATA_IN_LEAF": "20", "ENCORE_RANKER__NUM_LEAVES": "7",
    "ENCORE_RANKER__NUM_THREADS": "1", "ENCORE_TRAINING__CUTS": "3",
}

# Runs the CLI with every log record (any library, DEBUG and up) going to a file.
_WITH_LOG = ("import logging, sys; "
             "logging.basicConfig(level=logging.DEBUG, filename=sys.argv.pop(1)); "
             "from assistant.cli import main; sys.argv[0] = 'encore'; main()")


def files_holding(root: Path, secrets: tuple[str, ...] = SECRETS) -> list[str]:
    """Every file under ``root`` whose bytes or name hold a secret (UTF-8 or UTF-16)."""
    needles = [n for s in secrets for n in (s.encode(), s.encode("utf-16-le"))]
    found = []
    for path in sorted(root.rglob("*")):
        if any(s in str(path) for s in secrets):
            found.append(f"{path} (its name)")
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            found += [f"{path}" for n in needles if n in data][:1]
    return found


def planted_env(root: Path, encoder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENCORE_")}
    env.update({**PLANTED, **QUICK_BUILD}, HOME=str(root / "home"), TMPDIR=str(root / "tmp"),
               PYTHONPATH=str(REPO), OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1",
               TRANSFORMERS_OFFLINE="1", ENCORE_RETRIEVAL__ENCODER_MODEL=str(encoder))
    for folder in ("home", "tmp", "work"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    return env


@pytest.fixture(scope="module")
def tiny_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.bundles import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("secrets-encoder") / "tiny")


def test_a_real_build_writes_no_secret_anywhere(tmp_path: Path, tiny_encoder: Path) -> None:
    root = tmp_path / "scratch"
    env = planted_env(root, tiny_encoder)
    log = root / "work" / "encore.log"
    result = subprocess.run(
        [sys.executable, "-c", _WITH_LOG, str(log), "build", "--data", "demo:200",
         "--out", str(root / "work" / "bundle"), "--max-pairs", "512", "--no-progress",
         "--json"],
        cwd=root / "work", env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout)
    bundle = root / "work" / "bundle"
    from retrieval.bundle import read_manifest

    manifest = read_manifest(bundle)
    # a full build: a fine-tuned encoder and a trained ranker, so every writer ran
    assert summary["encoder"]["finetuned"] and manifest["ranker"]["kind"] == "lightgbm"
    assert log.stat().st_size > 0
    assert len(list(root.rglob("*"))) > 20
    for text in (result.stdout, result.stderr):
        assert not [s for s in SECRETS if s in text]
    assert files_holding(root) == []
    # the manifest records what shapes the model, and nothing of the llm, ui or store
    assert not {"settings", "llm", "ui", "store"} & set(manifest)
    assert not {"api_key", "auth", "url", "password"} & set(_keys(manifest))
    assert manifest["pipeline"]["retrieval"]["n_candidates"] == 50  # the settings did apply


def _keys(value: object) -> list[str]:
    if isinstance(value, dict):
        return [k for key, v in value.items() for k in (str(key), *_keys(v))]
    if isinstance(value, list):
        return [k for v in value for k in _keys(v)]
    return []


def test_the_grep_finds_a_planted_secret(tmp_path: Path) -> None:
    # The search above is only worth its "nothing found" if it finds what is there.
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "blob.bin").write_bytes(b"\x00\x01" + SECRETS[2].encode("utf-16-le"))
    (tmp_path / "clean.txt").write_text("nothing here")
    (tmp_path / f"{SECRETS[3]}.txt").write_text("")
    found = files_holding(tmp_path)
    assert len(found) == 2 and "blob.bin" in found[0] and "(its name)" in found[1]


def test_build_errors_and_the_serve_command_print_no_secret(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    import assistant.ui
    from assistant.cli import app

    for key, value in PLANTED.items():
        monkeypatch.setenv(key, value)
    runner = CliRunner()
    failed = runner.invoke(app, ["build", "--data", str(tmp_path / "missing.jsonl"),
                                 "--out", str(tmp_path / "b"), "--json"])
    assert failed.exit_code == 2
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "manifest.json").write_text("{}")  # an old flat bundle: serve takes it
    launched: dict[str, object] = {}
    monkeypatch.setattr(assistant.ui, "launch", lambda load, **kw: launched.update(kw))
    served = runner.invoke(app, ["serve", "--bundle", str(bundle), "--port", "1"])
    if served.exit_code == 2:  # port 1 is privileged; serve refused it in one line
        assert "cannot listen" in served.output or "port" in served.output
    else:
        assert served.exit_code == 0, served.output
        access = launched["access"]  # the login still works: ui.auth is one account
        assert access.book.verify("admin", "planted-ui-3d8e2b") is not None  # type: ignore[attr-defined]
    for text in (failed.output, served.output):
        assert not [s for s in SECRETS if s in text]


def test_store_errors_never_show_the_password() -> None:
    from assistant.store import StoreError, open_store

    pytest.importorskip("psycopg", reason="pip install 'encore-rec[postgres]'")
    for url in ("postgresql://u:planted-db-71c4aa@127.0.0.1:1/x",  # nothing listens there
                "postgresql://u:planted db 71c4aa@127.0.0.1/x",  # libpq quotes the bad part
                "postgresql://u@127.0.0.1:1/x?password=planted-db-71c4aa",
                "postgresql://u:planted-db-71c4aa@127.0.0.1:notaport/x"):
        with pytest.raises(StoreError) as info:
            open_store(url)
        assert "planted" not in str(info.value), str(info.value)
        assert "cannot connect to Postgres" in str(info.value)
