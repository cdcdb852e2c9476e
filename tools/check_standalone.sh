#!/usr/bin/env bash
# For every package, build an environment holding only that package and what it declares, import
# it, and run its own tests folder there. Tests that need a dev-only tool (transformers) skip.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
status=0
for dir in packages/*/; do
    name=$(basename "$dir")
    module=${name//-/_}
    env="$root/$name"
    UV_PROJECT_ENVIRONMENT="$env" uv sync --quiet --locked --package "$name" --no-default-groups
    uv pip install --quiet --python "$env/bin/python" pytest pytest-timeout
    "$env/bin/python" -c "import $module; print('$module', $module.__version__, 'imports alone')"
    if [ -d "tests/$module" ]; then
        # Tests that need what this package does not declare are skipped by importorskip.
        rc=0
        (cd "$root" && "$env/bin/python" -m pytest -q -p no:cacheprovider -c "$OLDPWD/pyproject.toml" \
            --rootdir "$OLDPWD" "$OLDPWD/tests/$module") || rc=$?
        # 5: no tests collected (a folder of only skipped modules) is fine for a standalone run.
        if [ "$rc" -ne 0 ] && [ "$rc" -ne 5 ]; then status=1; echo "FAILED: tests/$module alone"; fi
    fi
    rm -rf "$env"
done
exit $status
