#!/usr/bin/env bash
# HTTP benchmark: wrk with 64 connections against Kontor's authenticated
# GET /v1/me and an authenticated small write (PATCH /v1/me, audited), and
# against nginx answering `return 200` on another loopback port in the same
# run, as the upper bound. Prints requests/s, p99 latency and the ratio.
#   bench/http.sh [KONTOR_BIN]   (DURATION=10s, CONNS=64, DBS="sqlite postgres")
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-build/release/kontor}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-64}
DBS=${DBS:-sqlite postgres}
BIN=$(readlink -f "$BIN")
work=$(mktemp -d /tmp/kontor-bench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [[ -n ${KONTOR_TEST_PG_DIR:-} ]] && tests/pg.sh stop
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 100); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }

# wrk → "rps p99_ms"
run_wrk() {
  local out
  out=$(wrk -t2 -c"$CONNS" -d"$DURATION" --latency "$@")
  local rps p99
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; print v}' <<<"$out")
  local errors
  errors=$(awk '/Non-2xx or 3xx responses:/ {print $5}' <<<"$out")
  [[ -n $errors ]] && echo "warning: $errors non-2xx responses" >&2
  echo "$rps $p99"
}

# nginx upper bound.
nport=$(free_port)
mkdir -p "$work/nginx"
cat >"$work/nginx/nginx.conf" <<CONF
worker_processes auto;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/nginx;
  proxy_temp_path $work/nginx;
  fastcgi_temp_path $work/nginx;
  uwsgi_temp_path $work/nginx;
  scgi_temp_path $work/nginx;
  server {
    listen 127.0.0.1:$nport;
    location / { default_type application/json; return 200 '{"status":"ok"}'; }
  }
}
CONF
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" -g 'daemon off;' &
pids+=($!)
wait_http "http://127.0.0.1:$nport/"
read -r nginx_rps nginx_p99 < <(run_wrk "http://127.0.0.1:$nport/")
kill "${pids[-1]}"; unset 'pids[-1]'

printf '\n%-34s %12s %10s %10s\n' "target (wrk -c$CONNS, $DURATION)" "req/s" "p99 ms" "vs nginx"
printf '%-34s %12.0f %10.2f %10s\n' "nginx return 200" "$nginx_rps" "$nginx_p99" "1.00"

cat >"$work/write.lua" <<'LUA'
wrk.method = "PATCH"
wrk.body = '{"preferences":{"theme":"dark","density":"compact"}}'
wrk.headers["Content-Type"] = "application/json"
LUA

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
  kport=$(free_port)
  KONTOR_JOBS_ENABLED=false "$BIN" serve --db "$url" --listen "127.0.0.1:$kport" 2>"$work/kontor-$db.log" &
  pids+=($!)
  wait_http "http://127.0.0.1:$kport/readyz"
  read -r r_rps r_p99 < <(run_wrk -H "Authorization: Bearer $token" "http://127.0.0.1:$kport/v1/me")
  read -r w_rps w_p99 < <(run_wrk -s "$work/write.lua" -H "Authorization: Bearer $token" "http://127.0.0.1:$kport/v1/me")
  kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true; unset 'pids[-1]'
  printf '%-34s %12.0f %10.2f %10.2f\n' "kontor $db GET /v1/me (token)" "$r_rps" "$r_p99" "$(awk -v a="$r_rps" -v b="$nginx_rps" "BEGIN{print a/b}")"
  printf '%-34s %12.0f %10.2f %10.2f\n' "kontor $db PATCH /v1/me (audited)" "$w_rps" "$w_p99" "$(awk -v a="$w_rps" -v b="$nginx_rps" "BEGIN{print a/b}")"
done
echo
echo "target: authenticated reads >= 0.50 of nginx, p99 < 5 ms"
