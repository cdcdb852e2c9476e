#!/usr/bin/env bash
# Build every package's wheel, install the meta-package from those wheels into a fresh virtual
# environment outside the checkout, and run a short main demo there from a folder outside the
# checkout: proves the packages (and the demo's data) work as a user installs them.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/trainer-wheels.XXXXXX")
trap 'rm -rf "$work"' EXIT
python_version=$(uv run --no-sync python -c 'import platform; print(platform.python_version())')

uv build --all-packages --wheel --quiet -o "$work/wheels"
# Third-party versions pinned as in uv.lock (so the install is served from uv's cache).
uv export --frozen --quiet --package trainer --extra plot --no-dev --no-emit-workspace \
    --no-hashes -o "$work/requirements.txt"
cd "$work"
uv venv --quiet --python "$python_version" "$work/venv"
VIRTUAL_ENV="$work/venv" uv pip install --quiet --find-links "$work/wheels" \
    -r "$work/requirements.txt" "trainer[plot]"

"$work/venv/bin/python" - "$repo" <<'PY'
import sys

import trainer

assert not trainer.__file__.startswith(sys.argv[1]), f"imported from the checkout: {trainer.__file__}"
print("trainer imports from", trainer.__file__)
PY
"$work/venv/bin/trainer" env
"$work/venv/bin/trainer" demo --max-steps 20 --output-dir "$work/demo"
for file in model.safetensors loss_curves.png trainer_state.json checkpoint-20/optimizer.pt; do
    test -f "$work/demo/$file" || { echo "missing $work/demo/$file"; exit 1; }
done
"$work/venv/bin/trainer" demo moons --max-steps 40 --output-dir "$work/moons" > "$work/moons.log"
tail -n 2 "$work/moons.log"
echo "wheels install and run outside the checkout"
