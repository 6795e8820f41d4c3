# Shared by the client-hub benchmarks (sourced): a work directory, cleanup,
# and one Kontor server per database with a bench admin and API token.
#   bench_setup PREFIX             work dir + EXIT trap (stops kontor and PostgreSQL)
#   bench_db DB                    sets url (sqlite in the work dir, or a fresh PostgreSQL)
#   bench_serve                    admin + token (sets token), starts kontor (sets port, pid)
#   bench_stop                     stops that kontor
pid=""
bench_setup() {
  work=$(mktemp -d "/tmp/$1.XXXXXX")
  trap bench_cleanup EXIT
}
bench_cleanup() {
  [[ -n $pid ]] && kill "$pid" 2>/dev/null || true
  [[ -n ${KONTOR_TEST_PG_DIR:-} ]] && tests/pg.sh stop
  rm -rf "$work"
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
bench_db() {
  if [[ $1 == postgres ]]; then
    [[ -n ${KONTOR_TEST_PG_DIR:-} ]] || eval "$(tests/pg.sh start)"
    url=$KONTOR_TEST_PG_URL
  else
    url="sqlite:$work/kontor.db"
  fi
  "$BIN" migrate --db "$url" >/dev/null 2>&1
}
bench_serve() {
  echo -n "bench-password-1" | "$BIN" admin create --email bench@example.com --password-stdin --db "$url" >/dev/null
  token=$("$BIN" token create --email bench@example.com --name bench --db "$url" 2>/dev/null)
  port=$(free_port)
  KONTOR_JOBS_ENABLED=false KONTOR_LOG_LEVEL=warn "$BIN" serve --db "$url" --listen "127.0.0.1:$port" 2>"$work/serve.log" &
  pid=$!
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
}
bench_stop() {
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  pid=""
}
# One campaign benchmark (bench/push.sh, bench/email.sh): bench admin and
# token, Kontor started with the given environment, N customers loaded by
# bench/campaign.py, then a fresh Kontor (so peak RSS is the campaign's own)
# sends the campaign while campaign.py reads the sink's /stats.
#   bench_campaign CHANNEL STATS_PORT NOTE [VAR=value ...]
bench_campaign() {
  local channel=$1 stats_port=$2 note=$3
  shift 3
  local env=("$@")
  echo -n "bench-password-1" | "$BIN" admin create --email bench@example.com --password-stdin --db "$url" >/dev/null
  token=$("$BIN" token create --email bench@example.com --name bench --db "$url" 2>/dev/null)
  port=$(free_port)
  local mode
  for mode in setup run; do
    env KONTOR_LOG_LEVEL=warn "${env[@]}" \
      "$BIN" serve --db "$url" --listen "127.0.0.1:$port" 2>>"$work/serve.log" &
    pid=$!
    for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
    [[ $mode == run ]] && echo "  $note"
    python3 bench/campaign.py "$mode" "$channel" "$port" "$token" "$N" "$stats_port" "$pid" "${url#sqlite:}"
    [[ $mode == setup ]] && bench_stop
  done
}
