"""Loading an index and a bundle memory-mapped (retrieval/index/persistence.py,
retrieval/bundle.py): the same answers as a plain load, search-only, checksums skipped only
when asked, and the file's pages shared instead of copied."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from retrieval.errors import DataError
from retrieval.index import FaissIndex

FACTORIES = ["Flat", "HNSW32,Flat", "IVF8,Flat"]


def _saved(tmp_path: Path, factory: str) -> tuple[FaissIndex, Path, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 16)).astype("float32")
    index = FaissIndex(16, factory)
    index.add([f"i{k}" for k in range(400)], x)
    index.remove(["i3", "i7"])  # HNSW keeps tombstones, IVF removes: both must survive
    index.save(tmp_path / "index")
    return index, tmp_path / "index", x


@pytest.mark.parametrize("factory", FACTORIES)
def test_a_mapped_index_answers_as_the_loaded_one(tmp_path: Path, factory: str) -> None:
    index, path, x = _saved(tmp_path, factory)
    mapped = FaissIndex.load(path, mmap=True)
    assert mapped.read_only and not index.read_only and len(mapped) == len(index) == 398
    assert mapped.search(x[:20], 10)[0] == index.search(x[:20], 10)[0]
    allowed = [f"i{k}" for k in range(0, 400, 3) if k not in (3,)]
    assert (mapped.search(x[:5], 5, allowed=allowed)[0]
            == index.search(x[:5], 5, allowed=allowed)[0])
    assert not {"i3", "i7"} & {i for row in mapped.search(x[:50], 20)[0] for i in row}


def test_a_mapped_index_is_search_only(tmp_path: Path) -> None:
    _, path, x = _saved(tmp_path, "HNSW32,Flat")
    mapped = FaissIndex.load(path, mmap=True)
    for change in (lambda: mapped.add(["new"], x[:1]), lambda: mapped.remove(["i1"]),
                   mapped.compact):
        with pytest.raises(ValueError, match="memory-mapped"):
            change()
    assert len(mapped) == 398


def test_verify_false_skips_the_checksum_but_not_the_size(tmp_path: Path) -> None:
    _, path, _ = _saved(tmp_path, "Flat")
    data = bytearray((path / "index.faiss").read_bytes())
    data[-1] ^= 0xFF  # same size, another byte: only a checksum sees it
    (path / "index.faiss").write_bytes(bytes(data))
    with pytest.raises(DataError, match="checksum"):
        FaissIndex.load(path)
    FaissIndex.load(path, verify=False, mmap=True)  # the caller said it checked already
    (path / "index.faiss").write_bytes(bytes(data[:-8]))
    with pytest.raises(DataError, match="truncated"):
        FaissIndex.load(path, verify=False)


def test_a_bundle_loads_mapped_with_the_same_answers(demo_bundle_path: Path,
                                                     tmp_path: Path) -> None:
    from retrieval.bundle import Bundle
    from retrieval.features import ItemTable

    plain = Bundle.load(demo_bundle_path)
    mapped = Bundle.load(demo_bundle_path, mmap=True)
    assert isinstance(mapped.item_vectors, np.memmap) and mapped.index.read_only
    np.testing.assert_array_equal(np.asarray(mapped.item_vectors), plain.item_vectors)
    q = plain.item_vectors[:10]
    assert mapped.index.search(q, 10)[0] == plain.index.search(q, 10)[0]
    # the pipeline's item table keeps the file's (unit) rows instead of copying them
    table = ItemTable(mapped.catalog, mapped.item_vectors)
    assert np.shares_memory(table.vectors, mapped.item_vectors)
    # a bundle whose index file was changed after its build fails its checksum on load
    copy = tmp_path / "bundle"
    shutil.copytree(demo_bundle_path, copy)
    target = next(copy.rglob("index.faiss"))
    data = bytearray(target.read_bytes())
    data[-1] ^= 0xFF
    target.write_bytes(bytes(data))
    with pytest.raises(DataError, match="checksum"):
        Bundle.load(copy, mmap=True)
