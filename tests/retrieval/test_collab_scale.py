"""Collaborative signals at any size: the sparse item-kNN table equals the dense ItemKNN,
whatever the blocks and the mapper; ALS is seeded and solves a new user as ``implicit``
does; the features and candidates have collaborative signals above the dense limit; stats
folders round-trip memory-mapped, and those of the previous format still load."""

from __future__ import annotations

import hashlib
import io
import json

import numpy as np
import pytest
from scipy import sparse

from retrieval.candidates import CandidateGenerator
from retrieval.catalog import Catalog
from retrieval.collaborative.base import training_matrix
from retrieval.collaborative.factors import fit_als
from retrieval.collaborative.itemknn import ItemKNN
from retrieval.collaborative.neighbours import (
    NeighbourTable,
    build_neighbours,
    neighbour_block,
    plan_blocks,
)
from retrieval.errors import DataError
from retrieval.features import FeatureBuilder, ItemTable, QueryContext
from retrieval.interactions import Interactions
from retrieval.models import Interaction, Item
from retrieval.parallel import serial_map
from retrieval.retriever import Candidate, History
from retrieval.stats import InteractionStats


def _data(n_users: int = 80, n_items: int = 40, seed: int = 0) -> tuple[Catalog, Interactions]:
    rng = np.random.default_rng(seed)
    cat = Catalog([Item(id=f"i{k}", title=f"T{k}", media_type="movie") for k in range(n_items)])
    recs = []
    for u in range(n_users):
        # Two taste groups and a popularity slope, so neighbours carry structure.
        group = u % 2
        p = np.where(np.arange(n_items) % 2 == group, 3.0, 1.0) / (1 + np.arange(n_items)) ** 0.5
        for k in rng.choice(n_items, size=int(rng.integers(2, 9)), replace=False, p=p / p.sum()):
            recs.append(Interaction(user_id=f"u{u}", item_id=f"i{k}",
                                    timestamp=int(rng.integers(1, 10**6))))
    return cat, Interactions.from_records(recs)


@pytest.fixture(scope="module")
def data() -> tuple[Catalog, Interactions, sparse.csr_matrix]:
    cat, log = _data()
    return cat, log, training_matrix(log, cat)


@pytest.mark.parametrize("k", [3, 10, 39])
def test_sparse_neighbours_equal_the_dense_itemknn(data, k: int) -> None:
    cat, log, x = data
    dense = ItemKNN(neighbours=k)
    dense.fit(log, cat)
    assert dense.similarity is not None
    table = build_neighbours(x, k).to_dense()
    # The same weights in every column (bit for bit), hence the same neighbours wherever
    # the k-th weight is not tied (ItemKNN's argpartition breaks ties arbitrarily).
    np.testing.assert_array_equal(np.sort(table, axis=0), np.sort(dense.similarity, axis=0))
    full = ItemKNN(neighbours=0)
    full.fit(log, cat)
    assert full.similarity is not None
    ranked = -np.sort(-full.similarity, axis=0)  # each column's weights, largest first
    untied = [j for j in range(x.shape[1]) if ranked[k - 1, j] == 0
              or k >= len(ranked) or ranked[k - 1, j] > ranked[k, j]]
    assert len(untied) > x.shape[1] // 3
    np.testing.assert_array_equal(table[:, untied], dense.similarity[:, untied])


def test_blocks_of_any_size_and_any_mapper_give_the_same_table(data) -> None:
    _, _, x = data
    whole = build_neighbours(x, 7)
    assert plan_blocks(x, max_items=5)[:2] == [(0, 5), (5, 10)]
    assert len(plan_blocks(x, max_pairs=50)) > len(plan_blocks(x))

    def reversed_mapper(fn, blocks):  # another order of work, results in block order
        return list(reversed([fn(a, b) for a, b in reversed(blocks)]))

    for kwargs in ({"max_items": 1}, {"max_items": 3}, {"max_pairs": 50},
                   {"map_blocks": reversed_mapper, "max_items": 4},
                   {"map_blocks": serial_map, "max_items": 6}):
        other = build_neighbours(x, 7, **kwargs)  # type: ignore[arg-type]
        np.testing.assert_array_equal(other.indptr, whole.indptr)
        np.testing.assert_array_equal(other.indices, whole.indices)
        np.testing.assert_array_equal(other.weights, whole.weights)
    ids, w = neighbour_block(x, 5, 9, 7)
    assert ids.shape == w.shape == (4, 7) and ids.dtype == np.int32 and w.dtype == np.float32
    np.testing.assert_array_equal(ids[0][ids[0] >= 0], whole.neighbours(5)[0])


