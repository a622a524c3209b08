#!/usr/bin/env bash
# Installs what the platform needs, builds it and serves it (PORT, default 8080).
source "$(dirname "$0")/lib.sh"
ensure_node
ensure_postgres
ensure_npm_packages
ensure_odoo_prerequisites
build
cd "$ROOT"
exec "$NODE" dist/cli/main.js serve "$@"
