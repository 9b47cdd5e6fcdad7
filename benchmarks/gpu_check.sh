#!/usr/bin/env bash
# The GPU check of docs/performance.md: step cost, loader rate, a SynthFF-256 job's eval share and a
# GPU-vs-CPU step, written to OUT_DIR/gpu_check.md and OUT_DIR/gpu_check.csv and printed.
#   benchmarks/gpu_check.sh OUT_DIR            # on one GPU, at most 8 minutes, no network
#   GPU_CHECK_DRY=1 benchmarks/gpu_check.sh OUT_DIR [--data_dir DIR]   # tiny sizes on the CPU
set -euo pipefail
if [ $# -lt 1 ]; then
  echo "usage: $0 OUT_DIR [--data_dir SYNTHFF_DIR]" >&2
  exit 2
fi
out="$1"
shift
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${PYTHON:-python}"
dry=()
if [ "${GPU_CHECK_DRY:-0}" = "1" ]; then
  dry=(--dry)
fi
export PYTHONPATH="$(dirname "$here")${PYTHONPATH:+:$PYTHONPATH}"
# 8 minutes hard; the script's own budget (450 s) stops new parts well before.
exec timeout 480 "$python" "$here/gpu_check.py" "$out" "${dry[@]}" "$@"
