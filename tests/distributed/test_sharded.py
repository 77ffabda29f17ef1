"""Sharded build steps without Ray: the index built in shards equals one built in one go,
the block mapper seam, the work store, and a killed sharded build's shards kept for the
next build (tests/distributed/test_ray_build.py runs the same on a Ray cluster)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from retrieval.bundle_store import leftovers, write_generation
from retrieval.distributed import LocalEngine, make_engine
from retrieval.distributed.build import sharded_index
from retrieval.distributed.work import WorkStore
from retrieval.index import FaissIndex
from retrieval.index.sharded import can_shard, sharded_factory
from retrieval.parallel import blocks, serial_map


def _vectors(n: int = 3000, dim: int = 16, seed: int = 0) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((20, dim))
    x = centres[rng.integers(20, size=n)] + 0.3 * rng.standard_normal((n, dim))
    return [f"i{k}" for k in range(n)], x.astype(np.float32)


def test_blocks_and_serial_map() -> None:
    assert blocks(7, 3) == [(0, 3), (3, 6), (6, 7)]
    assert blocks(0, 3) == []
    assert serial_map(lambda a, b: (a, b), blocks(5, 5)) == [(0, 5)]
    with pytest.raises(ValueError):
        blocks(5, 0)


def test_layout_by_size() -> None:
    assert sharded_factory(2_000) == "Flat"
    assert sharded_factory(1_000_000).startswith("IVF")
    assert can_shard("Flat") and can_shard("IVF64,Flat") and can_shard("IVF64,PQ8")
    assert not can_shard("HNSW32,Flat")


@pytest.mark.parametrize("factory", ["Flat", "IVF32,Flat"])
def test_index_in_shards_equals_one_go(tmp_path: Path, factory: str) -> None:
    ids, x = _vectors()
    one = FaissIndex(dim=16, factory=factory)
    one.add(ids, x)
    steps: list[str] = []
    sharded = sharded_index(LocalEngine(), ids, x, factory, WorkStore(tmp_path),
                            step=steps.append, on_progress=None, shard=700)
    assert len(sharded) == len(one) and sharded.factory == factory
    got_one, s_one = one.search(x[:200], 10)
    got_sh, s_sh = sharded.search(x[:200], 10)
    assert got_sh == got_one
    np.testing.assert_array_equal(np.stack(s_sh), np.stack(s_one))
    allowed = frozenset(ids[::7])
    assert sharded.search(x[:20], 5, allowed=allowed)[0] == one.search(x[:20], 5,
                                                                       allowed=allowed)[0]
    sharded.save(tmp_path / "saved")  # saves and loads like any index
    assert FaissIndex.load(tmp_path / "saved").search(x[:5], 10)[0] == got_one[:5]
    sharded.remove(["i1"])
    assert "i1" not in sharded.search(x[1], 10)[0][0]
    # A second build with the same inputs takes every shard from the work store.
    again = sharded_index(LocalEngine(), ids, x, factory, WorkStore(tmp_path),
                          step=steps.append, on_progress=None, shard=700)
    assert steps == ["resuming: 5 of 5 index shards already done"]
    assert again.search(x[:50], 10)[0] == got_one[:50]


def test_hnsw_is_built_in_one_go(tmp_path: Path) -> None:
    ids, x = _vectors(500)
    steps: list[str] = []
    index = sharded_index(LocalEngine(), ids, x, "HNSW16,Flat", WorkStore(tmp_path),
                          step=steps.append, on_progress=None, shard=100)
    assert len(index) == 500 and "cannot be merged" in steps[0]


def test_make_engine() -> None:
    assert make_engine("local") is None
    assert isinstance(make_engine("sharded"), LocalEngine)
    with pytest.raises(ValueError, match="unknown engine"):
        make_engine("spark")
    with pytest.raises(ValueError, match="--engine ray"):
        make_engine("local", address="127.0.0.1:6379")


def test_finished_shards_outlive_a_killed_or_failed_build(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    store_of = lambda tmp: WorkStore(tmp / "work")  # noqa: E731
    with pytest.raises(RuntimeError), write_generation(out) as tmp:
        store_of(tmp).save("index", "k", 0, np.arange(3))
        raise RuntimeError("failed mid-way")
    assert leftovers(out) == [".work.keep"]
    # A killed build: its temporary generation is left as it was, with a shard of its own.
    killed = out / ".gen-000007.99999.tmp"
    WorkStore(killed / "work").save("index", "k", 1, np.arange(4))
    with pytest.raises(RuntimeError), write_generation(out) as tmp:
        store = store_of(tmp)
        assert store.done("index", "k", 3) == [0, 1]  # both taken over
        assert store.load("index", "k", 1).tolist() == [0, 1, 2, 3]
        raise RuntimeError("again")
    assert not killed.exists()
    with write_generation(out) as tmp:
        assert store_of(tmp).done("index", "k", 3) == [0, 1]
        (tmp / "manifest.json").write_text('{"format": "encore-bundle", "files": {}}')
        import shutil

        shutil.rmtree(tmp / "work")  # what build_bundle does before its manifest
    assert leftovers(out) == []


def test_ranker_lists_in_blocks_equal_one_block(demo_bundle_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import retrieval.train_ranker as train
    from retrieval.bundle import Bundle
    from tests.bundles import demo_ranker_config

    bundle = Bundle.load(demo_bundle_path)
    args = (bundle.interactions, bundle.catalog, bundle.item_vectors)
    kw = {"encoder": bundle.encoder, "config": demo_ranker_config()}
    whole, _ = train.make_training_lists(*args, **kw)
    monkeypatch.setattr(train, "LIST_BLOCK", 97)
    calls: list[int] = []

    def mapper(fn, bl):  # a MapBlocks that counts the blocks it runs
        calls.append(len(bl))
        return serial_map(fn, bl)

    parts, _ = train.make_training_lists(*args, **kw, map_blocks=mapper)
    assert calls and max(calls) > 2  # the lists in several blocks (the kNN blocks map too)
    for name in ("train", "valid"):
        a, b = getattr(whole, name), getattr(parts, name)
        np.testing.assert_array_equal(a.features, b.features)
        np.testing.assert_array_equal(a.labels, b.labels)
        np.testing.assert_array_equal(a.groups, b.groups)
        assert a.query_ids == b.query_ids
    assert whole.counts == parts.counts and whole.candidate_recall == parts.candidate_recall


def test_build_command_checks_the_engine(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from assistant.cli import app

    runner = CliRunner()
    result = runner.invoke(app, ["build", "--data", "demo:30", "--out", str(tmp_path),
                                 "--engine", "spark"])
    assert result.exit_code == 2 and "unknown engine" in result.output
    result = runner.invoke(app, ["build", "--data", "demo:30", "--out", str(tmp_path),
                                 "--address", "127.0.0.1:6379"])
    assert result.exit_code == 2 and "--engine ray" in result.output
