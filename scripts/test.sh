#!/usr/bin/env bash
# Installs what the tests need and runs the whole suite; the last line is "N passed, N failed".
source "$(dirname "$0")/lib.sh"
ensure_node
ensure_postgres
ensure_npm_packages
cd "$ROOT"
"$NODE" node_modules/typescript/bin/tsc -p tsconfig.json --noEmit
exec "$NODE" scripts/run-tests.mjs "$@"
