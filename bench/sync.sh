#!/usr/bin/env bash
# Bulk sync benchmark: N customers (default 1,000,000) through
# POST /v1/customers/batch in batches of 10,000, on SQLite and PostgreSQL:
# create, replay of the same data (unchanged), and an update of every customer.
#   bench/sync.sh [KONTOR_BIN]     (N=1000000, BATCH=10000, STREAMS=2, DBS="sqlite postgres")
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(readlink -f "${1:-build/release/kontor}")
N=${N:-1000000}
BATCH=${BATCH:-10000}
STREAMS=${STREAMS:-2}
DBS=${DBS:-sqlite postgres}
work=$(mktemp -d /tmp/kontor-syncbench.XXXXXX)
pid=""
cleanup() {
  [[ -n $pid ]] && kill "$pid" 2>/dev/null || true
  [[ -n ${KONTOR_TEST_PG_DIR:-} ]] && tests/pg.sh stop
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

for db in $DBS; do
  if [[ $db == postgres ]]; then
    eval "$(tests/pg.sh start)"
    url=$KONTOR_TEST_PG_URL
  else
    url="sqlite:$work/kontor.db"
  fi
  "$BIN" migrate --db "$url" >/dev/null 2>&1
  echo -n "bench-password-1" | "$BIN" admin create --email bench@example.com --password-stdin --db "$url" >/dev/null
  token=$("$BIN" token create --email bench@example.com --name bench --db "$url" 2>/dev/null)
  port=$(free_port)
  KONTOR_JOBS_ENABLED=false KONTOR_LOG_LEVEL=warn "$BIN" serve --db "$url" --listen "127.0.0.1:$port" 2>"$work/serve.log" &
  pid=$!
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
  echo "$db ($STREAMS concurrent connections, $BATCH customers per call):"
  python3 bench/sync_client.py "$port" "$token" "$N" "$BATCH" "$STREAMS"
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
done
echo
echo "target: >= 50,000 customers/s created on SQLite"
