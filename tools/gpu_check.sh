#!/usr/bin/env bash
# The GPU check (docs/performance.md, "GPU"): the project's GPU tests, a throughput table and
# padded against padding-free training, in about 6 minutes on one GPU. Writes $OUT/gpu-check.json,
# $OUT/gpu-check.log and $OUT/gpu-tests.xml ($OUT defaults to ./gpu-check-out).
#
#   tools/gpu_check.sh              # on the device machine (python3 there holds torch & co.)
#   tools/gpu_check.sh --dry-run    # the same code on the CPU, tiny sizes, no compile (CI)
#
# Other arguments go to tools/bench/gpu_check.py (--budget SECONDS, --sections tests,throughput,...).
# The workspace's packages are pure Python: their src folders go on PYTHONPATH, so nothing is
# built or downloaded. Wheels in .whl/ (packages missing on the device) are installed first.
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
# The workspace interpreter when there is one (a checkout), else the machine's (the device image).
if [ -z "${PYTHON:-}" ] && [ -x "$ROOT/.venv/bin/python" ]; then PYTHON=$ROOT/.venv/bin/python; fi
PY=${PYTHON:-python3}
export OUT=${OUT:-$ROOT/gpu-check-out}
mkdir -p "$OUT"

if compgen -G ".whl/*.whl" >/dev/null; then
  SITE=${TMPDIR:-/tmp}/gpu-check-site
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target "$SITE" .whl/*.whl && export PYTHONPATH=$SITE${PYTHONPATH:+:$PYTHONPATH}
fi
for src in "$ROOT"/packages/*/src; do
  PYTHONPATH=$src${PYTHONPATH:+:$PYTHONPATH}
done
export PYTHONPATH=$ROOT:$PYTHONPATH
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
# cuBLAS needs this before CUDA starts for torch.use_deterministic_algorithms (the exact-resume test).
export CUBLAS_WORKSPACE_CONFIG=${CUBLAS_WORKSPACE_CONFIG:-:4096:8}
exec "$PY" -m tools.bench.gpu_check --out "$OUT" "$@"
