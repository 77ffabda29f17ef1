"""`encore vllm-command` through typer's CliRunner."""

from __future__ import annotations

import json
import shlex

import pytest
import typer
from typer.testing import CliRunner

from assistant.commands.vllm import register, server_settings
from assistant.llm import vllm_command
from assistant.settings import Settings

runner = CliRunner()


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    from assistant import cli

    app = typer.Typer(cls=cli._EncoreGroup)

    @app.callback()
    def _root() -> None:  # keeps vllm-command a sub-command, as in `encore`
        pass

    register(app)
    return app


def test_prints_the_command_and_the_settings(app) -> None:
    result = runner.invoke(app, ["vllm-command", "org/model", "--port", "8001",
                                 "--max-model-len", "4096"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    env_and_argv = shlex.split(lines[0])
    assert env_and_argv[0] == "VLLM_NO_USAGE_STATS=1"
    assert env_and_argv[1:] == vllm_command("org/model", port=8001, max_model_len=4096)
    exports = dict(shlex.split(line)[1].split("=", 1) for line in lines
                   if line.startswith("export "))
    assert exports == {"ENCORE_LLM__PARSER": "llm", "ENCORE_LLM__EXPLAINER": "llm",
                       "ENCORE_LLM__BACKEND": "openai",
                       "ENCORE_LLM__BASE_URL": "http://127.0.0.1:8001/v1",
                       "ENCORE_LLM__MODEL": "org/model"}


def test_json_cpu_form_and_settings_load(app, monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    result = runner.invoke(app, ["vllm-command", str(tmp_path), "--cpu", "--host", "0.0.0.0",
                                 "--served-model-name", "tiny", "--kv-cache-gib", "2", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["argv"][:3] == ["python", "-m", "vllm.entrypoints.openai.api_server"]
    assert out["argv"] == vllm_command(str(tmp_path), host="0.0.0.0", cpu=True,
                                       served_model_name="tiny")
    assert out["env"] == {"VLLM_NO_USAGE_STATS": "1", "VLLM_CPU_KVCACHE_SPACE": "2",
                          "HF_HUB_OFFLINE": "1"}
    assert shlex.split(out["command"])[3:] == out["argv"]
    # the printed settings are ones Encore accepts
    for key, value in out["settings"].items():
        monkeypatch.setenv(key, value)
    llm = Settings().llm
    assert (llm.parser, llm.backend, llm.base_url, llm.model) == (
        "llm", "openai", "http://127.0.0.1:8000/v1", "tiny")


def test_bad_port_is_a_usage_error(app) -> None:
    result = runner.invoke(app, ["vllm-command", "m", "--port", "0"])
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_server_settings_ipv6() -> None:
    assert server_settings("m", host="::1", port=9)["ENCORE_LLM__BASE_URL"] == "http://[::1]:9/v1"


def test_docstring_examples() -> None:
    import doctest

    import assistant.commands.vllm as module

    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