def test_dense_and_sparse_blocks_pick_the_same_neighbours(data, monkeypatch) -> None:
    import retrieval.collaborative.neighbours as nb

    _, _, x = data
    tables = []
    for share in (0.0, 2.0):  # every block made dense; none
        monkeypatch.setattr(nb, "_DENSE_SHARE", share)
        tables.append(build_neighbours(x, 4, max_items=3))
    np.testing.assert_array_equal(tables[0].indices, tables[1].indices)
    np.testing.assert_array_equal(tables[0].weights, tables[1].weights)


def test_pair_weights_read_the_table_as_the_dense_matrix(data) -> None:
    _, _, x = data
    table = build_neighbours(x, 5)
    dense = table.to_dense()
    h = np.array([3, 1, -1, 3, 20])
    c = np.array([0, 7, -1, 1, 39])
    got = table.pair_weights(h, c)
    want = np.where((h[:, None] >= 0) & (c[None, :] >= 0), dense[h][:, c], 0.0)
    np.testing.assert_array_equal(got, want)
    assert table.pair_weights(np.array([], dtype=np.int64), c).shape == (0, 5)
    # one candidate's few entries take the binary-search path, many the scratch array:
    # both read the same weights
    for few, cands in ((build_neighbours(x, 2), np.array([7, 20])), (table, np.arange(40))):
        assert (8 * few.neighbours(7)[0].size * len(cands) < len(few)) == (len(cands) == 2)
        got = few.pair_weights(h, cands)
        want = np.where(h[:, None] >= 0, few.to_dense()[h][:, cands], 0.0)
        np.testing.assert_array_equal(got, want)


