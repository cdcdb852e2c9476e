#!/usr/bin/env bash
# The README's main job: install the workspace (first time only) and fine-tune the bundled tiny
# GPT on the bundled text (`trainer demo`; under two minutes on two CPU cores). Arguments go to
# `trainer demo`, e.g. --output-dir DIR or --max-steps N.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet uv
uv sync --all-packages --locked --quiet
exec uv run --no-sync trainer demo "$@"
