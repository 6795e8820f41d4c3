#!/usr/bin/env bash
# Starts a throwaway PostgreSQL 15 cluster in a temporary directory, as a
# non-root user, on a free loopback port.
#   tests/pg.sh start   prints `export KONTOR_TEST_PG_URL=...; export KONTOR_TEST_PG_DIR=...`
#   tests/pg.sh stop    stops the cluster in $KONTOR_TEST_PG_DIR and removes it
set -euo pipefail
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[[ -x $PGBIN/initdb ]] || { echo "pg.sh: PostgreSQL server binaries not found" >&2; exit 1; }

as_pg() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-}" in
  start)
    dir=$(mktemp -d /tmp/kontor-pg.XXXXXX)
    [[ $(id -u) -eq 0 ]] && chown postgres: "$dir"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    as_pg "$PGBIN/initdb" -D "$dir/data" -A trust -U kontor --no-sync -E UTF8 >"$dir/initdb.log" 2>&1 ||
      { cat "$dir/initdb.log" >&2; exit 1; }
    # fsync off: the cluster lives for one test run; Kontor's own durability
    # tests kill Kontor, not PostgreSQL.
    as_pg "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
      start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    echo "export KONTOR_TEST_PG_DIR=$dir"
    echo "export KONTOR_TEST_PG_URL=postgres://kontor@127.0.0.1:$port/postgres"
    ;;
  stop)
    dir=${KONTOR_TEST_PG_DIR:?}
    as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
