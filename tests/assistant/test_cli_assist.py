"""The `encore` commands that front the Assistant, through typer's CliRunner.

Every test runs the real command line over the session's demo bundle (``demo_bundle_path``:
real titles, SYNTHETIC interactions, the tiny test encoder) with its own SQLite history
store, so feedback given in one invocation is read by the next, as in a terminal.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import sys
import types
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.cli import app
from assistant.errors import BundleError

runner = CliRunner()

ASSIST_COMMANDS = ["recommend", "similar", "feedback", "history", "chat"]


@pytest.fixture()
def encore(tmp_path: Path):
    """Run ``encore ARGS`` with a fresh history store in ``tmp_path`` (and no bundle_dir to
    fall back on, so a forgotten ``--bundle`` fails instead of reading .encore/)."""
    env = {"ENCORE_STORE__URL": f"sqlite:///{tmp_path / 'h.sqlite3'}",
           "ENCORE_BUNDLE_DIR": str(tmp_path / "no-bundle-here")}

    def run(*args: str, input: str | None = None):
        return runner.invoke(app, list(args), env=env, input=input)

    return run


def ok_json(result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def error_lines(result) -> list[str]:
    """The lines a user reads on stderr, less the model loader's progress bars."""
    return [ln for ln in result.stderr.splitlines() if ln.strip()
            and not ln.startswith("Loading weights")]


def assert_one_line_error(result, *needles: str) -> str:
    """Exit code 2, nothing on stdout, one ``error:`` line on stderr holding every needle."""
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = error_lines(result)
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


@pytest.fixture()
def bundle_copy(demo_bundle_path: Path, tmp_path: Path) -> Path:
    """A private copy of the demo bundle's live generation (a flat bundle), free to damage."""
    from retrieval.bundle_store import resolve

    return Path(shutil.copytree(resolve(demo_bundle_path).folder, tmp_path / "bundle"))


# -- recommend -----------------------------------------------------------------------------


def test_recommend_json_gives_k_explained_podcasts(encore, demo_bundle_path) -> None:
    out = ok_json(encore("recommend", "podcasts about history", "--user", "U", "--k", "3",
                         "--json", "--bundle", str(demo_bundle_path)))
    assert out["user_id"] == "U" and out["query"] == "podcasts about history"
    recs = out["recommendations"]
    assert [r["rank"] for r in recs] == [1, 2, 3]
    assert {r["media_type"] for r in recs} == {"podcast"}
    assert len({r["item_id"] for r in recs}) == 3
    assert all(isinstance(r["explanation"], str) and r["explanation"].strip() for r in recs)


def test_recommend_plain_lists_ranks_titles_and_ids(encore, demo_bundle_path) -> None:
    result = encore("recommend", "podcasts about history", "--user", "U", "--k", "3",
                    "--bundle", str(demo_bundle_path))
    assert result.exit_code == 0, result.output
    cards = re.findall(r"^\s*(\d+)\. (.+) \(.*\)  \[([\w-]+)\]$", result.stdout, re.M)
    assert [int(rank) for rank, _, _ in cards] == [1, 2, 3]
    same = ok_json(encore("recommend", "podcasts about history", "--user", "U", "--k", "3",
                          "--json", "--bundle", str(demo_bundle_path)))
    assert [i for _, _, i in cards] == [r["item_id"] for r in same["recommendations"]]


def test_recommend_filters_hold(encore, demo_bundle_path) -> None:
    out = ok_json(encore("recommend", "--type", "podcast", "--max-minutes", "40", "--k", "5",
                         "--json", "--bundle", str(demo_bundle_path)))
    recs = out["recommendations"]
    assert len(recs) == 5
    assert all(r["media_type"] == "podcast" for r in recs)
    assert all(r["duration_min"] is not None and r["duration_min"] <= 40 for r in recs)


