#!/usr/bin/env bash
# The GPU check (issue 13), one command, at most 8 minutes:
#
#   bench/gpu.sh [--out DIR] [--data-dir MNIST_DIR] [--cpu]
#
# With CUDA: the torch engine's tests on the GPU, one model and ensembles of K = 1, 8, 64 on the
# GPU against the same K on the CPU, and the notes' whole table (6 rows x 5 seeds, the notes'
# budgets) timed; results in bench/results/gpu-*.json|md|log. Without CUDA (or with --cpu): says
# that no GPU was found and runs a short CPU version into --out (default
# $TMPDIR/actlab-gpu-fallback). Details: bench/gpu.py, docs/speed.md.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python}"
command -v "$PY" >/dev/null 2>&1 || PY=python3
# bench/gpu.py keeps within 470 s by itself; this is the safety net for the 8 minutes
exec timeout --signal=TERM --kill-after=5 475 "$PY" bench/gpu.py "$@"
