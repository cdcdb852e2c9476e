#!/usr/bin/env bash
# For every package, build an environment holding only that package and what it declares, import
# it, and run its own tests folder there. Tests that need a dev-only tool (transformers) skip.
#
#   bash tools/check_standalone.sh [--lowest] [PACKAGE ...]
#
# By default the environments hold the versions pinned in uv.lock. With --lowest, each package's
# direct dependencies (its own and those of the siblings it pulls in, with the extras listed in
# lowest_extras below) are resolved at the lowest versions its pyproject.toml allows, so a lower
# bound that no longer works fails here (tools/lowest_bounds.py holds each direct dependency at its
# bound, which the resolution alone may not do). PACKAGE names limit the run to those packages.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

mode=locked
packages=()
for arg in "$@"; do
    case "$arg" in
        --lowest) mode=lowest ;;
        -*) echo "unknown option: $arg" >&2; exit 2 ;;
        *) packages+=("$arg") ;;
    esac
done
if [ ${#packages[@]} -eq 0 ]; then
    for dir in packages/*/; do packages+=("$(basename "$dir")"); done
fi

# Extras whose bounds the lowest-direct run also checks, as far as the tests use them.
lowest_extras() {
    case "$1" in
        trainer-args) echo "[yaml]" ;;
        trainer-data) echo "[datasets]" ;;
        trainer-loop) echo "[hub,optuna,tensorboard]" ;;
        trainer) echo "[plot]" ;;
        *) echo "" ;;
    esac
}

python_version=$(uv run --no-sync python -c 'import platform; print(platform.python_version())')
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
status=0
for name in "${packages[@]}"; do
    [ -f "packages/$name/pyproject.toml" ] || { echo "no package named $name" >&2; exit 2; }
    started=$SECONDS
    module=${name//-/_}
    env="$root/$name"
    if [ "$mode" = lowest ]; then
        target="$name$(lowest_extras "$name")"
        uv run --no-sync python -m tools.lowest_bounds "$target" > "$root/$name.constraints"
        uv venv --quiet --python "$python_version" "$env"
        if ! VIRTUAL_ENV="$env" uv pip install --quiet --resolution lowest-direct \
            -c "$root/$name.constraints" "$repo/packages/$target"; then
            status=1
            echo "FAILED: $target does not install at its lower bounds: $(tr '\n' ' ' < "$root/$name.constraints")"
            rm -rf "$env"
            continue
        fi
        VIRTUAL_ENV="$env" uv pip install --quiet pytest pytest-timeout
        # What the lower bounds resolved to, for the log.
        VIRTUAL_ENV="$env" uv pip freeze --quiet | grep -v -E '^(nvidia-|trainer)' | tr '\n' ' '
        echo
    else
        UV_PROJECT_ENVIRONMENT="$env" uv sync --quiet --locked --package "$name" --no-default-groups
        uv pip install --quiet --python "$env/bin/python" pytest pytest-timeout
    fi
    "$env/bin/python" -c "import $module; print('$module', $module.__version__, 'imports alone')"
    if [ -d "tests/$module" ]; then
        # Tests that need what this package does not declare are skipped by importorskip.
        rc=0
        (cd "$root" && "$env/bin/python" -m pytest -q -p no:cacheprovider -c "$repo/pyproject.toml" \
            --rootdir "$repo" "$repo/tests/$module") || rc=$?
        # 5: no tests collected (a folder of only skipped modules) is fine for a standalone run.
        if [ "$rc" -ne 0 ] && [ "$rc" -ne 5 ]; then status=1; echo "FAILED: tests/$module alone ($mode)"; fi
    fi
    rm -rf "$env"
    echo "$name ($mode): $((SECONDS - started)) s"
done
exit $status
