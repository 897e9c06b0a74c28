#!/usr/bin/env bash
# Installs the official `openai` npm client (once, into target/openai-client) and runs check.mjs against a Tandem
# gateway or worker. Usage: scripts/openai-client/run.sh BASE_URL MODEL
# Exit 0: passed; 1: a check failed; 77: node/npm or the package is not available here (the caller skips).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="$here/../../target/openai-client"
command -v node >/dev/null && command -v npm >/dev/null || { echo "node/npm not installed" >&2; exit 77; }
if [[ ! -d "$dir/node_modules/openai" ]]; then
  mkdir -p "$dir"
  (cd "$dir" && echo '{"private": true, "type": "module"}' > package.json \
    && timeout 180 npm install --no-audit --no-fund --silent openai@^4 >&2) \
    || { echo "npm install openai failed (no registry?)" >&2; exit 77; }
fi
cp "$here/check.mjs" "$dir/check.mjs"
exec timeout 300 node "$dir/check.mjs" "$@"
