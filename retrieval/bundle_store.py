"""Where a bundle lives on disk: immutable generations behind one pointer.

A bundle folder ``OUT`` holds numbered generations and a ``CURRENT`` file naming the live
one (LevelDB's ``CURRENT`` file, git's ``HEAD``)::

    OUT/CURRENT              "gen-000042": written to a temporary file, fsynced, renamed
    OUT/gen-000041/          the previous good generation, kept for one more build
    OUT/gen-000042/          the live one: manifest.json (sizes, sha256) and its files
    OUT/.gen-000043.PID.tmp/ a build in progress (or the leftover of a killed one)
    OUT/.build.lock          held (flock) by the one build writing here
    OUT/.work.keep/          finished shards of an interrupted sharded build (see below)

A generation is named only once every file and its manifest are written and fsynced, and
is never changed afterwards, so swapping bundles is one atomic rename of the pointer.
Readers (:func:`resolve`) never rename, delete or move anything. They follow ``CURRENT``
after a cheap check (the manifest and every file's size). Only when there is no usable
pointer do they recover, and they choose by completeness and checksums, never by
modification time: the newest generation whose files all match their sha256.

A build (:func:`write_generation`) takes the lock, cleans what killed builds left behind
(only names of its own patterns, never what the pointer names), writes the new
generation, swaps the pointer and prunes every generation but the new one and the one it
replaced. A bundle of the older flat layout (``manifest.json`` directly in ``OUT``) loads
as it is, and the next build adopts it as ``gen-000000`` (hard links, no copying) before
writing the new generation.

A sharded build (``encore build --engine ray``) saves each finished shard in its temporary
generation's ``work/`` folder. Those shards outlive the build that made them: cleaning up
after a killed build, or failing, moves them to ``OUT/.work.keep`` and the next build takes
them over into its own ``work/`` (it reuses only shards of the same inputs: their names say
what they depend on); a build that succeeds removes them.

For tests, ``ENCORE_TEST_CRASH_AT=<step>`` kills the process with SIGKILL when the build
reaches that step (:data:`CRASH_STEPS`), so every moment of the swap can be tried.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from retrieval.errors import DataError
from retrieval.io import fsync_dir, fsync_tree

__all__ = ["CRASH_ENV", "CRASH_STEPS", "CURRENT", "MIGRATION_STEPS", "WORK", "Resolved",
           "check_folder",
           "crash_point", "current_generation", "file_sha256", "has_bundle", "leftovers", "resolve",
           "write_generation"]

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
CURRENT = "CURRENT"
LOCK = ".build.lock"
CRASH_ENV = "ENCORE_TEST_CRASH_AT"
CRASH_STEPS = (
    "clean-partial",      # removing a killed build's leftovers: one file gone
    "tmp-created",        # the temporary generation folder exists, empty
    "data-written",       # the catalog and interactions are in it (bundle.py)
    "manifest-written",   # every file and the manifest are in it, nothing fsynced
    "gen-renamed",        # renamed to gen-N; the pointer still names the previous one
    "pointer-written",    # CURRENT's temporary file written and fsynced, not renamed
    "pointer-swapped",    # CURRENT names the new generation; nothing pruned yet
    "prune-renamed",      # an old generation renamed to .trash-..., not yet deleted
    "prune-partial",      # an old generation half deleted
)
"""The build's steps, in order, at which ``ENCORE_TEST_CRASH_AT`` can kill it."""
MIGRATION_STEPS = ("adopt-linked", "adopt-renamed", "adopt-pointer-written",
                   "adopt-pointer-swapped", "legacy-partial", "repair-pointer-written",
                   "repair-pointer-swapped")
"""The steps of adopting an older-layout bundle (and removing its files afterwards), and of
repairing a pointer that was never written."""

_FIX = "rebuild it with `encore build`"
WORK = "work"
_KEEP = ".work.keep"
_GEN = re.compile(r"^gen-(\d{6,})$")
_TMP = re.compile(r"^\.gen-\d{6,}\.\d+\.tmp$")
_TRASH = re.compile(r"^\.trash-gen-\d{6,}\.\d+$")
_POINTER_TMP = re.compile(r"^\.CURRENT\.\d+\.tmp$")
# The flat layout's top-level names, removed once a generation replaces them
# (manifest.json last, so a half-removed flat bundle still says what it was).
_FLAT_NAMES = ("catalog.jsonl", "interactions.parquet", "item_ids.json", "item_vectors.npy",
               "encoder", "index", "ranker")


