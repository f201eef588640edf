#!/usr/bin/env bash
# The frontend's unit tests (node's built-in runner, no npm packages); skipped with a message without node.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v node >/dev/null 2>&1; then
  echo "=== node not found: frontend unit tests (tests/frontend/*.test.mjs) skipped ==="
  exit 0
fi
echo "=== frontend unit tests (node --test tests/frontend/) ==="
node --test --test-reporter=spec tests/frontend/
