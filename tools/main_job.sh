#!/usr/bin/env bash
# The README's main job: install the workspace (first time only) and train the bundled example.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet uv
uv sync --all-packages --locked --quiet
exec uv run --no-sync trainer demo "$@"
