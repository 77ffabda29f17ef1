"""The JSON API (assistant/serve/api.py) and stateless workers over a shared store
(assistant/serve/workers.py), in process: real turns of the assistant over the demo test
bundle, through Starlette's TestClient.

The multi-process forms (``encore serve --api --workers 2``, Ray Serve replicas) are in
test_serve_workers.py and test_serve_ray.py (marked integration).
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from assistant.accounts import AccountBook
from assistant.errors import EncoreError
from assistant.serve.api import build_api
from assistant.serve.workers import check_shared_store, load_worker_assistant
from assistant.settings import Settings
from assistant.ui.access import Access


def _worker(bundle: Path, store_url: str):
    """One worker's assistant, as `encore serve --api` loads it (mapped, stateless)."""
    return load_worker_assistant(bundle, Settings(store={"url": store_url}))


@pytest.fixture(scope="module")
def worker_a(demo_bundle_path: Path, tmp_path_factory: pytest.TempPathFactory):
    url = f"sqlite:///{tmp_path_factory.mktemp('api') / 'history.sqlite3'}"
    bot = _worker(demo_bundle_path, url)
    yield bot
    bot.close()


def test_a_worker_serves_the_bundle_memory_mapped(worker_a) -> None:
    vectors = worker_a.engine.pipeline.items.vectors
    index = worker_a.engine.pipeline.index if hasattr(worker_a.engine.pipeline, "index") \
        else None
    # the unit vectors are the file's pages, not a copy; the index is mapped read-only
    assert isinstance(np.asarray(vectors).base, np.memmap) or isinstance(vectors, np.memmap)
    if index is not None:
        assert index.read_only
    assert worker_a.sessions.max_sessions == 0  # nothing of a conversation kept in memory


def test_the_api_answers_the_four_calls(worker_a) -> None:
    client = TestClient(build_api(worker_a))
    assert client.get("/healthz").json()["ready"] is True
    first = client.post("/chat", json={"message": "a dark crime series", "user_id": "u1",
                                       "session_id": "s1"})
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["session_id"] == "s1" and body["turn"] == 1 and body["recommendations"]
    assert {r["media_type"] for r in body["recommendations"]} == {"series"}
    item = body["recommendations"][0]["item_id"]
    recs = client.post("/recommend", json={"user_id": "u1", "query": "jazz", "k": 3}).json()
    assert len(recs) == 3
    liked = client.post("/feedback", json={"user_id": "u1", "item_id": item, "kind": "like"})
    assert liked.json()["kind"] == "like"
    history = client.get("/history", params={"user_id": "u1", "limit": 5}).json()
    assert history[-1]["item_id"] == item


def test_api_errors_name_the_field_and_map_to_http_statuses(worker_a) -> None:
    client = TestClient(build_api(worker_a))
    bad_k = client.post("/recommend", json={"user_id": "u1", "k": 500})
    assert bad_k.status_code == 400 and "k must be from 1 to 50" in bad_k.json()["error"]
    unknown = client.post("/feedback", json={"user_id": "u1", "item_id": "no-such-item"})
    assert unknown.status_code == 404
    assert client.post("/chat", json={"message": ""}).status_code == 400


def test_a_loading_worker_answers_503_until_ready(worker_a) -> None:
    gate = threading.Event()
    client = TestClient(build_api(lambda: gate.wait(10) and worker_a))
    assert client.get("/healthz").status_code == 503
    waiting = client.post("/recommend", json={"user_id": "u1"})
    assert waiting.status_code == 503 and waiting.headers["retry-after"] == "5"
    gate.set()
    client.app.state.loader.wait(10)
    assert client.get("/healthz").status_code == 200


