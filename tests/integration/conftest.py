"""A real OpenAI-compatible vLLM server serving a tiny random model, once per test session.

vLLM lives in its own virtual environment (it pins fastapi, transformers and torch in ranges
that conflict with gradio's), found at ``ENCORE_VLLM_PYTHON`` or ``.venv-vllm/bin/python``
at the repository root; ``tests/setup/vllm_env.sh`` creates it (about 2 minutes, 3.5 GB).
Without it the tests that use :func:`vllm_server` are skipped, unless
``ENCORE_REQUIRE_VLLM=1`` (set in CI), which turns the skip into a failure.

The server starts in 35-50 s on two CPU cores and holds about 3 GB of memory; the model is
random, so only formats, the protocol and the fallbacks are testable, not answers.

Example (a test in this folder)::

    def test_models(vllm_server):
        r = httpx.get(f"{vllm_server.base_url}/models")
        assert r.json()["data"][0]["id"] == vllm_server.model
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
TINY_LLM_SCRIPT = Path(__file__).with_name("tiny_llm.py")
SERVED_MODEL = "tiny"
MAX_MODEL_LEN = 4096  # the demo users' long histories make prompts over 2,048 tokens
"""Tokens of context: the parser's real prompt (~870 tokens with the tiny tokenizer) plus
``llm.max_tokens`` (512 by default) does not fit in 1024."""
START_TIMEOUT_S = 240.0
STOP_GRACE_S = 15.0
CREATE_HINT = "create it with: tests/setup/vllm_env.sh  (about 2 minutes, 3.5 GB)"



@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder is an ``integration`` test, marked or not (so a default
    run never starts a server); runs before ``-m`` selects."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.integration)


@dataclass(frozen=True)
class VLLMServer:
    """A running vLLM server, as the tests see it.

    Attributes:
        base_url: The OpenAI-compatible root, ``http://127.0.0.1:PORT/v1``.
        model: The served model name to put in requests (``"tiny"``).
        max_model_len: Its context length in tokens (prompt plus reply).
        model_dir: The folder of the tiny model it serves.
        log_path: Its stdout and stderr.
        process: The server process.
    """

    base_url: str
    model: str
    max_model_len: int
    model_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes]

    @property
    def root_url(self) -> str:
        """The server root without ``/v1`` (``/health``, ``/metrics`` live there)."""
        return self.base_url.removesuffix("/v1")

    def log_tail(self, lines: int = 40) -> str:
        """The last ``lines`` lines of the server log, for failure messages."""
        if not self.log_path.is_file():
            return f"(no log at {self.log_path})"
        text = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        return "\n".join(text[-lines:])


def vllm_python() -> Path | None:
    """The python of the vLLM environment, or None when there is none."""
    configured = os.environ.get("ENCORE_VLLM_PYTHON")
    candidate = Path(configured) if configured else REPO / ".venv-vllm" / "bin" / "python"
    return candidate if candidate.is_file() and os.access(candidate, os.X_OK) else None


def _missing_vllm(reason: str) -> None:
    if os.environ.get("ENCORE_REQUIRE_VLLM") == "1":
        pytest.fail(f"{reason}, and ENCORE_REQUIRE_VLLM=1 requires it. Fix: {CREATE_HINT}",
                    pytrace=False)
    pytest.skip(f"{reason}; {CREATE_HINT} (or set ENCORE_VLLM_PYTHON)")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (vLLM stops its workers within ~5 s), then SIGKILL to the whole group."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            pass
    # The server runs in its own process group (start_new_session): this reaches an engine
    # worker left behind, and nothing else.
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait(timeout=STOP_GRACE_S)


def _wait_healthy(server: VLLMServer, timeout_s: float) -> float:
    """Poll ``/health`` until it answers 200; return the seconds it took."""
    start = time.monotonic()
    deadline = start + timeout_s
    with httpx.Client(timeout=2.0) as client:
        while True:
            code = server.process.poll()
            if code is not None:
                raise RuntimeError(f"the vLLM server exited with code {code} before it was "
                                   f"healthy. Log {server.log_path}:\n{server.log_tail()}")
            try:
                if client.get(f"{server.root_url}/health").status_code == 200:
                    return time.monotonic() - start
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the vLLM server was not healthy after {timeout_s:.0f} s. "
                                   f"Log {server.log_path}:\n{server.log_tail()}")
            time.sleep(0.5)


@pytest.fixture(scope="session")
def tiny_llm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Llama model with its tokenizer, written by the vLLM environment."""
    python = vllm_python()
    if python is None:
        _missing_vllm("no vLLM environment at ENCORE_VLLM_PYTHON or .venv-vllm/bin/python")
    folder = tmp_path_factory.mktemp("tiny-llm")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "OMP_NUM_THREADS": "1"}
    done = subprocess.run([str(python), str(TINY_LLM_SCRIPT), str(folder)], env=env,
                          capture_output=True, text=True, timeout=300, cwd=folder)
    if done.returncode != 0:
        pytest.fail(f"building the tiny model with {python} failed "
                    f"(exit {done.returncode}):\n{done.stderr[-3000:]}", pytrace=False)
    return folder


@pytest.fixture(scope="session")
def vllm_server(tiny_llm_dir: Path,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[VLLMServer]:
    """Start ``vllm.entrypoints.openai.api_server`` on a free loopback port; stop it at the end.

    Structured outputs use the ``guidance`` backend without free white space (the default
    xgrammar backend let raw control characters into strings with a random model).
    """
    python = vllm_python()
    assert python is not None  # tiny_llm_dir skipped or failed otherwise
    work = tmp_path_factory.mktemp("vllm-server")
    port = _free_port()
    command = [
        str(python), "-m", "vllm.entrypoints.openai.api_server",
        "--model", str(tiny_llm_dir), "--served-model-name", SERVED_MODEL,
        "--host", "127.0.0.1", "--port", str(port),
        "--max-model-len", str(MAX_MODEL_LEN), "--dtype", "bfloat16", "--enforce-eager",
        "--structured-outputs-config",
        json.dumps({"backend": "guidance", "disable_any_whitespace": True}),
    ]
    env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1", "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1", "VLLM_NO_USAGE_STATS": "1",
           "VLLM_CACHE_ROOT": str(work / "cache")}
    log_path = work / "server.log"
    with log_path.open("wb") as log:
        log.write(("$ " + " ".join(command) + "\n").encode())
        log.flush()
        # cwd outside the repository: its packages must not shadow anything vLLM imports.
        process = subprocess.Popen(command, env=env, cwd=work, stdout=log,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
    server = VLLMServer(base_url=f"http://127.0.0.1:{port}/v1", model=SERVED_MODEL,
                        max_model_len=MAX_MODEL_LEN, model_dir=tiny_llm_dir,
                        log_path=log_path, process=process)
    try:
        _wait_healthy(server, START_TIMEOUT_S)
    except RuntimeError as exc:
        _stop(process)
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server
    finally:
        _stop(process)