def test_als_is_seeded_and_solves_a_new_user_as_implicit_does(data) -> None:
    _, _, x = data
    a = fit_als(x, factors=6, iterations=4, seed=3)
    b = fit_als(x, factors=6, iterations=4, seed=3)
    c = fit_als(x, factors=6, iterations=4, seed=4)
    np.testing.assert_array_equal(a.items, b.items)
    assert not np.array_equal(a.items, c.items)
    from implicit.cpu.als import AlternatingLeastSquares

    ref = AlternatingLeastSquares(factors=6, regularization=a.regularization, alpha=a.alpha)
    ref.item_factors = a.items.copy()
    history = sparse.csr_matrix(([1.0, 1.0, 1.0], ([0, 0, 0], [2, 5, 11])), shape=(1, x.shape[1]),
                                dtype=np.float32)
    np.testing.assert_allclose(a.user_vectors([np.array([2, 5, 11])])[0],
                               ref.recalculate_user(0, history), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("dense_knn_rows", [0, 4096], ids=["table", "dense-copy"])
def test_collaborative_features_and_candidates_above_the_dense_limit(
        data, monkeypatch, dense_knn_rows: int) -> None:
    import retrieval.stats

    monkeypatch.setattr(retrieval.stats, "DENSE_KNN_ROWS", dense_knn_rows)
    cat, log, _ = data
    stats = InteractionStats.build(log, cat, dense_limit=1, knn_neighbours=10,
                                   ease_l2=1.0)
    assert stats.ease is None and stats.knn is not None and stats.mf is not None
    rows = stats.rows([f"i{k}" for k in range(12)])
    np.testing.assert_array_equal(stats.pair_weights("knn", rows, rows),
                                  stats.knn.pair_weights(rows, rows))
    fb = FeatureBuilder(ItemTable(cat, None), stats)
    hist = History(["i0", "i2", "i4"])
    m = fb.build(QueryContext(hist), [Candidate(item_id=f"i{k}", score=0.0) for k in (6, 8, 1)])
    for name in ("knn_score", "knn_recent_max", "mf_score", "mf_relative"):
        assert np.isfinite(m.column(name)).all(), name
    assert np.isnan(m.column("ease_score")).all()
    assert (m.column("knn_score") > 0).any()
    gen = CandidateGenerator(ItemTable(cat, None), stats, None, n=10, collaborative=8)
    got = gen.generate(hist)
    assert sum(c.source == "collaborative" for c in got) >= 8  # no dense list: the rest too
    # Evidence links read the sparse table too.
    links = fb.closest_history(fb.prepare(QueryContext(hist)), 6)
    assert any(kind == "collaborative" for _, _, kind in links)


def test_stats_round_trip_memory_mapped(data, tmp_path) -> None:
    cat, log, _ = data
    stats = InteractionStats.build(log, cat, knn_neighbours=5, ease_l2=1.0, mf_with_ease=True)
    stats.save(tmp_path / "s")
    back = InteractionStats.load(tmp_path / "s")
    assert back.knn is not None and back.mf is not None and stats.mf is not None
    assert isinstance(back.knn.indices, np.memmap) and isinstance(back.mf.items, np.memmap)
    assert isinstance(back.ease, np.memmap)
    rows = back.rows(["i0", "i3", "i9"])
    np.testing.assert_array_equal(back.pair_weights("knn", rows, rows),
                                  stats.pair_weights("knn", rows, rows))
    u = stats.user_factors(rows)
    assert u is not None
    np.testing.assert_array_equal(back.mf_scores(u, rows), stats.mf_scores(u, rows))
    (tmp_path / "s" / "knn_weights.npy").write_bytes(b"short")
    with pytest.raises(DataError, match="knn_weights.npy.*size"):
        InteractionStats.load(tmp_path / "s")


def test_a_stats_folder_of_the_previous_format_still_loads(data, tmp_path) -> None:
    cat, log, _ = data
    new = InteractionStats.build(log, cat, knn_neighbours=6, ease_l2=1.0)
    assert new.knn is not None and new.ease is not None
    buf = io.BytesIO()  # format 1: EASE and the dense item-kNN matrix inside arrays.npz
    np.savez(buf, counts=new.counts, event_keys=new.event_keys, ease=new.ease,
             knn=new.knn.to_dense())
    folder = tmp_path / "old"
    folder.mkdir()
    (folder / "arrays.npz").write_bytes(buf.getvalue())
    (folder / "stats.json").write_text(json.dumps({
        "format": "encore-stats/1", "item_ids": new.item_ids, "last_timestamp": 5,
        "params": new.params, "arrays_sha256": hashlib.sha256(buf.getvalue()).hexdigest()}))
    assert new.mf is None  # where EASE fits, no ALS unless asked for
    old = InteractionStats.load(folder)
    assert old.mf is None and old.knn is not None
    rows = old.rows(["i0", "i1", "i2", "i5"])
    np.testing.assert_array_equal(old.pair_weights("knn", rows, rows),
                                  new.pair_weights("knn", rows, rows))
    fb = FeatureBuilder(ItemTable(cat, None), old)
    m = fb.build(QueryContext(History(["i0", "i1"])), [Candidate(item_id="i2", score=0.0)])
    assert np.isnan(m.column("mf_score")).all() and np.isfinite(m.column("knn_score")).all()
    # A format it does not know names the fix.
    meta = json.loads((folder / "stats.json").read_text())
    meta["format"] = "encore-stats/9"
    (folder / "stats.json").write_text(json.dumps(meta))
    with pytest.raises(DataError, match="encore build"):
        InteractionStats.load(folder)


def test_table_from_dense_keeps_each_column() -> None:
    sim = np.array([[0, 0.5, 0], [0.2, 0, 0.7], [0.9, 0.7, 0]], dtype=np.float32)
    t = NeighbourTable.from_dense(sim)
    assert t.neighbours(0)[0].tolist() == [2, 1] and t.neighbours(2)[0].tolist() == [1]
    np.testing.assert_array_equal(t.to_dense(), sim)