def crash_point(step: str) -> None:
    """Kill this process (SIGKILL) when ``ENCORE_TEST_CRASH_AT`` names ``step`` (tests)."""
    if os.environ.get(CRASH_ENV) == step:
        os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))
        os._exit(137)  # where there is no SIGKILL


# -- checking ----------------------------------------------------------------------------


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def check_folder(folder: Path, *, hashes: bool) -> str | None:
    """Why ``folder`` is not a complete bundle (None when it is): its manifest, and every
    file the manifest lists with its size (and, with ``hashes``, its sha256)."""
    manifest = _read_json(folder / MANIFEST)
    if manifest is None or manifest.get("format") != "encore-bundle":
        return f"{folder / MANIFEST}: missing or not a bundle manifest"
    files = manifest.get("files")
    if not isinstance(files, dict):
        return f"{folder / MANIFEST}: lists no files"
    for rel, entry in files.items():
        p = folder / rel
        try:
            size = p.stat().st_size if p.is_file() else None
        except OSError:
            size = None
        if size is None:
            return f"{p}: file listed in the manifest is missing"
        if size != entry.get("bytes") or (hashes and file_sha256(p) != entry.get("sha256")):
            return f"{p}: does not match its checksum"
    return None


def _created(folder: Path) -> int:
    created = (_read_json(folder / MANIFEST) or {}).get("created_unix")
    return created if isinstance(created, int) else 0


# -- reading (never moves anything) ------------------------------------------------------


@dataclass(frozen=True)
class Resolved:
    """Which folder a bundle path's files are read from.

    Attributes:
        root: The path the caller named.
        folder: The folder holding the manifest and files to load.
        layout: ``"generations"``, ``"flat"`` (the older layout, or a generation named
            directly) or ``"sibling"`` (the older layout's interrupted swap).
        recovered: Why the pointer was not followed, when it was not (else None).
    """

    root: Path
    folder: Path
    layout: str
    recovered: str | None = None


def _generations(root: Path) -> list[str]:
    """Generation folder names, newest (highest number) first."""
    try:
        names = [p.name for p in root.iterdir() if _GEN.match(p.name) and p.is_dir()]
    except OSError:
        return []
    return sorted(names, key=lambda n: int(n[4:]), reverse=True)


def _pointer(root: Path) -> str | None:
    try:
        name = (root / CURRENT).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not _GEN.match(name):
        log.warning("%s: %r is not a generation name; ignoring it", root / CURRENT, name)
        return None
    return name


def _sibling_candidates(root: Path) -> list[Path]:
    """The older layout's swap leftovers (``.NAME.old-PID``), complete ones first by the
    creation time in their manifests; incomplete ones are left out."""
    parent = root.parent
    if not parent.is_dir():
        return []
    olds = [p for p in parent.glob(f".{root.name}.old-*")
            if re.fullmatch(r"\d+", p.name.rsplit("-", 1)[-1]) and p.is_dir()]
    complete = [p for p in olds if check_folder(p, hashes=True) is None]
    return sorted(complete, key=lambda p: (_created(p), p.name), reverse=True)


def _from_siblings(root: Path) -> Resolved | None:
    siblings = _sibling_candidates(root)
    if not siblings:
        return None
    why = f"{root} holds no bundle; an interrupted swap left the complete {siblings[0]}"
    log.warning("%s (loaded as is; the next build adopts it)", why)
    return Resolved(root, siblings[0], "sibling", why)


def resolve(path: str | Path) -> Resolved:
    """The folder to load for the bundle at ``path``; reads only, never moves anything.

    Raises:
        DataError: no bundle there, or nothing complete to load.
    """
    root = Path(path)
    if not root.is_dir():
        if root.exists():
            raise DataError("not a bundle folder (a file)", path=root, fix=_FIX)
        if (found := _from_siblings(root)) is not None:
            return found
        raise DataError("bundle folder not found", path=root,
                        fix="build one with `encore build` (or `encore demo`), or check the path")
    pointer = _pointer(root)
    problem = None
    if pointer is not None:
        problem = check_folder(root / pointer, hashes=False)
        if problem is None:
            return Resolved(root, root / pointer, "generations")
        log.warning("%s names %s, which is not complete (%s)", root / CURRENT, pointer, problem)
    elif (root / MANIFEST).is_file():
        return Resolved(root, root, "flat")
    for name in _generations(root):
        if name != pointer and check_folder(root / name, hashes=True) is None:
            why = (f"{root / CURRENT} " + ("is missing" if pointer is None else
                                           f"names an incomplete {pointer}")
                   + f"; {name} is the newest generation whose checksums all match")
            log.warning("%s (loaded; the next build repairs the pointer)", why)
            return Resolved(root, root / name, "generations", why)
    if (found := _from_siblings(root)) is not None:
        return found
    if problem is not None:
        raise DataError(problem.split(": ", 1)[-1], path=problem.split(": ", 1)[0], fix=_FIX)
    raise DataError("no manifest.json: not a bundle, or a build that never finished",
                    path=root, fix=_FIX)