def test_recommend_bad_input_is_one_line(encore, demo_bundle_path) -> None:
    b = str(demo_bundle_path)
    assert_one_line_error(encore("recommend", "--user", " ", "--bundle", b), "user id")
    assert_one_line_error(encore("recommend", "--type", "cassette", "--bundle", b),
                          "--type 'cassette'", "podcast", "music_track", "audiobook")
    out = ok_json(encore("recommend", "--type", "Music-Track", "--k", "3", "--json",
                         "--bundle", b))
    assert [r["media_type"] for r in out["recommendations"]] == ["music_track"] * 3
    result = encore("recommend", "--k", "0", "--bundle", b)  # typer's own range check
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_an_unknown_user_is_a_new_user(encore, demo_bundle_path) -> None:
    b = str(demo_bundle_path)
    result = encore("history", "--user", "nobody-at-all", "--bundle", b)
    assert result.exit_code == 0 and result.stdout.strip() == "nobody-at-all: no history yet"
    out = ok_json(encore("recommend", "--user", "nobody-at-all", "--k", "2", "--json",
                         "--bundle", b))
    assert len(out["recommendations"]) == 2


# -- similar -------------------------------------------------------------------------------


def test_similar_json_never_returns_the_seed(encore, demo_bundle_path) -> None:
    b = str(demo_bundle_path)
    seed = ok_json(encore("recommend", "--k", "1", "--json", "--bundle", b)
                   )["recommendations"][0]["item_id"]
    out = ok_json(encore("similar", seed, "--k", "5", "--json", "--bundle", b))
    assert out["item_id"] == seed
    ids = [r["item_id"] for r in out["recommendations"]]
    assert len(ids) == 5 and seed not in ids


def test_similar_unknown_id_is_one_line(encore, demo_bundle_path) -> None:
    line = assert_one_line_error(encore("similar", "mv-no-such-film", "--bundle",
                                        str(demo_bundle_path)), "mv-no-such-film")
    assert "unknown item id" in line


# -- feedback and history ------------------------------------------------------------------


def test_a_dislike_hides_the_item_and_ends_the_history(encore, demo_bundle_path) -> None:
    b = str(demo_bundle_path)
    ask = ("recommend", "podcasts about history", "--k", "5", "--json", "--bundle", b)
    before = [r["item_id"] for r in ok_json(encore(*ask, "--user", "U"))["recommendations"]]
    top = before[0]
    out = ok_json(encore("feedback", top, "dislike", "--user", "U", "--json", "--bundle", b))
    assert out == {"user_id": "U", "item_id": top, "kind": "dislike", "recorded": True}

    after = [r["item_id"] for r in ok_json(encore(*ask, "--user", "U"))["recommendations"]]
    assert top not in after and len(after) == 5
    # feedback belongs to its user: someone else still gets it
    assert top in [r["item_id"] for r in ok_json(encore(*ask, "--user", "V"))["recommendations"]]

    hist = ok_json(encore("history", "--user", "U", "--json", "--bundle", b))
    assert hist["user_id"] == "U"
    last = hist["history"][-1]
    assert (last["item_id"], last["event"], last["source"]) == (top, "dislike", "feedback")


def test_feedback_plain_names_the_title(encore, demo_bundle_path) -> None:
    b = str(demo_bundle_path)
    rec = ok_json(encore("recommend", "--k", "1", "--json", "--bundle", b))["recommendations"][0]
    result = encore("feedback", rec["item_id"], "like", "--user", "U", "--bundle", b)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"recorded: U like {rec['title']}"
    last = encore("history", "--user", "U", "--bundle", b).stdout.splitlines()[-1]
    assert last.split()[0] == "like" and rec["title"] in last and "[feedback]" in last


def test_feedback_bad_kind_or_item_is_one_line(encore, demo_bundle_path) -> None:
    b = str(demo_bundle_path)
    rec = ok_json(encore("recommend", "--k", "1", "--json", "--bundle", b))["recommendations"][0]
    assert_one_line_error(encore("feedback", rec["item_id"], "meh", "--user", "U", "--bundle", b),
                          "'meh'", "like", "dislike", "seen")
    assert_one_line_error(encore("feedback", "mv-nope", "like", "--user", "U", "--bundle", b),
                          "mv-nope")
    # nothing was recorded by either
    assert ok_json(encore("history", "--user", "U", "--json", "--bundle", b))["history"] == []


# -- chat ----------------------------------------------------------------------------------