def test_the_api_keeps_the_page_access_rules(worker_a, tmp_path: Path) -> None:
    from argon2 import PasswordHasher

    book = AccountBook(tmp_path / "accounts.json",
                       hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    book.add("ann", "a-long-password", user_id="demo-0001")
    client = TestClient(build_api(worker_a, access=Access.accounts(book, failure_delay_s=0)))
    assert client.post("/recommend", json={"user_id": "demo-0001"}).status_code == 401
    wrong = client.post("/recommend", json={}, auth=("ann", "not-her-password"))
    assert wrong.status_code == 401
    mine = client.post("/recommend", json={"k": 2}, auth=("ann", "a-long-password"))
    assert mine.status_code == 200 and len(mine.json()) == 2
    theirs = client.get("/history", params={"user_id": "demo-0002"},
                        auth=("ann", "a-long-password"))
    assert theirs.status_code == 403 and "is not yours" in theirs.json()["error"]
    proxy = TestClient(build_api(worker_a, access=Access.trusted_header("X-Forwarded-User")))
    assert proxy.get("/history", params={"user_id": "bob"}).status_code == 401
    assert proxy.get("/history", params={"user_id": "bob"},
                     headers={"X-Forwarded-User": "bob"}).status_code == 200
    assert proxy.get("/history", params={"user_id": "carl"},
                     headers={"X-Forwarded-User": "bob"}).status_code == 403


def test_any_worker_answers_any_turn_of_a_session(demo_bundle_path: Path,
                                                  shared_store_url: str) -> None:
    """Two workers over one store, as N processes are: turn 1 on A, the follow-up on B
    refines it, turn 3 back on A builds on turn 2 (A keeps no stale copy of turn 1), and a
    like given through B reaches A's next answer."""
    a, b = _worker(demo_bundle_path, shared_store_url), _worker(demo_bundle_path,
                                                                shared_store_url)
    try:
        api_a, api_b = TestClient(build_api(a)), TestClient(build_api(b))
        turn = {"user_id": "u7", "session_id": "talk"}
        one = api_a.post("/chat", json={"message": "a dark crime series", **turn}).json()
        two = api_b.post("/chat", json={"message": "only from the 90s", **turn}).json()
        assert two["turn"] == 2
        assert two["request"]["media_types"] == ["series"]
        assert "crime" in two["request"]["genres"]
        assert (two["request"]["year_min"], two["request"]["year_max"]) == (1990, 1999)
        assert all(1990 <= r["year"] <= 1999 for r in two["recommendations"])
        shown = {r["item_id"] for r in one["recommendations"]}
        three = api_a.post("/chat", json={"message": "more like these", **turn}).json()
        assert three["turn"] == 3
        assert three["request"]["year_min"] == 1990  # turn 2's constraint, read on A
        assert not shown & {r["item_id"] for r in three["recommendations"]}  # seen on A and B
        pick = two["recommendations"][0]["item_id"]
        api_b.post("/feedback", json={"user_id": "u7", "item_id": pick, "kind": "dislike"})
        hist = api_a.get("/history", params={"user_id": "u7"}).json()
        assert (hist[-1]["item_id"], hist[-1]["event"]) == (pick, "dislike")
    finally:
        a.close()
        b.close()


def test_workers_refuse_a_store_they_cannot_share() -> None:
    check_shared_store("sqlite://:memory:", 1)  # one process: fine
    check_shared_store("sqlite:////tmp/history.sqlite3", 4)  # WAL file on one machine
    with pytest.raises(EncoreError, match="postgresql://"):
        check_shared_store("sqlite://:memory:", 2)


def test_serve_refuses_workers_for_the_page_and_an_unshared_store(
        demo_bundle_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from assistant.cli import app

    runner = CliRunner()
    page = runner.invoke(app, ["serve", "--bundle", str(demo_bundle_path), "--port", "18679",
                               "--workers", "2"])
    assert page.exit_code == 2 and "--api" in page.output
    monkeypatch.setenv("ENCORE_STORE__URL", "sqlite://:memory:")
    memory = runner.invoke(app, ["serve", "--bundle", str(demo_bundle_path), "--port", "18679",
                                 "--api", "--workers", "2"])
    assert memory.exit_code == 2 and "postgresql://" in memory.output


def test_the_config_file_is_a_valid_serve_config_with_autoscaling() -> None:
    import yaml

    schema = pytest.importorskip("ray.serve.schema", reason="pip install 'encore-rec[ray]'")

    from assistant.serve.ray_app import CONFIG, DEPLOYMENT

    doc = schema.ServeDeploySchema.model_validate(yaml.safe_load(CONFIG.read_text()))
    apps = {a.name: a for a in doc.applications}
    assert set(apps) == {"encore", "llm"}
    encore = {d.name: d for d in apps["encore"].deployments}[DEPLOYMENT]
    scaling = encore.autoscaling_config
    assert scaling["min_replicas"] >= 1 and scaling["max_replicas"] > scaling["min_replicas"]
    assert scaling["target_ongoing_requests"] > 0
    llm = apps["llm"].args["llm_configs"][0]
    assert llm["model_loading_config"]["model_id"] == \
        apps["encore"].args["settings"]["llm"]["model"]
    assert apps["encore"].args["settings"]["llm"]["base_url"].endswith(
        apps["llm"].route_prefix + "/v1")
