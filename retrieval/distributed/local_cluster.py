"""A Ray cluster of several nodes on this machine, on 127.0.0.1 only (tests, benchmarks).

Each node is its own set of processes (the head's GCS server, and one raylet with its
workers per node), started with Ray's test utility ``ray.cluster_utils.Cluster`` under a
temporary folder of their own, with a small object store. ``ray start`` is not used: it
replaces 127.0.0.1 by the machine's network address and serves there (Ray 2.60,
``services.resolve_ip_for_localhost``). Stopping it stops exactly these processes (and, as
a safety net, any process whose command line names the temporary folder), never another
Ray on the machine.

Example (not run by the doctests: it starts processes):
    >>> with LocalCluster(nodes=2) as address:             # doctest: +SKIP
    ...     RayEngine(address).start().map_blocks(fn, blocks)
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["LocalCluster"]

_ENV = ("RAY_TMPDIR", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "RAY_USAGE_STATS_ENABLED")


def _pids_naming(tag: str) -> set[int]:
    """Processes whose command line contains ``tag``, and their descendants (Linux /proc;
    empty elsewhere); this process and its ancestors are left out."""
    proc = Path("/proc")
    if not proc.is_dir():
        return set()
    table: dict[int, tuple[int, str]] = {}
    for d in proc.iterdir():
        if not d.name.isdigit():
            continue
        try:
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        table[int(d.name)] = (ppid, cmd)
    ancestors, p = set(), os.getpid()
    while p > 1 and p in table:
        ancestors.add(p)
        p = table[p][0]
    mine = {p for p, (_, cmd) in table.items() if tag in cmd and p not in ancestors}
    grown = True
    while grown:
        grown = False
        for p, (ppid, _) in table.items():
            if ppid in mine and p not in mine and p not in ancestors:
                mine.add(p)
                grown = True
    return mine


def _stop(pids: set[int], grace: float = 5.0) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for p in pids:
            try:
                os.kill(p, sig)
            except OSError:
                pass
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in pids):
            time.sleep(0.1)


class LocalCluster:
    """``nodes`` Ray nodes of ``cpus`` CPUs on 127.0.0.1, this process connected as the
    driver; a context manager that yields the head's address.

    Args:
        nodes: Nodes (the head and ``nodes - 1`` more).
        cpus: CPUs per node.
        object_store_mb: Object store per node, in MB.
    """

    def __init__(self, nodes: int = 2, *, cpus: int = 1, object_store_mb: int = 100) -> None:
        self.nodes, self.cpus, self.object_store_mb = nodes, cpus, object_store_mb
        self.root: Path | None = None
        self.address: str | None = None
        self._cluster: Any = None
        self._saved: dict[str, str | None] = {}

    def start(self) -> str:
        # A short folder: Ray's unix sockets live under it (108-byte path limit).
        self.root = Path(tempfile.mkdtemp(prefix="encore-ray-"))
        (self.root / "ray").mkdir()
        self._saved = {k: os.environ.get(k) for k in _ENV}
        os.environ.update(RAY_TMPDIR=str(self.root), RAY_USAGE_STATS_ENABLED="0",
                          # Ray's switch for a one-machine cluster: nodes stay on 127.0.0.1.
                          RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0")
        import ray
        from ray._private import ray_constants
        from ray.cluster_utils import Cluster

        ray_constants.ENABLE_RAY_CLUSTER = False  # in case ray was imported before
        node = {"node_ip_address": "127.0.0.1", "num_cpus": self.cpus,
                "object_store_memory": self.object_store_mb * 2**20}
        try:
            self._cluster = Cluster(initialize_head=True, head_node_args={
                **node, "include_dashboard": False, "temp_dir": str(self.root / "ray")})
            for _ in range(self.nodes - 1):
                self._cluster.add_node(**node)
            ray.init(address=self._cluster.address, log_to_driver=False)
        except BaseException:
            self.stop()
            raise
        self.address = str(self._cluster.address)
        return self.address

    def stop(self) -> None:
        import ray

        ray.shutdown()
        if self._cluster is not None:
            self._cluster.shutdown()
            self._cluster = None
        if self.root is not None:
            _stop(_pids_naming(str(self.root)))
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None
        for k, v in self._saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