def current_generation(path: str | Path) -> str | None:
    """The generation ``CURRENT`` names (``"gen-000042"``), or None (no pointer, the older
    flat layout): one small read, cheap enough to check before every turn."""
    return _pointer(Path(path))


def has_bundle(path: str | Path) -> bool:
    """Whether ``path`` holds a bundle to load (the check :func:`resolve` makes)."""
    try:
        resolve(path)
    except DataError:
        return False
    return True


def leftovers(root: str | Path) -> list[str]:
    """Names in ``root`` that are neither the live generation, the one before it, the
    pointer nor the lock: what killed builds left behind (for tests and reports)."""
    root = Path(root)
    pointer = _pointer(root)
    gens = _generations(root)
    keep = {CURRENT, LOCK}
    if pointer in gens:
        keep.add(pointer)
        older = [g for g in gens if int(g[4:]) < int(pointer[4:])]
        keep.update(older[:1])
    siblings = [p.name for p in root.parent.glob(f".{root.name}.*")] if root.parent.is_dir() \
        else []
    return sorted([p.name for p in root.iterdir() if p.name not in keep] + siblings)


# -- writing ------------------------------------------------------------------------------


def _remove(path: Path, step: str | None = None) -> None:
    """Delete a file or a folder tree; ``step`` is a crash point after the first file."""
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
        if step:
            crash_point(step)
        return
    first = True
    for dirpath, dirs, files in os.walk(path, topdown=False):
        for name in files:
            Path(dirpath, name).unlink(missing_ok=True)
            if first and step:
                crash_point(step)
            first = False
        for name in dirs:
            with contextlib.suppress(FileNotFoundError):
                Path(dirpath, name).rmdir()
    with contextlib.suppress(FileNotFoundError):
        path.rmdir()


