"""Saving and loading a :class:`~retrieval.index.FaissIndex` folder: the FAISS file, the id
map and a manifest with checksums, written atomically and checked on load.

Loading with ``mmap=True`` maps the FAISS file into memory read-only instead of copying it:
several worker processes serving the same bundle then share one copy of the vectors in the
page cache (the operating system reads each page once, for all of them). FAISS 1.15 maps
the codes of every layout Encore builds with ``IO_FLAG_MMAP_IFC``: Flat and HNSW storage
(the HNSW graph itself is read into memory) and IVF inverted lists (measured: a 147 MB
Flat file adds 7 MB of private memory, a 173 MB HNSW32 file 8 MB, where a plain read adds
all of it). A mapped index is read-only: :meth:`FaissIndex.add` and ``remove`` refuse.
``verify=False`` skips the checksums (a caller that has already checked the files, e.g. a
bundle loaded with its own checksums or a parent process serving several workers, need not
read a large file twice); the sizes are still checked.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from retrieval.errors import DataError
from retrieval.index._faiss import _faiss, _faiss_message
from retrieval.index.protocol import DEFAULT_EF_CONSTRUCTION, DEFAULT_EF_SEARCH, DEFAULT_NPROBE
from retrieval.io import atomic_dir

if TYPE_CHECKING:
    from retrieval.index.faiss_index import FaissIndex
    from retrieval.index.filtering import FilterStrategy

FORMAT = "encore-faiss-index"
FORMAT_VERSION = 1
INDEX_FILE = "index.faiss"
IDS_FILE = "ids.json"
MANIFEST_FILE = "manifest.json"
METRIC = "inner_product"

_REBUILD_FIX = "rebuild the index (`encore build`) or restore the folder from a backup"


def save_index(index: FaissIndex, path: str | Path) -> None:
    """Write ``index`` to the folder ``path`` atomically (:meth:`FaissIndex.save`)."""
    faiss = _faiss()

    index._ensure_built(len(index))
    path = Path(path)
    with atomic_dir(path) as tmp:
        faiss.write_index(index._index, str(tmp / INDEX_FILE))
        ids_doc = {
            "names": index._names,
            "tombstones": sorted(index._tombstones),
        }
        ids_text = json.dumps(ids_doc, separators=(",", ":"))
        (tmp / IDS_FILE).write_text(ids_text, encoding="utf-8")
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "factory": index._factory,
            "dim": index.dim,
            "count": len(index),
            "ntotal": int(index._index.ntotal),
            "tombstones": len(index._tombstones),
            "metric": METRIC,
            "normalized": True,
            "ef_search": index.ef_search,
            "ef_construction": index.ef_construction,
            "nprobe": index.nprobe,
            "faiss_version": faiss.__version__,
            "files": {name: _file_entry(tmp / name) for name in (INDEX_FILE, IDS_FILE)},
        }
        manifest_text = json.dumps(manifest, indent=2) + "\n"
        (tmp / MANIFEST_FILE).write_text(manifest_text, encoding="utf-8")


def load_index(
    cls: type[FaissIndex],
    path: str | Path,
    *,
    ef_search: int | None = None,
    filter_strategy: FilterStrategy = "auto",
    use_gpu: bool | None = None,
    mmap: bool = False,
    verify: bool = True,
) -> FaissIndex:
    """The index saved in the folder ``path``, checked (:meth:`FaissIndex.load`); ``mmap``
    maps it read-only, ``verify=False`` checks sizes but not checksums (module docstring)."""
    faiss = _faiss()

    path = Path(path)
    manifest = _read_manifest(path)
    for name in (INDEX_FILE, IDS_FILE):
        _verify_file(path / name, manifest["files"].get(name), hashes=verify)
    try:
        index = faiss.read_index(str(path / INDEX_FILE), _io_flags(faiss) if mmap else 0)
    except RuntimeError as exc:
        raise DataError(f"FAISS cannot read the index: {_faiss_message(exc)}",
                        path=path / INDEX_FILE, fix=_REBUILD_FIX) from None
    if index.d != manifest["dim"] or index.metric_type != faiss.METRIC_INNER_PRODUCT:
        raise DataError(
            f"the index holds {index.d}-d vectors with metric {index.metric_type}, but the "
            f"manifest says {manifest['dim']}-d inner product",
            path=path / INDEX_FILE, fix=_REBUILD_FIX)
    names, tombstones = _read_ids(path / IDS_FILE)
    live = {n: i for i, n in enumerate(names) if n is not None}
    if (len(live) != manifest["count"] or index.ntotal != len(live) + len(tombstones)
            or any(names[t] is not None for t in tombstones)):
        raise DataError(
            f"the id map has {len(live)} live ids and {len(tombstones)} tombstones, the "
            f"FAISS file {index.ntotal} vectors and the manifest a count of "
            f"{manifest['count']}; they must agree",
            path=path / IDS_FILE, fix=_REBUILD_FIX)
    try:
        out = cls(
            manifest["dim"],
            None,
            ef_search=ef_search if ef_search is not None
            else manifest.get("ef_search", DEFAULT_EF_SEARCH),
            ef_construction=manifest.get("ef_construction", DEFAULT_EF_CONSTRUCTION),
            nprobe=manifest.get("nprobe", DEFAULT_NPROBE),
            filter_strategy=filter_strategy,
            use_gpu=use_gpu,
        )
    except ValueError as exc:
        raise DataError(f"bad manifest values: {exc}", path=path / MANIFEST_FILE,
                        fix=_REBUILD_FIX) from None
    out._factory = manifest["factory"]
    out._index = index
    out.read_only = mmap
    ivf = faiss.try_extract_index_ivf(index)
    if ivf is not None:
        ivf.nprobe = out.nprobe
    out._configure()
    out._names = names
    out._key = live
    out._tombstones = tombstones
    return out


def _io_flags(faiss: Any) -> int:
    """FAISS read flags that map the file's codes read-only instead of copying them."""
    return int(faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _file_entry(path: Path) -> dict[str, Any]:
    return {"sha256": _sha256(path), "bytes": path.stat().st_size}


def _read_manifest(path: Path) -> dict[str, Any]:
    if not path.is_dir():
        raise DataError("no index folder here", path=path,
                        fix="pass the folder that FaissIndex.save wrote, or build the index")
    mpath = path / MANIFEST_FILE
    if not mpath.is_file():
        raise DataError("the index folder has no manifest", path=mpath,
                        fix="this is not a saved index, or its save did not finish; "
                        + _REBUILD_FIX)
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise DataError(f"the manifest is not valid JSON: {exc}", path=mpath,
                        fix=_REBUILD_FIX) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise DataError(f"not an Encore FAISS index manifest (format should be {FORMAT!r})",
                        path=mpath, fix=_REBUILD_FIX)
    if manifest.get("format_version") != FORMAT_VERSION:
        raise DataError(
            f"index format version {manifest.get('format_version')!r}; this Encore reads "
            f"version {FORMAT_VERSION}",
            path=mpath, fix="rebuild the index with this version of Encore")
    missing = [k for k in ("factory", "dim", "count", "metric", "files") if k not in manifest]
    if missing:
        raise DataError(f"the manifest lacks {', '.join(missing)}", path=mpath, fix=_REBUILD_FIX)
    if manifest["metric"] != METRIC:
        raise DataError(f"metric {manifest['metric']!r}; Encore indexes use {METRIC!r}",
                        path=mpath, fix=_REBUILD_FIX)
    if not isinstance(manifest["files"], dict):
        raise DataError("the manifest's 'files' is not a mapping", path=mpath, fix=_REBUILD_FIX)
    return manifest


def _read_ids(path: Path) -> tuple[list[str | None], set[int]]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        names, tombstones = doc["names"], doc["tombstones"]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise DataError(f"unreadable id map: {exc}", path=path, fix=_REBUILD_FIX) from None
    if (not isinstance(names, list) or not isinstance(tombstones, list)
            or not all(n is None or isinstance(n, str) for n in names)
            or not all(isinstance(t, int) and 0 <= t < len(names) for t in tombstones)):
        raise DataError("the id map has the wrong shape (names: strings or null, "
                        "tombstones: positions)", path=path, fix=_REBUILD_FIX)
    live = [n for n in names if n is not None]
    if len(set(live)) != len(live):
        raise DataError("the id map lists an id twice", path=path, fix=_REBUILD_FIX)
    return names, set(tombstones)


def _verify_file(path: Path, entry: Any, *, hashes: bool = True) -> None:
    if not isinstance(entry, dict) or "sha256" not in entry:
        raise DataError("the manifest has no checksum for this file", path=path, fix=_REBUILD_FIX)
    if not path.is_file():
        raise DataError("file missing from the index folder", path=path, fix=_REBUILD_FIX)
    size = path.stat().st_size
    if "bytes" in entry and size != entry["bytes"]:
        raise DataError(
            f"the file is {size} bytes but the manifest says {entry['bytes']}: it is truncated "
            "or was replaced",
            path=path, fix=_REBUILD_FIX)
    if hashes and _sha256(path) != entry["sha256"]:
        raise DataError("checksum mismatch: the file is corrupt or was changed after saving",
                        path=path, fix=_REBUILD_FIX)
