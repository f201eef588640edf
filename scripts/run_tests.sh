#!/usr/bin/env bash
# The whole suite: once on SQLite, then again on PostgreSQL when a server answers on 127.0.0.1:5432.
# A private redis-server on a unix socket under var/ serves the channel layer and Celery, so the
# suite needs nothing that is not started here (REDIS_URL overrides it).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
mkdir -p var
run_dir=$(mktemp -d "$PWD/var/test-XXXXXX")
cleanup() {
  if [[ -n ${redis_pid:-} ]]; then kill "$redis_pid" 2>/dev/null || true; wait "$redis_pid" 2>/dev/null || true; fi
  rm -rf "$run_dir"
}
trap cleanup EXIT
if [[ -z ${REDIS_URL:-} ]]; then
  redis-server --port 0 --unixsocket "$run_dir/redis.sock" --unixsocketperm 700 --save '' --appendonly no \
    --daemonize no --logfile "$run_dir/redis.log" &
  redis_pid=$!
  for _ in $(seq 50); do [[ -S $run_dir/redis.sock ]] && break; sleep 0.1; done
  export REDIS_URL="unix://$run_dir/redis.sock"
fi
export CLICKLABEL_TEST_RUN_DIR="$run_dir"

echo "=== test suite on SQLite ==="
unset DATABASE_URL
$PY -m pytest "$@"
scripts/run_node_tests.sh

if $PY - <<'PYEOF'
import socket, sys
s = socket.socket(); s.settimeout(1)
try:
    s.connect(("127.0.0.1", 5432))
except OSError:
    sys.exit(1)
PYEOF
then
  echo "=== test suite on PostgreSQL (127.0.0.1:5432) ==="
  DATABASE_URL=${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/clicklabel} $PY -m pytest -m "not e2e and not parity and not slow" "$@"
else
  echo "=== no PostgreSQL on 127.0.0.1:5432: SQLite only ==="
fi