@contextlib.contextmanager
def _build_lock(root: Path) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # no flock (Windows): one build at a time is the caller's job
        yield
        return
    fd = os.open(root / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DataError("another build is writing this bundle", path=root,
                            fix="wait for it to finish, or build into another --out") from None
        yield
    finally:
        os.close(fd)  # closing releases the lock; a killed build releases it too


def _write_pointer(root: Path, name: str, prefix: str = "") -> None:
    tmp = root / f".CURRENT.{os.getpid()}.tmp"
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(name + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    crash_point(prefix + "pointer-written")
    os.replace(tmp, root / CURRENT)
    fsync_dir(root)
    crash_point(prefix + "pointer-swapped")


def _commit(root: Path, tmp: Path, number: int, prefix: str = "") -> str:
    """Name the finished ``tmp`` as generation ``number`` and point ``CURRENT`` at it."""
    fsync_tree(tmp, strict=True)
    name = f"gen-{number:06d}"
    os.replace(tmp, root / name)
    fsync_dir(root)
    crash_point(prefix + ("renamed" if prefix else "gen-renamed"))
    _write_pointer(root, name, prefix)
    return name


def _keep_work(root: Path, work: Path) -> None:
    """Move the finished shards in ``work`` into ``OUT/.work.keep`` (merged with any kept
    before), for the next build to resume from."""
    keep = root / _KEEP
    files = [p for p in work.rglob("*") if p.is_file() and not p.name.startswith(".")]
    for p in files:
        dest = keep / p.relative_to(work)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(p, dest)
    if files:
        log.info("kept %d finished shard(s) of an unfinished build in %s", len(files), keep)


def _clean_start(root: Path) -> None:
    """Remove what killed builds left: temporary folders (keeping their finished shards),
    trash, pointer temporaries."""
    for p in sorted(root.iterdir()):
        if _TMP.match(p.name) or _TRASH.match(p.name) or _POINTER_TMP.match(p.name):
            if _TMP.match(p.name) and (p / WORK).is_dir():
                _keep_work(root, p / WORK)
            log.info("removing %s, left by a build that did not finish", p)
            _remove(p, "clean-partial")


def _adopt(root: Path, source: Path, number: int) -> str:
    """Make the complete older-layout bundle ``source`` generation ``number`` (hard links,
    so nothing is copied and ``source`` is left as it is until the new build succeeds)."""
    tmp = root / f".gen-{number:06d}.{os.getpid()}.tmp"
    tmp.mkdir()
    manifest = _read_json(source / MANIFEST) or {}
    for rel in [*manifest.get("files", {}), MANIFEST]:
        dest = tmp / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source / rel, dest)
        except OSError:  # another file system, or no hard links
            shutil.copy2(source / rel, dest)
    crash_point("adopt-linked")
    return _commit(root, tmp, number, prefix="adopt-")


def _prepare(root: Path) -> str | None:
    """Clean up, repair or adopt; the name of the live generation afterwards (if any)."""
    _clean_start(root)
    pointer = _pointer(root)
    if pointer is not None and check_folder(root / pointer, hashes=False) is None:
        return pointer
    try:
        found: Resolved | None = resolve(root)
    except DataError:
        found = None
    if found is not None and found.layout == "generations":  # the pointer was missing
        _write_pointer(root, found.folder.name, "repair-")
        return found.folder.name
    if found is None or check_folder(found.folder, hashes=True) is not None:
        return None  # nothing complete to keep
    number = max((int(n[4:]) for n in _generations(root)), default=-1) + 1
    return _adopt(root, found.folder, number)


def _finish(root: Path, live: str, previous: str | None) -> None:
    """Prune every generation but ``live`` and ``previous``; remove older-layout files."""
    keep = {live, previous}
    for name in _generations(root):
        if name not in keep:
            trash = root / f".trash-{name}.{os.getpid()}"
            os.replace(root / name, trash)
            crash_point("prune-renamed")
            _remove(trash, "prune-partial")
    flat = _read_json(root / MANIFEST)
    if flat is not None and flat.get("format") == "encore-bundle":
        for name in _FLAT_NAMES:
            if (root / name).exists():
                _remove(root / name, "legacy-partial")
        (root / MANIFEST).unlink()
    if root.parent.is_dir():
        name = re.escape(root.name)
        pattern = re.compile(rf"^\.{name}\.((old|del)-\d+|[A-Za-z0-9_]{{8}}\.tmp)$")
        for p in root.parent.iterdir():
            if pattern.match(p.name):  # the older layout's swap leftovers
                _remove(p, "legacy-partial")
    fsync_dir(root)


@contextlib.contextmanager
def write_generation(path: str | Path) -> Iterator[Path]:
    """Write a new generation of the bundle at ``path`` and make it live on success.

    Yields an empty temporary folder to write the bundle's files and manifest into. On
    success it becomes the next generation and ``CURRENT`` names it; on an error it is
    removed and the live generation is untouched; after a crash it is a leftover that the
    next build removes.

    Raises:
        DataError: ``path`` is a file, or another build holds its lock.
    """
    root = Path(path)
    if root.exists() and not root.is_dir():
        raise DataError("not a bundle folder (a file)", path=root,
                        fix="choose a folder for --out")
    root.mkdir(parents=True, exist_ok=True)
    with _build_lock(root):
        previous = _prepare(root)
        numbers = [int(n[4:]) for n in _generations(root)]
        number = max(numbers, default=0) + 1
        tmp = root / f".gen-{number:06d}.{os.getpid()}.tmp"
        tmp.mkdir()
        if (root / _KEEP).is_dir():  # an interrupted build's shards: resume from them
            os.replace(root / _KEEP, tmp / WORK)
        crash_point("tmp-created")
        try:
            yield tmp
            if not (tmp / MANIFEST).is_file():
                raise RuntimeError(f"{tmp}: the build wrote no {MANIFEST}")
        except BaseException:
            if (tmp / WORK).is_dir():
                _keep_work(root, tmp / WORK)
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        shutil.rmtree(tmp / WORK, ignore_errors=True)  # the shards are not part of the bundle
        live = _commit(root, tmp, number)
        _finish(root, live, previous)