def test_chat_messages_as_arguments_json(encore, demo_bundle_path) -> None:
    result = encore("chat", "--user", "U", "sci-fi films, no horror", "shorter", "--json",
                    "--bundle", str(demo_bundle_path))
    assert result.exit_code == 0, result.output
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert (first["turn"], second["turn"]) == (1, 2)
    assert first["session_id"] == second["session_id"] and first["user_id"] == "U"
    assert first["request"]["exclude_genres"] == ["horror"]
    assert first["request"]["max_minutes"] is None
    limit = second["request"]["max_minutes"]
    assert limit is not None
    assert second["request"]["exclude_genres"] == ["horror"]  # the session kept it
    assert second["recommendations"]
    assert all(r["duration_min"] <= limit for r in second["recommendations"])


def test_chat_reads_lines_until_an_empty_one(encore, demo_bundle_path) -> None:
    result = encore("chat", "--user", "U", "--json", "--bundle", str(demo_bundle_path),
                    input="sci-fi films\nshorter\n\nhorror films\n")
    assert result.exit_code == 0, result.output
    turns = [json.loads(line) for line in result.stdout.splitlines()]
    assert [t["turn"] for t in turns] == [1, 2]  # "horror films" came after the empty line
    assert turns[1]["request"]["max_minutes"] is not None


def test_chat_in_the_terminal_prints_replies(encore, demo_bundle_path) -> None:
    result = encore("chat", "--user", "U", "--bundle", str(demo_bundle_path),
                    input="podcasts about history\n")
    assert result.exit_code == 0, result.output
    assert "Empty line to stop" in result.stderr and "parser: rules" in result.stderr
    assert re.search(r"^\s+1\. .+\[pc-[\w-]+\]$", result.stdout, re.M), result.stdout
    assert "[parser: rules" in result.stdout


# -- bundles that are missing or damaged ---------------------------------------------------


@pytest.mark.parametrize("command", ASSIST_COMMANDS)
def test_missing_bundle_is_one_line(encore, command, tmp_path) -> None:
    args = {"similar": ["x"], "feedback": ["x", "like"], "chat": ["hello"]}.get(command, [])
    missing = str(tmp_path / "nonexistent")
    assert_one_line_error(encore(command, *args, "--bundle", missing), missing, "encore build")


def test_missing_default_bundle_dir_is_one_line(encore, tmp_path) -> None:
    assert_one_line_error(encore("recommend"), str(tmp_path / "no-bundle-here"), "encore build")


def test_corrupt_bundle_names_the_file(encore, bundle_copy) -> None:
    catalog = bundle_copy / "catalog.jsonl"
    with catalog.open("r+b") as f:
        f.truncate(100)
    assert_one_line_error(encore("recommend", "--bundle", str(bundle_copy)), str(catalog),
                          "encore build")


def test_corrupt_manifest_names_the_file(encore, bundle_copy) -> None:
    manifest = bundle_copy / "manifest.json"
    manifest.write_text(manifest.read_text()[:50])
    assert_one_line_error(encore("similar", "x", "--bundle", str(bundle_copy)), str(manifest),
                          "not valid JSON")


def test_debug_shows_the_traceback(encore, bundle_copy) -> None:
    with (bundle_copy / "catalog.jsonl").open("r+b") as f:
        f.truncate(100)
    result = encore("--debug", "recommend", "--bundle", str(bundle_copy))
    assert result.exit_code != 0
    assert isinstance(result.exception, BundleError)  # propagated, not turned into a line
    assert "catalog.jsonl" in str(result.exception)
    assert "error:" not in result.stderr
    # and the next invocation without --debug is back to one line
    assert_one_line_error(encore("recommend", "--bundle", str(bundle_copy)), "catalog.jsonl")


# -- demo ----------------------------------------------------------------------------------


def test_demo_bundle_ready_reads_the_manifest(bundle_copy, tmp_path) -> None:
    from assistant.commands.demo import demo_bundle_ready

    assert demo_bundle_ready(bundle_copy)
    assert not demo_bundle_ready(tmp_path / "nothing")
    manifest = json.loads((bundle_copy / "manifest.json").read_text())
    manifest["dataset"]["source"] = "movielens"
    (bundle_copy / "manifest.json").write_text(json.dumps(manifest))
    assert not demo_bundle_ready(bundle_copy)


