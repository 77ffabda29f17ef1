"""Pair mining (no leaks, deterministic) and fine-tuning on a tiny local model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from retrieval.catalog import Catalog
from retrieval.dataset import Dataset
from retrieval.encoder import load_encoder
from retrieval.errors import DataError
from retrieval.finetune import (
    TRAINING_METADATA_FILE,
    MiningConfig,
    RequestExample,
    TrainingConfig,
    apply_cutoff,
    finetune_encoder,
    leave_one_out,
    mine_pairs,
    parse_cutoff,
    read_request_set,
    train_on_pairs,
)
from retrieval.interactions import Interactions

SMALL = MiningConfig(max_pairs=200, min_history=1, item_window=2, max_gap_seconds=None)


def _pairs_by_user(pairs):
    out: dict[str, set[str]] = {}
    for p in pairs:
        if p.user_id is not None:
            out.setdefault(p.user_id, set()).update({p.target_id, *p.source_ids})
    return out


def test_leave_one_out_matches_the_evaluation_protocol(log: Interactions) -> None:
    from eval.protocols import leave_one_out as eval_loo
    from retrieval.models import Interaction

    # Simultaneous interactions, listed out of id order: ties are broken by item id.
    ties = Interactions.from_records([
        Interaction(user_id="t", item_id=i, timestamp=t, event="play")
        for i, t in [("s3", 5), ("s1", 9), ("s2", 9), ("h1", 9)]])
    log = log.concat(ties)
    train, test = leave_one_out(log)
    assert test[test.user_id == "t"].item_id.astype(str).tolist() == ["s2"]
    split = eval_loo(log)
    key = ["user_id", "item_id", "timestamp"]
    ours = test[key].astype(str).sort_values(key).reset_index(drop=True)
    theirs = split.test.df[key].astype(str).sort_values(key).reset_index(drop=True)
    assert ours.equals(theirs)
    assert len(train) == len(split.train)


def test_held_out_items_never_appear_in_pairs(catalog: Catalog, log: Interactions) -> None:
    train, test = leave_one_out(log)
    pairs = mine_pairs(catalog, train, config=SMALL)
    assert {p.kind for p in pairs} == {"history", "item"}
    seen = _pairs_by_user(pairs)
    for row in test.itertuples():
        assert str(row.item_id) not in seen.get(str(row.user_id), set())
    # ...while without the hold-out they do appear (the check above can fail).
    seen_all = _pairs_by_user(mine_pairs(catalog, log, config=SMALL))
    assert any(str(r.item_id) in seen_all.get(str(r.user_id), set()) for r in test.itertuples())


def test_dislikes_are_never_mined_and_history_precedes_target(catalog: Catalog,
                                                              log: Interactions) -> None:
    df = log.df.astype({"user_id": str, "item_id": str})
    disliked = set(zip(df.user_id[df.value <= 2], df.item_id[df.value <= 2], strict=True))
    when = {(u, i): int(t) for u, i, t in zip(df.user_id, df.item_id, df.timestamp, strict=True)}
    for p in mine_pairs(catalog, log, config=SMALL):
        for item in (p.target_id, *p.source_ids):
            assert (p.user_id, item) not in disliked
        if p.kind == "history":
            assert all(when[(p.user_id, s)] < when[(p.user_id, p.target_id)] for s in p.source_ids)
            assert p.anchor.startswith("Recently: ")


def test_cutoff_drops_later_interactions(catalog: Catalog, log: Interactions) -> None:
    cutoff = 5_003  # users u0..u4 fully, u5 up to its 4th interaction
    kept = apply_cutoff(log, cutoff)
    assert int(kept.df["timestamp"].max()) <= cutoff
    when = {(str(u), str(i)): int(t) for u, i, t in
            zip(log.df.user_id, log.df.item_id, log.df.timestamp, strict=True)}
    for p in mine_pairs(catalog, log, config=SMALL, cutoff=cutoff):
        assert all(when[(p.user_id, i)] <= cutoff for i in (p.target_id, *p.source_ids))
    assert parse_cutoff("1970-01-01T01:00:00Z") == 3600 and parse_cutoff("42") == 42
    with pytest.raises(ValueError, match="cannot read the cut-off"):
        parse_cutoff("yesterday")


def test_mining_is_deterministic_and_bounded(catalog: Catalog, log: Interactions) -> None:
    a = mine_pairs(catalog, log, config=MiningConfig(max_pairs=30, min_history=1), seed=3)
    b = mine_pairs(catalog, log, config=MiningConfig(max_pairs=30, min_history=1), seed=3)
    c = mine_pairs(catalog, log, config=MiningConfig(max_pairs=30, min_history=1), seed=4)
    assert a == b and a != c and len(a) == 30


def test_request_pairs_and_request_sets(catalog: Catalog, log: Interactions,
                                        tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    path.write_text('{"request": "films set in space", "targets": ["s1", "s2"], "timestamp": 10}\n'
                    '\n{"text": "a scary night", "target_items": "h1"}\n'
                    '{"request": "later", "targets": ["s3"], "timestamp": 999999}\n')
    examples = read_request_set(path)
    assert examples[1] == RequestExample("a scary night", ("h1",))
    pairs = mine_pairs(catalog, log, config=SMALL, requests=examples, cutoff=10_000)
    req = sorted(p.target_id for p in pairs if p.kind == "request")
    assert req == ["h1", "s1", "s2"]  # the request after the cut-off is left out
    path.write_text('{"request": "x"}\n')
    with pytest.raises(DataError, match="line 1, field 'targets'"):
        read_request_set(path)
    path.write_text("{oops\n")
    with pytest.raises(DataError, match="line 1.*not JSON"):
        read_request_set(path)


def test_bad_settings_are_errors() -> None:
    with pytest.raises(ValueError, match="max_pairs"):
        MiningConfig(max_pairs=0)
    with pytest.raises(ValueError, match="batch_size"):
        TrainingConfig(batch_size=1)
    with pytest.raises(ValueError, match="history_share"):
        MiningConfig(history_share=1.5)


def test_training_saves_a_loadable_model_with_its_metadata(
    catalog: Catalog, log: Interactions, tiny_model_path: Path, tmp_path: Path
) -> None:
    ds = Dataset(name="tiny", catalog=catalog, interactions=log, source="tiny-source")
    cfg = TrainingConfig(batch_size=8, learning_rate=5e-3, log_every=2, seed=1)
    out = tmp_path / "ft"
    result = finetune_encoder(ds, out, base_model=tiny_model_path, holdout="leave-one-out",
                              mining=MiningConfig(max_pairs=48, min_history=1), training=cfg,
                              progress=False)
    assert result.steps == 6 and result.pair_counts["history"] + result.pair_counts["item"] == 48
    assert all(np.isfinite(loss) for _, loss in result.losses)
    meta = json.loads((out / TRAINING_METADATA_FILE).read_text())
    assert meta["holdout"] == "leave-one-out" and meta["held_out_interactions"] == 12
    assert meta["data"] == "tiny-source" and meta["loss"] == "MultipleNegativesRankingLoss"
    assert meta["trained_interactions"] == len(log) - 12 and meta["training"]["seed"] == 1
    # It loads like any sentence-transformers model, and through load_encoder.
    from sentence_transformers import SentenceTransformer

    assert SentenceTransformer(str(out), device="cpu").encode(["Orbit"]).shape == (1, 32)
    enc = load_encoder(out)
    assert enc.encode(["Orbit (1992). Movie."]).shape == (1, 32)
    assert enc.max_seq_length == 128  # the inference limit, not the training one
    # Same seed, same run.
    again = finetune_encoder(ds, tmp_path / "ft2", base_model=tiny_model_path,
                             holdout="leave-one-out",
                             mining=MiningConfig(max_pairs=48, min_history=1), training=cfg,
                             progress=False)
    assert again.losses == result.losses


def test_training_learns_the_two_tastes(catalog: Catalog, log: Interactions, tiny_model_path: Path,
                                        tmp_path: Path) -> None:
    """Items watched by the same users end up closer than the rest (centred cosine)."""
    from retrieval.encoder import item_text

    def taste_gap(folder: Path) -> float:
        v = load_encoder(folder).encode([item_text(it) for it in catalog])
        v = v - v.mean(axis=0)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        sims = v @ v.T
        group = np.arange(len(catalog)) < 6
        same = group[:, None] == group[None, :]
        return float(sims[same & ~np.eye(len(catalog), dtype=bool)].mean() - sims[~same].mean())

    pairs = mine_pairs(catalog, log, config=MiningConfig(max_pairs=120, history_share=0.0,
                                                         max_gap_seconds=None, item_window=5))
    train_on_pairs(pairs, tmp_path / "m", base_model=tiny_model_path, progress=False,
                   config=TrainingConfig(batch_size=4, learning_rate=3e-3, epochs=3))
    assert taste_gap(tmp_path / "m") > taste_gap(tiny_model_path) + 1.0


def test_too_few_pairs_is_an_error(catalog: Catalog, log: Interactions, tiny_model_path: Path,
                                   tmp_path: Path) -> None:
    pairs = mine_pairs(catalog, log, config=MiningConfig(max_pairs=4, min_history=1))
    with pytest.raises(ValueError, match="fewer than one batch"):
        train_on_pairs(pairs, tmp_path / "m", base_model=tiny_model_path,
                       config=TrainingConfig(batch_size=8), progress=False)
    item_pairs = mine_pairs(catalog, log, config=MiningConfig(max_pairs=40, history_share=0.0))
    with pytest.raises(ValueError, match="only 12 distinct texts. Fix: lower batch_size"):
        train_on_pairs(item_pairs, tmp_path / "m", base_model=tiny_model_path,
                       config=TrainingConfig(batch_size=8), progress=False)
    assert not (tmp_path / "m").exists()


def test_no_interactions_is_a_clear_error(catalog: Catalog, tmp_path: Path) -> None:
    ds = Dataset(name="empty", catalog=catalog, interactions=Interactions.empty())
    with pytest.raises(DataError, match="no interactions to train on"):
        finetune_encoder(ds, tmp_path / "m", holdout="none", progress=False)


def test_train_encoder_command(catalog: Catalog, log: Interactions, tiny_model_path: Path,
                               tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from assistant.cli import app

    data = tmp_path / "data"
    data.mkdir()
    catalog.to_frame().assign(genres=lambda f: f.genres.map("|".join)).drop(
        columns=["tags", "creators"]).to_csv(data / "catalog.csv", index=False)
    log.df.to_csv(data / "interactions.csv", index=False)
    out = tmp_path / "model"
    runner = CliRunner()
    res = runner.invoke(app, ["train-encoder", "--data", str(data), "--out", str(out), "--base",
                              str(tiny_model_path), "--holdout", "leave-one-out", "--max-pairs",
                              "64", "--batch-size", "8", "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    assert summary["steps"] >= 1 and summary["holdout"] == "leave-one-out"
    assert sum(summary["pairs"].values()) == 64
    assert (out / TRAINING_METADATA_FILE).is_file()

    bad = runner.invoke(app, ["train-encoder", "--data", str(data), "--out", str(tmp_path / "x"),
                              "--base", str(tmp_path)])
    assert bad.exit_code == 2
    assert bad.stderr.count("\n") == 1 and "not a model folder" in bad.stderr
    bad = runner.invoke(app, ["train-encoder", "--data", str(data), "--out", str(tmp_path / "x"),
                              "--holdout", "sometimes"])
    assert bad.exit_code == 2 and "--holdout must be one of" in bad.stderr


def test_command_defaults_match_the_configs() -> None:
    from assistant.commands import encoder as cmd

    assert cmd.DEFAULT_MAX_PAIRS == MiningConfig.max_pairs
    t = TrainingConfig()
    assert (cmd.DEFAULT_EPOCHS, cmd.DEFAULT_BATCH_SIZE, cmd.DEFAULT_LEARNING_RATE,
            cmd.DEFAULT_MAX_SEQ_LENGTH) == (t.epochs, t.batch_size, t.learning_rate,
                                            t.max_seq_length)


def test_a_rewatched_target_is_not_in_its_own_history(catalog: Catalog) -> None:
    from retrieval.models import Interaction

    seq = ["s1", "s2", "s1", "s3", "s1"]
    log = Interactions.from_records([Interaction(user_id="u", item_id=i, timestamp=t)
                                     for t, i in enumerate(seq)])
    pairs = mine_pairs(catalog, log, config=MiningConfig(max_pairs=50, history_share=1.0,
                                                         min_history=1))
    assert pairs and all(p.target_id not in p.source_ids for p in pairs)
