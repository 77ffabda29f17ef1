"""A local Ray cluster of two nodes on 127.0.0.1, shared by the Ray tests of a session
(:class:`retrieval.distributed.local_cluster.LocalCluster`: separate node processes, one
CPU and a 100 MB object store each, listening on the loopback address only, which
pytest-socket allows; teardown stops exactly those processes)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[str]:
    """The address (``127.0.0.1:PORT``) of a two-node Ray cluster, the driver connected."""
    pytest.importorskip("ray")
    from retrieval.distributed.local_cluster import LocalCluster

    with LocalCluster(nodes=2, cpus=1, object_store_mb=100) as address:
        yield address