def _fake_builds(monkeypatch: pytest.MonkeyPatch, source: Path) -> list[Path]:
    from assistant.commands import demo

    calls: list[Path] = []

    def build_demo(settings, path, *, progress, say):
        calls.append(Path(path))
        shutil.copytree(source, path, dirs_exist_ok=True)
        return Path(path)

    monkeypatch.setattr(demo, "build_demo", build_demo)
    return calls


def test_demo_no_launch_reuses_a_ready_bundle(bundle_copy, demo_bundle_path, tmp_path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    builds = _fake_builds(monkeypatch, demo_bundle_path)
    created = json.loads((bundle_copy / "manifest.json").read_text())["created_unix"]
    env = {"ENCORE_BUNDLE_DIR": str(bundle_copy),
           "ENCORE_STORE__URL": f"sqlite:///{tmp_path / 'h.sqlite3'}"}
    out = ok_json(runner.invoke(app, ["demo", "--no-launch", "--json"], env=env))
    assert builds == []
    assert out["bundle"] == str(bundle_copy)
    assert out["dataset"]["source"] == "demo" and out["dataset"]["synthetic"] is True
    assert json.loads((bundle_copy / "manifest.json").read_text())["created_unix"] == created

    result = runner.invoke(app, ["demo", "--no-launch"], env=env)
    assert result.exit_code == 0 and result.stdout.strip() == str(bundle_copy)
    assert builds == []


def test_demo_no_launch_builds_when_missing_or_asked(demo_bundle_path, tmp_path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    builds = _fake_builds(monkeypatch, demo_bundle_path)
    target = tmp_path / "demo-bundle"
    env = {"ENCORE_BUNDLE_DIR": str(target)}
    out = ok_json(runner.invoke(app, ["demo", "--no-launch", "--json"], env=env))
    assert builds == [target] and out["bundle"] == str(target)
    ok_json(runner.invoke(app, ["demo", "--no-launch", "--json"], env=env))
    assert builds == [target]  # ready now
    ok_json(runner.invoke(app, ["demo", "--no-launch", "--rebuild", "--json"], env=env))
    assert builds == [target, target]


# -- serve (and demo) on a busy port -------------------------------------------------------


@pytest.fixture()
def busy_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        yield sock.getsockname()[1]


@pytest.fixture()
def no_launch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stand-in for assistant.ui (gradio): a test that reaches launch() fails, never hangs."""
    def launch(*args, **kwargs):
        raise AssertionError("the server was launched")

    fake = types.ModuleType("assistant.ui")
    fake.launch = launch
    fake.parse_auth = lambda auth: auth
    monkeypatch.setitem(sys.modules, "assistant.ui", fake)


def test_serve_on_a_busy_port_is_one_line(encore, demo_bundle_path, busy_port,
                                          no_launch) -> None:
    assert_one_line_error(encore("serve", "--bundle", str(demo_bundle_path), "--host",
                                 "127.0.0.1", "--port", str(busy_port)),
                          f"port {busy_port}", "already in use", "--port")


def test_serve_without_a_bundle_is_one_line(encore, tmp_path, no_launch) -> None:
    missing = str(tmp_path / "nonexistent")
    assert_one_line_error(encore("serve", "--bundle", missing, "--port", "1"), missing,
                          "encore build")


def test_demo_on_a_busy_port_is_one_line(bundle_copy, busy_port, no_launch) -> None:
    result = runner.invoke(app, ["demo", "--port", str(busy_port), "--host", "127.0.0.1"],
                           env={"ENCORE_BUNDLE_DIR": str(bundle_copy)})
    assert_one_line_error(result, f"port {busy_port}", "already in use")


# -- the command list ----------------------------------------------------------------------


def test_help_lists_the_commands() -> None:
    result = runner.invoke(app, ["--help"], terminal_width=200)
    assert result.exit_code == 0
    listed = set(re.findall(r"^[\s│|]+([a-z][a-z-]+)\s{2,}", result.stdout, re.M))
    for name in ["recommend", "chat", "similar", "feedback", "history", "serve", "demo",
                 "vllm-command", "eval", "build"]:
        assert name in listed, (name, result.stdout)


@pytest.mark.parametrize("command", [*ASSIST_COMMANDS, "demo"])
def test_data_commands_take_json(command) -> None:
    result = runner.invoke(app, [command, "--help"], terminal_width=200)
    assert result.exit_code == 0 and "--json" in result.stdout
