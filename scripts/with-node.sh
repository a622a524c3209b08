#!/usr/bin/env bash
# Runs the given arguments with the project's Node.js (>= 22), installing it when needed.
source "$(dirname "$0")/lib.sh"
ensure_node
cd "$ROOT"
exec "$NODE" "$@"
