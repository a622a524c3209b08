#!/usr/bin/env bash
# Installs what the tests need and runs the whole suite; the last line is "N passed, N failed".
source "$(dirname "$0")/lib.sh"
ensure_node
ensure_postgres
ensure_npm_packages
ensure_chromium
ensure_minio
ensure_pdftotext
ensure_promtool
ensure_stripe_mock
ensure_knot
ensure_python_venv
ensure_caddy
ensure_killbill
ensure_docker
ensure_kube_control_plane
ensure_helm
cd "$ROOT"
"$NODE" node_modules/typescript/bin/tsc -p tsconfig.json --noEmit
# Before the web typecheck: the build generates the dashboard's API types (build_web).
build_web
"$NODE" node_modules/typescript/bin/tsc -p web/tsconfig.json --noEmit
"$NODE" node_modules/@biomejs/biome/bin/biome check src test bench web/src
exec "$NODE" scripts/run-tests.mjs "$@"
