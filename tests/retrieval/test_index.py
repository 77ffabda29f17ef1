"""FaissIndex against brute force on seeded synthetic data, with tie-tolerant comparisons."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from retrieval.errors import DataError
from retrieval.index import (
    FLAT_MAX_ITEMS,
    AllowList,
    FaissIndex,
    VectorIndex,
    choose_factory,
)

faiss = pytest.importorskip("faiss")

DIM = 32
EPS = 1e-5


def clustered(n: int, seed: int, dim: int = DIM, n_clusters: int = 20) -> np.ndarray:
    """Seeded clustered vectors, L2-normalised."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_clusters, dim))
    x = centres[rng.integers(0, n_clusters, n)] + 0.5 * rng.standard_normal((n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype("float32")


def names(n: int, start: int = 0) -> list[str]:
    return [f"item-{i}" for i in range(start, start + n)]


def exact(data: np.ndarray, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Brute-force top-k (row indices and scores) by cosine."""
    s = q @ data.T
    order = np.argsort(-s, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(s, order, axis=1)


def rows(ids: list[str]) -> np.ndarray:
    return np.array([int(i.split("-")[1]) for i in ids], dtype=int)


def tie_tolerant_recall(found: list[list[str]], data: np.ndarray, q: np.ndarray, k: int) -> float:
    """Share of the k slots filled with an item at least as good as the exact k-th one."""
    _, best = exact(data, q, k)
    kth = best[:, -1]
    hits = sum(int(((data[rows(f)] @ q[i]) >= kth[i] - EPS).sum()) for i, f in enumerate(found))
    return hits / (k * len(found))


@pytest.fixture(scope="module")
def data() -> np.ndarray:
    return clustered(2000, seed=0)


@pytest.fixture(scope="module")
def queries() -> np.ndarray:
    return clustered(40, seed=1)


@pytest.fixture(scope="module")
def flat(data: np.ndarray) -> FaissIndex:
    index = FaissIndex(DIM, "Flat")
    index.add(names(len(data)), data)
    return index


@pytest.fixture(scope="module")
def hnsw(data: np.ndarray) -> FaissIndex:
    index = FaissIndex(DIM, "HNSW32,Flat")
    index.add(names(len(data)), data)
    return index


# -- factory and seam ------------------------------------------------------------------


def test_choose_factory_switches_above_50k() -> None:
    assert choose_factory(0) == "Flat"
    assert choose_factory(FLAT_MAX_ITEMS) == "Flat"
    assert choose_factory(FLAT_MAX_ITEMS + 1) == "HNSW32,Flat"


def test_factory_defaults_from_first_add(data: np.ndarray) -> None:
    index = FaissIndex(DIM)
    assert index.factory is None
    index.add(names(10), data[:10])
    assert index.factory == "Flat"


def test_is_a_vector_index() -> None:
    assert isinstance(FaissIndex(DIM, "Flat"), VectorIndex)


@pytest.mark.parametrize("factory", ["Bogus12", "IVF16,PQ5", "IDMap,Flat", "HNSW16,PQ8", ""])
def test_bad_factory_is_a_clear_error(factory: str) -> None:
    with pytest.raises(ValueError, match="factory"):
        FaissIndex(DIM, factory)


def test_import_does_not_load_faiss() -> None:
    code = "import sys, retrieval.index; print('faiss' in sys.modules)"
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "False"


# -- search quality --------------------------------------------------------------------


def test_flat_is_exact(flat: FaissIndex, data: np.ndarray, queries: np.ndarray) -> None:
    k = 25
    found, scores = flat.search(queries, k)
    _, best = exact(data, queries, k)
    for i, (f, s) in enumerate(zip(found, scores, strict=True)):
        assert len(f) == k
        np.testing.assert_allclose(s, best[i], atol=EPS)  # same scores, in order
        np.testing.assert_allclose(data[rows(f)] @ queries[i], s, atol=EPS)  # ids match them
    assert tie_tolerant_recall(found, data, queries, k) == 1.0


def test_hnsw_recall(hnsw: FaissIndex, data: np.ndarray, queries: np.ndarray) -> None:
    found, scores = hnsw.search(queries, 20)
    assert tie_tolerant_recall(found, data, queries, 20) >= 0.95
    for s in scores:
        assert np.all(np.diff(s) <= EPS)  # best first


def test_single_vector_query_and_k_above_count(data: np.ndarray) -> None:
    index = FaissIndex(DIM, "Flat")
    index.add(names(5), data[:5])
    found, scores = index.search(data[0], k=50)
    assert len(found) == 1 and sorted(found[0]) == names(5) and found[0][0] == "item-0"
    assert scores[0].shape == (5,) and scores[0].dtype == np.float32
    assert scores[0][0] == pytest.approx(1.0, abs=EPS)


def test_empty_index_returns_nothing() -> None:
    found, scores = FaissIndex(DIM, "Flat").search(np.ones((2, DIM)), k=3)
    assert found == [[], []] and all(len(s) == 0 for s in scores)


@pytest.mark.parametrize("k", [0, -1, 1.5, True])
def test_bad_k(flat: FaissIndex, queries: np.ndarray, k: object) -> None:
    with pytest.raises(ValueError, match="k must be a positive integer"):
        flat.search(queries, k)  # type: ignore[arg-type]


def test_vectors_are_normalised(data: np.ndarray) -> None:
    index = FaissIndex(DIM, "Flat")
    index.add(["a"], 7.0 * data[:1])
    _, scores = index.search(3.0 * data[:1], 1)
    assert scores[0][0] == pytest.approx(1.0, abs=EPS)


# -- add / remove ----------------------------------------------------------------------


@pytest.mark.parametrize("factory", ["Flat", "HNSW32,Flat", "IVF8,Flat"])
def test_add_remove_readd(factory: str, data: np.ndarray) -> None:
    index = FaissIndex(DIM, factory)
    index.add(names(500), data[:500])
    new = clustered(1, seed=99)
    index.add(["new"], new)  # searchable at once, no rebuild or retraining
    assert index.search(new, 1)[0] == [["new"]]

    gone = ["item-3", "item-10", "new"]
    index.remove(gone)
    assert len(index) == 498 and "new" not in index
    found, _ = index.search(data[[3, 10]], k=len(data))
    assert all(not set(gone) & set(f) for f in found)
    assert all(len(f) == 498 for f in found)
    if factory.startswith("HNSW"):
        assert index.tombstones == 3  # HNSW cannot drop graph nodes
    else:
        assert index.tombstones == 0

    index.add(["item-3"], data[3:4])  # re-adding a removed id works
    assert index.search(data[3], 1)[0] == [["item-3"]]
    index.add(["new"], -new)  # and with a different vector
    assert index.search(-new, 1)[0] == [["new"]]
    assert index.search(new, 3)[0][0][0] != "new"


def test_hnsw_compact_drops_tombstones(data: np.ndarray, queries: np.ndarray) -> None:
    index = FaissIndex(DIM, "HNSW32,Flat")
    index.add(names(400), data[:400])
    index.remove(names(100))
    assert index.tombstones == 100
    index.compact()
    assert index.tombstones == 0 and len(index) == 300
    found, scores = index.search(queries, 10)
    _, best = exact(data[100:400], queries, 10)
    for i, (f, s) in enumerate(zip(found, scores, strict=True)):
        assert not set(names(100)) & set(f)
        np.testing.assert_allclose(data[rows(f)] @ queries[i], s, atol=EPS)  # ids still map
        np.testing.assert_allclose(s, best[i], atol=EPS)


def test_ivf_trains_on_first_add_and_needs_enough_vectors(data: np.ndarray) -> None:
    index = FaissIndex(DIM, "IVF64,Flat")
    with pytest.raises(ValueError, match="must be trained"):
        index.add(names(10), data[:10])
    assert len(index) == 0


def test_ivf_pq(data: np.ndarray, queries: np.ndarray) -> None:
    index = FaissIndex(DIM, "IVF8,PQ16x4", nprobe=8)
    index.add(names(1500), data[:1500])
    index.add(names(500, 1500), data[1500:])  # trained lists take new items as they are
    found, _ = index.search(queries, 10)
    assert tie_tolerant_recall(found, data, queries, 10) >= 0.4  # 4-bit PQ is lossy
    index.remove(["item-1600"])
    assert "item-1600" not in index
    assert "item-1600" not in index.search(data[1600], 2000)[0][0]


# -- allow-lists -----------------------------------------------------------------------


@pytest.mark.parametrize("strategy", ["auto", "gather", "selector", "overfetch"])
@pytest.mark.parametrize("n_allowed", [7, 300, 1500])
def test_allowed_flat_is_exact(strategy: str, n_allowed: int, data: np.ndarray,
                               queries: np.ndarray) -> None:
    index = FaissIndex(DIM, "Flat", filter_strategy=strategy)  # type: ignore[arg-type]
    index.add(names(len(data)), data)
    pick = np.random.default_rng(n_allowed).choice(len(data), n_allowed, replace=False)
    allowed = {f"item-{i}" for i in pick} | {"not-in-the-index"}
    k = 20
    found, scores = index.search(queries, k, allowed=allowed)
    _, best = exact(data[pick], queries, min(k, n_allowed))
    for f, s, b in zip(found, scores, best, strict=True):
        assert set(f) <= allowed and len(f) == min(k, n_allowed)
        np.testing.assert_allclose(s, b, atol=EPS)


@pytest.mark.parametrize("strategy", ["auto", "selector"])
def test_allowed_hnsw(strategy: str, hnsw: FaissIndex, data: np.ndarray,
                      queries: np.ndarray) -> None:
    hnsw.filter_strategy = strategy  # type: ignore[assignment]
    try:
        pick = np.random.default_rng(5).choice(len(data), 1000, replace=False)
        allowed = {f"item-{i}" for i in pick}
        found, _ = hnsw.search(queries, 10, allowed=allowed)
        assert all(set(f) <= allowed for f in found)
        hits, kth = 0, exact(data[pick], queries, 10)[1][:, -1]
        for i, f in enumerate(found):
            hits += int(((data[rows(f)] @ queries[i]) >= kth[i] - EPS).sum())
        assert hits / (10 * len(queries)) >= 0.9
    finally:
        hnsw.filter_strategy = "auto"


def test_small_allow_list_on_hnsw_is_exact(hnsw: FaissIndex, data: np.ndarray,
                                           queries: np.ndarray) -> None:
    allowed = {"item-5", "item-500", "item-1999"}
    found, scores = hnsw.search(queries, 10, allowed=allowed)  # auto: gather
    _, best = exact(data[[5, 500, 1999]], queries, 3)
    for f, s, b in zip(found, scores, best, strict=True):
        assert set(f) == allowed
        np.testing.assert_allclose(s, b, atol=EPS)


@pytest.mark.parametrize("factory", ["Flat", "HNSW32,Flat"])
@pytest.mark.parametrize("strategy", ["auto", "gather", "selector", "overfetch"])
@pytest.mark.parametrize("n_allowed", [7, 300, 1500])
def test_allow_list_of_keys_searches_like_the_ids(factory: str, strategy: str, n_allowed: int,
                                                  data: np.ndarray, queries: np.ndarray) -> None:
    index = FaissIndex(DIM, factory, filter_strategy=strategy)  # type: ignore[arg-type]
    catalog = names(len(data))
    index.add(catalog, data)
    mask = np.zeros(len(data), dtype=bool)
    mask[np.random.default_rng(n_allowed).choice(len(data), n_allowed, replace=False)] = True
    keys = index.keys_of(catalog + ["not-in-the-index"])
    assert keys[-1] == -1
    allow = index.allow_list(keys[np.append(mask, True)])
    ids = {catalog[r] for r in np.flatnonzero(mask)}
    assert isinstance(allow, AllowList) and len(allow) == n_allowed and set(allow) == ids
    assert all(i in allow for i in ids) and "item-x" not in allow and 3 not in allow
    for _ in range(2):  # the second call reuses the cached keys (and selector)
        got = index.search(queries, 20, allowed=allow)
        want = index.search(queries, 20, allowed=frozenset(ids))
        assert got[0] == want[0]
        for g, w in zip(got[1], want[1], strict=True):
            np.testing.assert_allclose(g, w, atol=EPS)


def test_allow_list_after_the_index_changed(data: np.ndarray) -> None:
    """A stale allow-list (the index changed since) and one made for another index are
    read as catalog ids: still right, only slower."""
    index = FaissIndex(DIM, "Flat")
    index.add(names(300), data[:300])
    allow = index.allow_list(index.keys_of(["item-1", "item-2", "item-3"]))
    index.remove(["item-1"])
    found, _ = index.search(data[1], 10, allowed=allow)
    assert sorted(found[0]) == ["item-2", "item-3"]
    other = FaissIndex(DIM, "Flat")
    other.add(names(10, start=2), data[2:12])
    found, _ = other.search(data[2], 10, allowed=allow)
    assert sorted(found[0]) == ["item-2", "item-3"]


def test_allowed_skips_removed_items(data: np.ndarray) -> None:
    for factory in ("Flat", "HNSW32,Flat"):
        index = FaissIndex(DIM, factory)
        index.add(names(300), data[:300])
        index.remove(["item-1"])
        found, _ = index.search(data[1], 10, allowed={"item-1", "item-2"})
        assert found == [["item-2"]]


def test_empty_allow_list_returns_nothing(flat: FaissIndex, queries: np.ndarray) -> None:
    found, scores = flat.search(queries[:3], 5, allowed=set())
    assert found == [[], [], []] and all(len(s) == 0 for s in scores)
    assert flat.search(queries[:1], 5, allowed={"unknown"})[0] == [[]]


def test_allowed_as_one_string_is_an_error(flat: FaissIndex, queries: np.ndarray) -> None:
    with pytest.raises(TypeError, match="not one string"):
        flat.search(queries, 5, allowed="item-1")


def test_unknown_filter_strategy() -> None:
    with pytest.raises(ValueError, match="gather, selector, overfetch"):
        FaissIndex(DIM, "Flat", filter_strategy="fast")  # type: ignore[arg-type]


# -- bad input -------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_vectors(bad: float, data: np.ndarray) -> None:
    index = FaissIndex(DIM, "Flat")
    x = data[:4].copy()
    x[2, 5] = bad
    with pytest.raises(DataError, match=r"NaN or infinite.*'item-2'"):
        index.add(names(4), x)
    assert len(index) == 0
    index.add(names(4), data[:4])
    with pytest.raises(DataError, match="NaN or infinite"):
        index.search(x, 3)


def test_zero_vector(data: np.ndarray) -> None:
    x = data[:3].copy()
    x[1] = 0
    with pytest.raises(DataError, match=r"all zeros.*'item-1'"):
        FaissIndex(DIM, "Flat").add(names(3), x)


def test_duplicate_ids(data: np.ndarray) -> None:
    index = FaissIndex(DIM, "Flat")
    with pytest.raises(DataError, match=r"more than once.*'a'"):
        index.add(["a", "b", "a"], data[:3])
    index.add(["a"], data[:1])
    with pytest.raises(DataError, match=r"already in the index.*'a'.*remove them first"):
        index.add(["a"], data[1:2])
    assert len(index) == 1


@pytest.mark.parametrize("factory", ["Flat", "HNSW32,Flat"])
def test_dimension_mismatch(factory: str, data: np.ndarray) -> None:
    index = FaissIndex(DIM, factory)
    with pytest.raises(DataError, match=f"shape \\(3, 16\\).*{DIM}-dimensional"):
        index.add(names(3), data[:3, :16])
    index.add(names(3), data[:3])
    with pytest.raises(DataError, match=f"{DIM}-dimensional"):
        index.search(np.ones((1, DIM + 1)), 3)
    with pytest.raises(DataError, match=f"{DIM}-dimensional"):
        index.search(np.ones((2, 3, DIM)), 3)


def test_other_bad_adds_and_removes(data: np.ndarray) -> None:
    index = FaissIndex(DIM, "Flat")
    with pytest.raises(DataError, match="2 ids but 3 vectors"):
        index.add(["a", "b"], data[:3])
    with pytest.raises(DataError, match="not non-empty strings"):
        index.add(["a", 7], data[:2])  # type: ignore[list-item]
    with pytest.raises(DataError, match="not numeric"):
        index.add(["a"], [["x"] * DIM])
    with pytest.raises(TypeError, match="not one string"):
        index.add("a", data[:1])  # type: ignore[arg-type]
    index.add(["a"], data[:1])
    with pytest.raises(DataError, match=r"not in the index.*'zz'"):
        index.remove(["zz"])
    with pytest.raises(DataError, match="listed twice"):
        index.remove(["a", "a"])
    assert len(index) == 1


# -- save / load -----------------------------------------------------------------------


@pytest.mark.parametrize("factory", ["Flat", "HNSW32,Flat", "IVF8,Flat"])
def test_save_load_round_trip(factory: str, tmp_path: Path, data: np.ndarray,
                              queries: np.ndarray) -> None:
    index = FaissIndex(DIM, factory, ef_search=77)
    index.add(names(600), data[:600])
    index.remove(["item-0", "item-5"])
    index.save(tmp_path / "index")
    loaded = FaissIndex.load(tmp_path / "index")
    assert (len(loaded), loaded.factory, loaded.dim, loaded.ef_search) == (598, factory, DIM, 77)
    assert loaded.tombstones == index.tombstones
    assert index.search(queries, 10)[0] == loaded.search(queries, 10)[0]
    allowed = {"item-0", "item-7", "item-9"}
    assert loaded.search(queries[:1], 5, allowed=allowed)[0][0] in (
        ["item-7", "item-9"], ["item-9", "item-7"])
    loaded.add(["item-0"], data[:1])  # a loaded index keeps taking items
    assert loaded.search(data[0], 1)[0] == [["item-0"]]

    manifest = json.loads((tmp_path / "index" / "manifest.json").read_text())
    assert manifest["format_version"] == 1
    assert (manifest["factory"], manifest["dim"], manifest["count"]) == (factory, DIM, 598)
    assert manifest["metric"] == "inner_product"
    import hashlib

    digest = hashlib.sha256((tmp_path / "index" / "index.faiss").read_bytes()).hexdigest()
    assert manifest["files"]["index.faiss"]["sha256"] == digest


def test_save_replaces_previous(tmp_path: Path, data: np.ndarray) -> None:
    index = FaissIndex(DIM, "Flat")
    index.add(names(10), data[:10])
    index.save(tmp_path / "ix")
    index.add(names(10, 10), data[10:20])
    index.save(tmp_path / "ix")
    assert len(FaissIndex.load(tmp_path / "ix")) == 20
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ix"]  # no temporary leftovers


def test_failed_save_leaves_previous_index_loadable(tmp_path: Path, data: np.ndarray,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    index = FaissIndex(DIM, "Flat")
    index.add(names(10), data[:10])
    index.save(tmp_path / "ix")
    index.add(names(10, 10), data[10:20])

    real_write = faiss.write_index

    def write_half_then_fail(idx: object, fname: str) -> None:
        real_write(idx, fname)
        with open(fname, "r+b") as fh:
            fh.truncate(100)
        raise OSError("disk full")

    monkeypatch.setattr(faiss, "write_index", write_half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        index.save(tmp_path / "ix")
    monkeypatch.undo()
    old = FaissIndex.load(tmp_path / "ix")
    assert len(old) == 10 and sorted(p.name for p in tmp_path.iterdir()) == ["ix"]


@pytest.fixture()
def saved(tmp_path: Path, data: np.ndarray) -> Path:
    index = FaissIndex(DIM, "Flat")
    index.add(names(50), data[:50])
    index.save(tmp_path / "ix")
    return tmp_path / "ix"


def test_truncated_index_file(saved: Path) -> None:
    f = saved / "index.faiss"
    f.write_bytes(f.read_bytes()[:-100])
    with pytest.raises(DataError, match=r"index\.faiss.*truncated.*Fix: rebuild"):
        FaissIndex.load(saved)


def test_corrupted_index_file(saved: Path) -> None:
    f = saved / "index.faiss"
    raw = bytearray(f.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    f.write_bytes(bytes(raw))
    with pytest.raises(DataError, match=r"index\.faiss.*checksum mismatch"):
        FaissIndex.load(saved)


def test_corrupted_id_map(saved: Path) -> None:
    f = saved / "ids.json"
    f.write_text(f.read_text().replace("item-1", "item-2", 1))
    with pytest.raises(DataError, match=r"ids\.json.*checksum"):
        FaissIndex.load(saved)


def test_manifest_problems(saved: Path) -> None:
    manifest_path = saved / "manifest.json"
    good = json.loads(manifest_path.read_text())

    manifest_path.write_text("{not json")
    with pytest.raises(DataError, match=r"manifest\.json.*not valid JSON"):
        FaissIndex.load(saved)

    manifest_path.write_text(json.dumps({**good, "format_version": 99}))
    with pytest.raises(DataError, match="format version 99"):
        FaissIndex.load(saved)

    manifest_path.write_text(json.dumps({**good, "dim": DIM + 1}))
    with pytest.raises(DataError, match=f"holds {DIM}-d vectors"):
        FaissIndex.load(saved)

    manifest_path.write_text(json.dumps({**good, "count": 49}))
    with pytest.raises(DataError, match="must agree"):
        FaissIndex.load(saved)

    manifest_path.unlink()
    with pytest.raises(DataError, match=r"manifest\.json.*no manifest"):
        FaissIndex.load(saved)


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no index folder"):
        FaissIndex.load(tmp_path / "nowhere")


# -- GPU move (faked: no GPU in unit tests) ----------------------------------------------


def test_gpu_replica_serves_plain_searches(monkeypatch: pytest.MonkeyPatch, data: np.ndarray,
                                           queries: np.ndarray) -> None:
    clones: list[object] = []

    def fake_to_gpus(index: object) -> object:
        clones.append(faiss.clone_index(index))
        return clones[-1]

    monkeypatch.setattr(faiss, "get_num_gpus", lambda: 1)
    monkeypatch.setattr(faiss, "index_cpu_to_all_gpus", fake_to_gpus)
    index = FaissIndex(DIM, "Flat")
    index.add(names(100), data[:100])
    expected = index.search(queries, 5)[0]
    assert len(clones) == 1 and clones[0].ntotal == 100
    index.add(["x"], -queries[:1])  # added to the replica too
    assert clones[0].ntotal == 101 and index.search(-queries[0], 1)[0] == [["x"]]
    index.remove(["x"])  # the replica is dropped and cloned again at the next search
    assert index.search(queries, 5)[0] == expected and len(clones) == 2
    assert FaissIndex(DIM, "Flat", use_gpu=False)._search_replica() is not None


def test_gpu_unsupported_index_stays_on_cpu(monkeypatch: pytest.MonkeyPatch,
                                            data: np.ndarray) -> None:
    def refuse(index: object) -> object:
        raise RuntimeError("Error in x at y.cpp:1: index type not supported on GPU")

    monkeypatch.setattr(faiss, "get_num_gpus", lambda: 1)
    monkeypatch.setattr(faiss, "index_cpu_to_all_gpus", refuse)
    index = FaissIndex(DIM, "Flat")
    index.add(names(20), data[:20])
    with pytest.warns(RuntimeWarning, match="index type not supported on GPU"):
        assert index.search(data[0], 1)[0] == [["item-0"]]
    assert index.search(data[1], 1)[0] == [["item-1"]]  # and does not try again


def test_frozen_allow_list_is_converted_once(data: np.ndarray) -> None:
    index = FaissIndex(DIM, "Flat")
    index.add(names(100), data[:100])
    allowed = frozenset({"item-1", "item-2", "late"})
    assert sorted(index.search(data[1], 5, allowed=allowed)[0][0]) == ["item-1", "item-2"]
    assert index._allowed_keys(allowed) is index._allowed_keys(allowed)  # cached
    index.add(["late"], data[1:2])  # a change invalidates the cache
    assert sorted(index.search(data[1], 5, allowed=allowed)[0][0]) == ["item-1", "item-2", "late"]
    index.remove(["item-2"])
    assert sorted(index.search(data[1], 5, allowed=allowed)[0][0]) == ["item-1", "late"]
    assert index.search(data[1], 5, allowed=["item-1", "item-1"])[0] == [["item-1"]]


def test_gpu_required_but_absent(monkeypatch: pytest.MonkeyPatch, data: np.ndarray) -> None:
    monkeypatch.setattr(faiss, "get_num_gpus", lambda: 0)
    index = FaissIndex(DIM, "Flat", use_gpu=True)
    index.add(names(5), data[:5])
    with pytest.raises(RuntimeError, match=r"encore-rec\[gpu\]"):
        index.search(data[0], 1)


def test_auto_filter_strategy(flat: FaissIndex, hnsw: FaissIndex) -> None:
    # exhaustive: gather below 5 % of the catalog, selector to 25 %, over-fetch above
    assert [flat._pick_strategy(m, 10) for m in (50, 300, 1500)] == [
        "gather", "selector", "overfetch"]
    # HNSW: gather while cheaper than an over-fetch search, never the selector
    assert [hnsw._pick_strategy(m, 10) for m in (100, 1000)] == ["gather", "overfetch"]
