"""A local Ray cluster of two nodes on 127.0.0.1, shared by the Ray tests of a session.

The nodes are separate processes (one GCS server, and one raylet with its workers per
node) started with Ray's own test utility ``ray.cluster_utils.Cluster``, each with one CPU
and a 100 MB object store, under a temporary folder of their own. ``ray start`` is not
used: it replaces 127.0.0.1 by the machine's network address and serves there (Ray 2.60,
``services.resolve_ip_for_localhost``), while these nodes listen on the loopback address
only, which pytest-socket allows. Teardown stops exactly these processes (and, as a safety
net, any process whose command line names the temporary folder), never another session's
Ray.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

OBJECT_STORE = 100 * 2**20


def _pids_naming(tag: str) -> set[int]:
    """Processes whose command line contains ``tag``, and their descendants (Linux /proc;
    empty elsewhere). This process and its ancestors are left out."""
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


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[str]:
    """The address (``127.0.0.1:PORT``) of a two-node Ray cluster, the driver connected."""
    pytest.importorskip("ray")
    # A short folder: Ray's unix sockets live under it (108-byte path limit).
    root = Path(tempfile.mkdtemp(prefix="encore-ray-"))
    saved = {k: os.environ.get(k) for k in ("RAY_TMPDIR", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER",
                                            "RAY_USAGE_STATS_ENABLED")}
    os.environ.update(RAY_TMPDIR=str(root), RAY_USAGE_STATS_ENABLED="0",
                      # Ray's switch for a one-machine cluster: nodes stay on 127.0.0.1.
                      RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0")
    (root / "ray").mkdir()
    import ray
    from ray._private import ray_constants
    from ray.cluster_utils import Cluster

    ray_constants.ENABLE_RAY_CLUSTER = False  # in case ray was imported before the switch
    cluster = None
    try:
        cluster = Cluster(initialize_head=True, head_node_args={
            "node_ip_address": "127.0.0.1", "num_cpus": 1, "object_store_memory": OBJECT_STORE,
            "include_dashboard": False, "temp_dir": str(root / "ray")})
        cluster.add_node(node_ip_address="127.0.0.1", num_cpus=1,
                         object_store_memory=OBJECT_STORE)
        ray.init(address=cluster.address, log_to_driver=False)
        yield cluster.address
    finally:
        ray.shutdown()
        if cluster is not None:
            cluster.shutdown()
        _stop(_pids_naming(str(root)))
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shutil.rmtree(root, ignore_errors=True)
