#!/usr/bin/env bash
# Event ingestion benchmark: wrk with 64 connections POSTing events
# (authenticated, validated, group-committed, durable on return) to Kontor
# on SQLite, with seeded customers and a trigger whose messages the
# processor queues and the dispatcher sends (capture provider) during the
# run. Prints events/s and p99 latency against the targets.
#   bench/events.sh [KONTOR_BIN]   (DURATION=20s, CONNS=64, CUSTOMERS=1000)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-build/release/kontor}
DURATION=${DURATION:-20s}
CONNS=${CONNS:-64}
export CUSTOMERS=${CUSTOMERS:-1000}
BIN=$(readlink -f "$BIN")
source bench/lib.sh
bench_setup kontor-bench-events
bench_db sqlite

# Customers straight into the database (the benchmark is about events).
sqlite3 "${url#sqlite:}" "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $CUSTOMERS)
  INSERT INTO customers (external_id, first_name, email, phone, language, created_at, updated_at)
  SELECT 'B-' || i, 'Bench ' || i, 'b' || i || '@example.com', '+49301' || (100000 + i), 'en', 0, 0 FROM n;"
bench_serve
api() { curl -fsS -X "$1" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' "http://127.0.0.1:$port$2" -d "$3" >/dev/null; }
api PUT /v1/templates/shipped '{"name":"Shipped","channel":"sms","default_language":"en","languages":{"en":{"text":"Order {{data.order}} shipped, {{customer.first_name}}"}}}'
api PUT /v1/templates/shipped.push '{"name":"Shipped (push)","channel":"push","default_language":"en","languages":{"en":{"title":"Shipped","body":"Order {{data.order}}"}}}'
[[ ${TRIGGER:-1} == 1 ]] && api PUT /v1/triggers/shipped '{"event_type":"order.shipped","template_key":"shipped","channels":["push","sms"],"condition":{"field":"data.total","op":"gte","value":400}}'

out=$(wrk -t2 -c"$CONNS" -d"$DURATION" --latency -s bench/events.lua -H "Authorization: Bearer $token" "http://127.0.0.1:$port/v1/events")
rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
p99=$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; print v}' <<<"$out")
p50=$(awk '$1 == "50%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; print v}' <<<"$out")
errors=$(awk '/Non-2xx or 3xx responses:/ {print $5}' <<<"$out")
total=$(awk '/requests in/ {print $1}' <<<"$out")
bench_stop
stored=$(sqlite3 "${url#sqlite:}" "SELECT COUNT(*) FROM events")
queued=$(sqlite3 "${url#sqlite:}" "SELECT COUNT(*) FROM messages")

printf '\n%-40s %12s %10s %10s\n' "POST /v1/events (wrk -c$CONNS, $DURATION)" "events/s" "p50 ms" "p99 ms"
printf '%-40s %12.0f %10.2f %10.2f\n' "kontor sqlite" "$rps" "$p50" "$p99"
echo "requests: $total, non-2xx: ${errors:-0}, events stored: $stored, messages queued by the trigger: $queued"
ok_rps=$(awk -v r="$rps" 'BEGIN{print (r >= 20000) ? "yes" : "NO"}')
ok_p99=$(awk -v p="$p99" 'BEGIN{print (p < 10) ? "yes" : "NO"}')
echo "target: >= 20000 events/s: $ok_rps; p99 < 10 ms: $ok_p99"
