"""The work folder of a resumable build: each finished shard or block saved on its own.

A build's steps that run in shards (item encoding, index shards) save each finished one
here as soon as it is done, named by the step, a key of everything its result depends on
(the texts, the encoder's weights, the factory, the shard size...) and its number. A build
killed mid-way leaves them in its temporary generation; the next build with the same inputs
takes them over (:func:`retrieval.bundle_store.write_generation`) and computes only the
missing ones. A file is written to a temporary name and renamed, so a shard is either whole
or absent.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

__all__ = ["WorkStore", "digest"]


def digest(*parts: bytes | str | np.ndarray | Iterable[str]) -> str:
    """A short sha256 of ``parts`` (bytes, strings, arrays, or sequences of strings)."""
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, np.ndarray):
            h.update(str((part.dtype, part.shape)).encode())
            h.update(np.ascontiguousarray(part).tobytes())
        elif isinstance(part, bytes):
            h.update(part)
        elif isinstance(part, str):
            h.update(part.encode("utf-8"))
        else:
            for s in part:
                h.update(s.encode("utf-8"))
                h.update(b"\0")
        h.update(b"\x1f")
    return h.hexdigest()[:16]


def folder_digest(folder: Path) -> str:
    """A digest of every file under ``folder`` (names and contents): a saved model."""
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(p.relative_to(folder).as_posix().encode())
            with p.open("rb") as fh:
                while chunk := fh.read(1 << 20):
                    h.update(chunk)
    return h.hexdigest()[:16]


class WorkStore:
    """Finished shards of a build, as ``.npy`` files under ``folder/<step>/``.

    Example:
        >>> import tempfile
        >>> store = WorkStore(Path(tempfile.mkdtemp()))
        >>> store.save("encode", "k1", 0, np.ones(3))
        >>> store.has("encode", "k1", 0), store.has("encode", "k2", 0)
        (True, False)
        >>> store.load("encode", "k1", 0).tolist()
        [1.0, 1.0, 1.0]
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def path(self, step: str, key: str, number: int) -> Path:
        return self.folder / step / f"{key}-{number:06d}.npy"

    def has(self, step: str, key: str, number: int) -> bool:
        return self.path(step, key, number).is_file()

    def load(self, step: str, key: str, number: int) -> np.ndarray:
        return np.load(self.path(step, key, number), allow_pickle=False)

    def save(self, step: str, key: str, number: int, array: np.ndarray) -> None:
        """Write one shard atomically (a temporary file renamed into place)."""
        path = self.path(step, key, number)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with tmp.open("wb") as fh:
            np.save(fh, np.asarray(array), allow_pickle=False)
        os.replace(tmp, path)

    def done(self, step: str, key: str, count: int) -> list[int]:
        """The numbers among ``range(count)`` already saved."""
        return [i for i in range(count) if self.has(step, key, i)]
