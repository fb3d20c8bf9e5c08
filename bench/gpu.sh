#!/usr/bin/env bash
# Samples per second of both back-ends on a 1-GPU node, with the compose/render split and GPU
# utilisation (nvidia-smi); about 7 minutes. On a machine without a GPU: bench/gpu.sh --cpu.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
export PYOPENGL_PLATFORM=egl
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>/dev/null || echo "no nvidia-smi: no NVIDIA GPU"
exec "$PY" -m bench.gpu --budget "${BUDGET:-400}" "$@"
