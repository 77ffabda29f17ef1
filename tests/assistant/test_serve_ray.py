"""The Ray Serve deployment (assistant/serve/ray_app.py, ray_serve.yaml) for real: a local
Ray instance on 127.0.0.1 (its own temp folder), the `encore` application of the
repository's config with two replicas over the demo test bundle and a shared store, real
HTTP calls through Serve's proxy, and every follow-up refining its own turn 1 whichever
replica answered. (test_serve_api.py checks the whole file against Ray's schema; the `llm`
application needs a GPU and is not started.)"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from tests.assistant.test_serve_workers import REPO, _free_port, follow_ups_across, wait_ready

pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]

ray = pytest.importorskip("ray", reason="the Ray Serve test needs pip install 'encore-rec[ray]'")
serve = pytest.importorskip("ray.serve")


@pytest.fixture()
def local_ray(monkeypatch: pytest.MonkeyPatch):
    """A local Ray instance bound to 127.0.0.1, its sockets in a short private folder
    (unix socket paths are limited to ~107 characters), stopped at the end."""
    temp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    # Ray's worker processes import the repository's packages, and pin one thread each
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(address="local", num_cpus=4, include_dashboard=False, _temp_dir=temp,
             _node_ip_address="127.0.0.1", log_to_driver=False, configure_logging=False)
    try:
        yield
    finally:
        try:
            serve.shutdown()
        finally:
            ray.shutdown()
            shutil.rmtree(temp, ignore_errors=True)


def test_the_config_serves_the_assistant_from_two_replicas(
        local_ray: None, demo_bundle_path: Path, one_shared_store_url: str) -> None:
    from assistant.serve.ray_app import CONFIG, application_from_config

    port = _free_port()
    args = {"bundle": str(demo_bundle_path), "store_url": one_shared_store_url,
            "settings": {}}  # the rules parser: no LLM in the test
    app, prefix, http = application_from_config(
        CONFIG, "encore", args=args, options={"num_replicas": 2,
                                              "ray_actor_options": {"num_cpus": 1}})
    assert http["host"] == "127.0.0.1" and prefix == "/"
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    serve.run(app, name="encore", route_prefix=prefix, blocking=False)
    wait_ready(port, None, 240)
    pairs = follow_ups_across(port, 12)
    replicas = {pid for pair in pairs for pid in pair}
    assert len(replicas) == 2, pairs  # both replicas answered
    assert any(a != b for a, b in pairs), pairs  # a follow-up on the other replica
