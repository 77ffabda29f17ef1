"""Atomic file writes: a temporary file in the same folder, fsync, then rename, so that a
crash leaves either the old file or the new one, never half of one."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_dir", "atomic_write_bytes", "atomic_write_text", "fsync_dir", "fsync_tree",
           "recover_interrupted_swap"]


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: Path, text: str, encoding: str = "utf-8") -> None:
    atomic_write_bytes(path, text.encode(encoding))


@contextlib.contextmanager
def atomic_dir(path: Path) -> Iterator[Path]:
    """Build a folder under a temporary name and swap it in whole on success.

    On any error the temporary folder is removed and the previous ``path`` (if any) is
    untouched. Yields the temporary folder to write into.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    recover_interrupted_swap(path)
    for stale in [*path.parent.glob(f".{path.name}.old-*"),  # older than ``path`` itself
                  *path.parent.glob(f".{path.name}.del-*")]:  # a delete cut short
        _discard(stale)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        fsync_tree(tmp)
        old = None
        if path.exists():
            old = path.with_name(f".{path.name}.old-{os.getpid()}")
            os.replace(path, old)
        os.replace(tmp, path)
        fsync_dir(path.parent)
        if old is not None:
            _discard(old)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def recover_interrupted_swap(path: Path) -> bool:
    """Put back the previous folder if a crash fell between :func:`atomic_dir`'s two renames.

    The swap renames ``path`` to ``.NAME.old-PID`` and then the new folder to ``path``; a
    crash in between leaves nothing at ``path``. Readers and the next build call this first.
    Returns True when a folder was restored.
    """
    path = Path(path)
    if path.exists() or not path.parent.is_dir():
        return False
    olds = sorted(path.parent.glob(f".{path.name}.old-*"), key=lambda p: p.stat().st_mtime)
    if not olds:
        return False
    os.replace(olds[-1], path)
    fsync_dir(path.parent)
    return True


def _discard(folder: Path) -> None:
    """Delete a replaced folder, renaming it first: a crash mid-delete then leaves a
    ``.del-`` folder, never a half-deleted ``.old-`` one that recovery could restore."""
    trash = folder.with_name(folder.name.replace(".old-", ".del-", 1))
    with contextlib.suppress(OSError):
        os.replace(folder, trash)
        folder = trash
    shutil.rmtree(folder, ignore_errors=True)


def fsync_dir(path: Path) -> None:
    """Flush a folder's entries (its renames) to disk; a no-op where folders cannot be
    opened (Windows)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def fsync_tree(root: Path, *, strict: bool = False) -> None:
    """Flush every file and folder under ``root`` to disk. ``strict``: a file that cannot be
    flushed raises (a bundle generation must be whole before its pointer names it)."""
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            try:
                fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            except OSError:
                if strict:
                    raise
        fsync_dir(Path(dirpath))
