#!/usr/bin/env bash
# One-command set-up: a lean CPU build of PyTorch, then rnn_speech (editable, so
# conf/ is found) with the test and sweep extras, into the active Python.
#
# Why the torch step: with no torch installed, pip resolves "torch" to a CUDA
# build of several GB. torch 2.13.0+cpu comes from a local wheel directory when
# pip is configured with one (find-links), otherwise from PyTorch's CPU index.
set -euo pipefail
PYTHON="${PYTHON:-python3}"
TORCH_CPU_INDEX="${TORCH_CPU_INDEX:-https://download.pytorch.org/whl/cpu}"

if ! "$PYTHON" -c "import torch" >/dev/null 2>&1; then
    "$PYTHON" -m pip install "torch==2.13.0+cpu" 2>/dev/null \
        || "$PYTHON" -m pip install "torch==2.13.0" --index-url "$TORCH_CPU_INDEX"
fi
"$PYTHON" -m pip install -e ".[dev]"
