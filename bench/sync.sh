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
source bench/lib.sh
bench_setup kontor-syncbench

for db in $DBS; do
  bench_db "$db"
  bench_serve
  echo "$db ($STREAMS concurrent connections, $BATCH customers per call):"
  python3 bench/sync_client.py "$port" "$token" "$N" "$BATCH" "$STREAMS"
  bench_stop
done
echo
echo "target: >= 50,000 customers/s created on SQLite"
