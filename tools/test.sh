#!/usr/bin/env bash
# The README's test command: install the workspace (first time only) and run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet uv
uv sync --all-packages --locked --quiet
exec uv run --no-sync pytest -q "$@"
