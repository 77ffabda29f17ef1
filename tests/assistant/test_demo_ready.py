"""The demo answers within a minute: a quick generation goes live first, the tuned one
next (fine-tuned encoder, trained ranker), and a running assistant and page switch to it
between turns. Every build here is real, with the tiny test encoder and 200 demo users."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.cli import app
from retrieval.bundle_store import current_generation
from retrieval.demo.build import QUICK, TUNED, DemoProgress, build_quick, build_tuned, demo_stage

USERS = 200


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.bundles import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


def _toml(tiny: Path, bundle: Path, store: str = "sqlite://:memory:") -> str:
    return f"""bundle_dir = "{bundle}"
[data]
demo_users = {USERS}
[retrieval]
encoder_model = "{tiny}"
n_candidates = 50
collaborative = 40
[ranker]
kind = "lightgbm"
max_rounds = 20
early_stopping = 5
min_data_in_leaf = 20
num_leaves = 7
num_threads = 1
[training]
cuts = 2
[store]
url = "{store}"
"""


def _settings(tiny: Path, bundle: Path):
    from assistant.settings import load_settings

    cfg = bundle.parent / "encore.toml"
    cfg.write_text(_toml(tiny, bundle))
    return load_settings(cfg)


def _manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def test_no_launch_makes_the_quick_generation_live_first_then_the_tuned_one(
        tiny_model: Path, tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    cfg = tmp_path / "encore.toml"
    cfg.write_text(_toml(tiny_model, bundle))
    result = CliRunner().invoke(app, ["--config", str(cfg), "demo", "--no-launch"])
    assert result.exit_code == 0, result.output
    quick, tuned = _manifest(bundle / "gen-000001"), _manifest(bundle / "gen-000002")
    assert current_generation(bundle) == "gen-000002" and demo_stage(bundle) == TUNED
    assert quick["stage"] == QUICK and not quick["encoder"]["finetuned"]
    assert quick["ranker"]["kind"] == "none"
    assert tuned["stage"] == TUNED and tuned["encoder"]["finetuned"]
    assert tuned["ranker"]["kind"] == "lightgbm"
    # Both list the personas of the demo's users, with checksums.
    assert "users.jsonl" in quick["files"] and "users.jsonl" in tuned["files"]
    err = result.stderr
    assert err.index("Getting the demo ready: encoding") < err.index("the quick model is live") \
        < err.index("the tuned one is being trained (step") < err.index("The tuned model is live")
    assert "%)" in err and " left" in err  # a share done, and an estimate
    # A second run builds nothing; --quick after a rebuild stops at the quick generation.
    again = CliRunner().invoke(app, ["--config", str(cfg), "demo", "--no-launch", "--json"])
    assert again.exit_code == 0 and json.loads(again.stdout)["stage"] == TUNED
    assert current_generation(bundle) == "gen-000002"


def test_an_assistant_on_the_quick_generation_switches_to_the_tuned_one_between_turns(
        tiny_model: Path, tmp_path: Path) -> None:
    from assistant.core import Assistant

    bundle = tmp_path / "bundle"
    s = _settings(tiny_model, bundle)
    config = s.build_config()
    dataset = build_quick(bundle, config, users=USERS)
    bot = Assistant.from_bundle(bundle, s)
    assert bot.generation == "gen-000001" and bot.manifest["stage"] == QUICK
    first = bot.chat("s1", "demo-0001", "a dark crime series")
    assert first.recommendations and first.meta.ranker != "lightgbm"
    # A turn that began on the quick generation ends on it, even if the tuned one goes
    # live meanwhile.
    stream = bot.chat_stream("s1", "demo-0001", "something funny instead")
    next(stream)
    build_tuned(bundle, config, dataset=dataset, max_pairs=800)
    *_, middle = stream
    assert bot.generation == "gen-000001" and middle.turn == 2
    third = bot.chat("s1", "demo-0001", "shorter ones")
    assert bot.generation == "gen-000002" and bot.manifest["stage"] == TUNED
    assert third.turn == 3 and third.recommendations  # the conversation carried over
    assert third.meta.ranker == "lightgbm"
    assert not bot.refresh()  # nothing newer
    assert bot.persona("demo-0001") and bot.persona("someone-else") is None
    bot.close()


class _HeldProgress(DemoProgress):
    """Progress whose fine-tuning waits at its first step until the test lets it go."""

    def __init__(self) -> None:
        super().__init__()
        self.holding = threading.Event()
        self.release = threading.Event()

    def report(self, what: str, done: int, total: int) -> None:
        super().report(what, done, total)
        if what == "finetune" and done == 1:
            self.holding.set()
            assert self.release.wait(120)


@pytest.mark.integration
def test_the_page_answers_while_the_tuned_model_is_trained(tiny_model: Path,
                                                           tmp_path: Path) -> None:
    from gradio_client import Client

    from assistant.core import Assistant
    from assistant.ui import launch
    from assistant.ui.page import AssistantLoader, ChatPage
    from tests.ui.conftest import free_port, wait_until_serving

    bundle = tmp_path / "bundle"
    s = _settings(tiny_model, bundle)
    progress = _HeldProgress()
    dataset = build_quick(bundle, s.build_config(), users=USERS, progress=progress)
    bot = Assistant.from_bundle(bundle, s)
    progress.finish(QUICK)
    loader = AssistantLoader(bot)
    loader.progress = progress  # type: ignore[attr-defined]  # as `encore demo` does
    tuned = threading.Thread(target=build_tuned, args=(bundle, s.build_config()),
                             kwargs={"dataset": dataset, "progress": progress, "max_pairs": 800})
    tuned.start()
    port = free_port()
    page = launch(loader, host="127.0.0.1", port=port,  # type: ignore[arg-type]
                  prevent_thread_lock=True)
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_until_serving(url)
        assert progress.holding.wait(120)
        client = Client(url, verbose=False, download_files=False, analytics_enabled=False)
        reply = client.predict("a funny podcast", "demo-0002", "", api_name="/chat")
        assert reply["recommendations"] and progress.busy and tuned.is_alive()
        html_, *_rest, building = ChatPage(loader).status("demo-0002")
        assert building and "Answers now come from the quick model; the tuned one is being " \
            "trained (step 1 of" in html_ and "encore-problem" not in html_
        progress.release.set()
        tuned.join(120)
        progress.finish(TUNED)
        again = client.predict("a funny podcast", "demo-0002", reply["session_id"],
                               api_name="/chat")
        assert again["turn"] == 2 and bot.generation == "gen-000002"
        html_, *_rest, building = ChatPage(loader).status("demo-0002")
        assert not building and "The tuned model is live" in html_
    finally:
        progress.release.set()
        page.close()
        bot.close()


def test_the_tuned_build_runs_in_a_child_process_and_goes_live(tiny_model: Path,
                                                               tmp_path: Path) -> None:
    from retrieval.demo.build import TunedBuild

    bundle = tmp_path / "bundle"
    s = _settings(tiny_model, bundle)
    progress = DemoProgress()
    build_quick(bundle, s.build_config(), users=USERS, progress=progress)
    progress.finish(QUICK)
    seen: list[str] = []
    progress.subscribe(lambda p: seen.append(p.text() or ""))
    went_live = threading.Event()
    build = TunedBuild(bundle, s.build_config(), progress=progress, users=USERS, max_pairs=800,
                       on_live=went_live.set)
    try:
        assert build.wait(300), "the tuned build did not finish in 5 minutes"
    finally:
        build.stop()
    assert progress.phase == "live", progress.error
    assert went_live.is_set() and demo_stage(bundle) == TUNED
    assert any("(step " in t for t in seen) and any("encoding" in t for t in seen)


def test_progress_words_and_estimates() -> None:
    now = [0.0]
    p = DemoProgress(clock=lambda: now[0])
    assert p.text() == "Getting the demo ready: starting."
    p.begin(QUICK, items=1200, interactions=30_000)
    assert (p.text() or "").startswith("Getting the demo ready: loading the language model, about ")
    p.report("encode", 0, 1200)
    now[0] = 12.0
    p.report("encode", 480, 1200)
    assert p.text() == "Getting the demo ready: encoding 1,200 titles (40%), about 20 s left."
    now[0] = 30.0
    p.report("encode", 1200, 1200)
    p.finish(QUICK)
    p.begin(TUNED)
    p.report("finetune", 1, 62)  # (reported after each step: the rate counts from here)
    assert "step 1 of 62, about 22 min left" in (p.text() or "")  # a first guess: 20 s a step
    now[0] = 30.0 + 19 * 15
    p.report("finetune", 20, 62)
    # 42 steps at 15 s, the encoding as measured (30 s), the ranker (90 s), loading: 12.6 min
    assert p.text() == ("Answers now come from the quick model; the tuned one is being "
                        "trained (step 20 of 62, about 13 min left).")
    # the ranker (30,000 interactions: about 90 s) runs past its estimate on a busy machine:
    # the words say so instead of a small made-up figure ("about 2 min" for 10 minutes)
    now[0] = 1000.0
    p.report("ranker", 0, 1)
    now[0] = 1060.0
    assert p.text() == ("Answers now come from the quick model; the tuned one is being "
                        "trained (training the ranker, about 35 s left).")
    now[0] = 1600.0
    assert p.text() == ("Answers now come from the quick model; the tuned one is being "
                        "trained (training the ranker, which takes longer than estimated on "
                        "this machine).")
    p.fail("out of memory")
    assert not p.busy and "out of memory" in (p.text() or "")


@pytest.mark.browser
def test_the_page_shows_the_build_in_plain_words(demo_bundle_path: Path, tmp_path: Path
                                                  ) -> None:
    """Headless Chromium: while the quick model is built the page says how far and how long
    (no red error), then, answering, that the tuned one is being trained; screenshots in
    artifacts/."""
    import os

    from playwright.sync_api import sync_playwright

    from assistant.core import Assistant
    from assistant.settings import Settings
    from assistant.ui import launch
    from assistant.ui.page import AssistantLoader
    from tests.ui.conftest import free_port, wait_until_serving

    chromium = Path(os.environ.get("ENCORE_CHROMIUM", "/usr/bin/chromium"))
    if not chromium.is_file():
        pytest.fail(f"{chromium} not found. Fix: apt-get install chromium")
    shots = Path(__file__).resolve().parents[2] / "artifacts"
    shots.mkdir(exist_ok=True)
    progress = DemoProgress()
    progress.begin(QUICK, items=1200)
    progress.report("encode", 0, 1200)
    progress.report("encode", 480, 1200)
    gate = threading.Event()
    settings = Settings(store={"url": f"sqlite:///{tmp_path / 'h.sqlite3'}"})

    def factory() -> Assistant:  # as `encore demo`'s: the quick model, then the tuned build
        assert gate.wait(120)
        bot = Assistant.from_bundle(demo_bundle_path, settings)
        progress.finish(QUICK)
        progress.begin(TUNED)
        progress.report("finetune", 1, 62)
        progress.report("finetune", 20, 62)
        return bot

    loader = AssistantLoader(factory)
    loader.progress = progress  # type: ignore[attr-defined]  # as `encore demo` does
    port = free_port()
    app_ = launch(loader, host="127.0.0.1", port=port,  # type: ignore[arg-type]
                  prevent_thread_lock=True)
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_until_serving(url)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(chromium), args=[
                "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.set_default_timeout(60_000)
            page.goto(url)
            page.wait_for_selector("#encore-status .encore-progress")
            text = page.inner_text("#encore-status")
            assert "Getting the demo ready: encoding 1,200 titles (40%), about" in text
            assert page.query_selector("#encore-status .encore-problem") is None
            page.screenshot(path=str(shots / "demo-getting-ready.png"))
            assert page.query_selector("#encore-status progress") is not None  # a bar
            gate.set()
            page.wait_for_function(
                "() => document.querySelector('#encore-status').innerText"
                ".includes('Answers now come from the quick model')")
            text = page.inner_text("#encore-status")
            assert "the tuned one is being trained (step 20 of 62, about" in text
            # The page polls while the tuned model trains: typing in the picker survives it.
            page.fill("#user-picker input", "demo-00")
            page.wait_for_timeout(2500)
            assert page.input_value("#user-picker input") == "demo-00"
            page.keyboard.press("Escape")
            page.screenshot(path=str(shots / "demo-quick-answers.png"))
            progress.report("ranker", 1, 1)
            progress.finish(TUNED)
            page.wait_for_function(
                "() => document.querySelector('#encore-status').innerText"
                ".includes('The tuned model is live')")
            browser.close()
    finally:
        gate.set()
        app_.close()


def test_an_outdated_demo_bundle_is_built_again(demo_bundle_path: Path, tmp_path: Path) -> None:
    import shutil

    from retrieval.bundle_store import resolve

    live = Path(shutil.copytree(resolve(demo_bundle_path).folder, tmp_path / "bundle"))
    manifest = _manifest(live)
    # The session's bundle is the demo's first 200 users on the packaged catalog: current.
    assert demo_stage(live) == TUNED
    (live / "manifest.json").write_text(json.dumps({**manifest, "stage": QUICK}))
    assert demo_stage(live) == QUICK
    old = {k: v for k, v in manifest.items() if k != "users_file"}  # before personas
    (live / "manifest.json").write_text(json.dumps(old))
    assert demo_stage(live) is None
    (live / "manifest.json").write_text(json.dumps(manifest))
    ids = json.loads((live / "item_ids.json").read_text())
    (live / "item_ids.json").write_text(json.dumps(ids[:-1]))  # a title since added
    assert demo_stage(live) is None


@pytest.mark.integration
def test_encore_demo_answers_first_then_trains_the_tuned_model(tiny_model: Path,
                                                               tmp_path: Path) -> None:
    """The real command: the page answers from the quick model, the terminal says "Demo
    ready at URL", and the tuned model's training goes on in the background (its swap is
    tested above, without the wait a busy machine gives a lower-priority child)."""
    import os
    import subprocess
    import sys
    import time

    from gradio_client import Client

    from tests.ui.conftest import free_port

    bundle = tmp_path / "bundle"
    cfg = tmp_path / "encore.toml"
    cfg.write_text(_toml(tiny_model, bundle, store=f"sqlite:///{tmp_path / 'h.sqlite3'}"))
    port = free_port()
    repo = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        # ENCORE_CONFIG, not --config: under `python -m`, the commands read the settings of
        # a second copy of assistant.cli, which never saw the option (`encore` has no such
        # problem).
        [sys.executable, "-m", "assistant.cli", "demo", "--port", str(port)], cwd=tmp_path,
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
        env={**os.environ, "PYTHONPATH": str(repo), "GRADIO_ANALYTICS_ENABLED": "False",
             "ENCORE_CONFIG": str(cfg)})
    lines: list[str] = []
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 300
        for line in proc.stderr:
            lines.append(line.rstrip())
            if line.startswith("Demo ready at") or time.monotonic() > deadline:
                break
        assert lines[-1] == f"Demo ready at http://127.0.0.1:{port}", lines
        assert demo_stage(bundle) == QUICK
        client = Client(f"http://127.0.0.1:{port}/", verbose=False, download_files=False,
                        analytics_enabled=False)
        first = client.predict("a dark crime series", "demo-0001", "", api_name="/chat")
        assert first["recommendations"] and first["meta"]["ranker"] != "lightgbm"
        for line in proc.stderr:
            lines.append(line.rstrip())
            if "(step " in line or time.monotonic() > deadline:
                break
        assert "the tuned one is being trained (step " in lines[-1], lines
    finally:
        proc.terminate()
        proc.wait(20)
    text = "\n".join(lines)
    assert "Getting the demo ready: encoding" in text and "Traceback" not in text
