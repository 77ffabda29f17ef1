"""The build on a local two-node Ray cluster (``ray_cluster``: tests/distributed/conftest.py)
gives what the single-process build gives; a killed worker's task is retried; an
interrupted build resumes from its finished shards.

These tests share one cluster (about 15-25 s to start on 2 busy cores) and the session's
demo bundle (the single-process build they are compared with).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytestmark = [pytest.mark.timeout(300)]


@pytest.fixture()
def small_shards(monkeypatch: pytest.MonkeyPatch) -> None:
    """Shards small enough that the demo catalog (1,873 items) makes several of each."""
    import retrieval.distributed.build as dbuild
    import retrieval.train_ranker as train

    monkeypatch.setattr(dbuild, "ENCODE_SHARD", 500)
    monkeypatch.setattr(dbuild, "INDEX_SHARD", 700)
    monkeypatch.setattr(train, "LIST_BLOCK", 200)


def _build(out: Path, demo_bundle_path: Path, engine, **kw):  # -> Path
    import torch

    from assistant.settings import Settings
    from retrieval.bundle import build_bundle
    from retrieval.dataset import load_dataset
    from retrieval.encoder import load_encoder
    from tests.bundles import DEMO_USERS, demo_ranker_config

    torch.set_num_threads(1)
    encoder = load_encoder(demo_bundle_path.parent / "tiny-model")
    return build_bundle(load_dataset(f"demo:{DEMO_USERS}"), out, Settings(), encoder=encoder,
                        progress=False, pipeline=demo_ranker_config(), engine=engine, **kw)


def test_map_blocks_in_order_and_a_killed_worker_is_retried(ray_cluster: str,
                                                            tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    import ray

    from retrieval.distributed.ray_engine import KILL_ONCE_ENV, RayEngine
    from retrieval.parallel import blocks, serial_map

    flag = tmp_path / "killed-once"
    monkeypatch.setenv(KILL_ONCE_ENV, str(flag))
    engine = RayEngine(ray_cluster).start()

    def work(a: int, b: int) -> tuple[int, int, str]:
        return a, sum(range(a, b)), ray.get_runtime_context().get_node_id()

    got = engine.map_blocks(work, blocks(40, 3))
    assert flag.exists()  # a worker was killed (SIGKILL) and its task ran again
    assert [g[:2] for g in got] == [g[:2] for g in serial_map(work, blocks(40, 3))]
    assert len(ray.nodes()) == 2 and all(n["Alive"] for n in ray.nodes())
    assert all(n["NodeManagerAddress"] == "127.0.0.1" for n in ray.nodes())


def test_interrupted_two_node_build_resumes_and_matches_the_single_process_build(
        ray_cluster: str, tmp_path: Path, demo_bundle_path: Path, small_shards: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C after two of the three index shards; the next build (with the same inputs)
    resumes from the finished encoding and index shards, survives a worker killed mid-way
    and gives the single-process build's vectors, neighbours and top-10 lists."""
    from assistant.engine import Engine
    from assistant.settings import Settings
    from retrieval.bundle import Bundle
    from retrieval.bundle_store import leftovers
    from retrieval.distributed.ray_engine import KILL_ONCE_ENV, RayEngine

    engine = RayEngine(ray_cluster).start()

    def stop_after_two(step: str, done: int, total: int) -> None:
        if step == "index" and done == 2:
            raise KeyboardInterrupt

    out = tmp_path / "bundle"
    with pytest.raises(KeyboardInterrupt):
        _build(out, demo_bundle_path, engine, on_progress=stop_after_two)
    assert leftovers(out) == [".work.keep"]

    flag = tmp_path / "killed-once"  # the first task of the resumed build dies once
    monkeypatch.setenv(KILL_ONCE_ENV, str(flag))
    steps: list[str] = []
    _build(out, demo_bundle_path, engine, on_step=steps.append)
    assert "resuming: 4 of 4 encoding shards already done" in steps, steps
    assert "resuming: 2 of 3 index shards already done" in steps, steps
    assert any("Ray 2 node(s)" in s for s in steps), steps
    assert flag.exists(), "no worker was killed: the retry was not exercised"
    assert leftovers(out) == []

    local, dist = Bundle.load(demo_bundle_path), Bundle.load(out)
    assert dist.item_ids == local.item_ids
    np.testing.assert_allclose(dist.item_vectors, local.item_vectors, atol=1e-5)
    # The same neighbours of every item from the index.
    q = local.item_vectors
    assert dist.index.search(q, 10)[0] == local.index.search(q, 10)[0]
    # The same ranker (its lists were made in blocks on the cluster) and top-10 lists.
    assert dist.manifest["ranker"]["valid_ndcg@10"] == local.manifest["ranker"]["valid_ndcg@10"]
    a, b = Engine.from_bundle(local, Settings()), Engine.from_bundle(dist, Settings())
    for user in sorted(a._all_histories())[:20]:
        top_a = [r.item_id for r in a.recommend(a.base_history(user), k=10)]
        top_b = [r.item_id for r in b.recommend(b.base_history(user), k=10)]
        assert top_a == top_b, user
