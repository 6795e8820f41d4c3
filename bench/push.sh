#!/usr/bin/env bash
# Push campaign benchmark: a campaign to N devices (default 1,000,000) through
# the FCM HTTP v1 provider to bench/fcm_sink (a fast local FCM + OAuth token
# stand-in), on SQLite. Prints messages/s end to end (schedule → last message
# at the sink), time to first message, Kontor's peak RSS and CPU seconds.
#   bench/push.sh [KONTOR_BIN]     (N=1000000)
# Customers go in through POST /v1/customers/batch; their devices are written
# with one INSERT ... SELECT (the device API takes one at a time): setup, not
# what is measured.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(readlink -f "${1:-build/release/kontor}")
N=${N:-1000000}
source bench/lib.sh
bench_setup kontor-pushbench

g++ -std=c++20 -O2 -DNDEBUG bench/fcm_sink.cpp -o "$work/fcm_sink" -pthread
sink_port=$(free_port)
"$work/fcm_sink" "$sink_port" >/dev/null &
sink_pid=$!
trap 'kill $sink_pid 2>/dev/null || true; bench_cleanup' EXIT

openssl genrsa -out "$work/key.pem" 2048 2>/dev/null
python3 - "$work" "$sink_port" <<'EOF'
import json, sys
work, port = sys.argv[1], sys.argv[2]
json.dump({"type": "service_account", "project_id": "bench", "private_key_id": "k1",
           "private_key": open(f"{work}/key.pem").read(),
           "client_email": "bench@bench.iam.gserviceaccount.com",
           "token_uri": f"http://127.0.0.1:{port}/token"}, open(f"{work}/sa.json", "w"))
EOF

bench_db sqlite
echo -n "bench-password-1" | "$BIN" admin create --email bench@example.com --password-stdin --db "$url" >/dev/null
token=$("$BIN" token create --email bench@example.com --name bench --db "$url" 2>/dev/null)
port=$(free_port)
# FCM's default quota (600,000/min, Kontor's default token bucket) is 10,000
# messages/s; the target is three times that, as for a project whose quota
# Google has raised, so the bucket is set to 3,000,000/min here.
serve() {
  KONTOR_LOG_LEVEL=warn KONTOR_MESSAGING_PUSH_PROVIDER=fcm KONTOR_MESSAGING_RATE_LIMIT_FCM=3000000 \
    KONTOR_MESSAGING_FCM_SERVICE_ACCOUNT_FILE="$work/sa.json" \
    KONTOR_MESSAGING_FCM_ENDPOINT="http://127.0.0.1:$sink_port" \
    "$BIN" serve --db "$url" --listen "127.0.0.1:$port" 2>>"$work/serve.log" &
  pid=$!
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
}
serve
python3 bench/campaign.py setup push "$port" "$token" "$N" "$sink_port" "$pid" "${url#sqlite:}"
# A fresh process for the campaign, so peak RSS is the campaign's own.
bench_stop
serve
python3 bench/campaign.py run push "$port" "$token" "$N" "$sink_port" "$pid" "${url#sqlite:}"
echo
echo "target: >= 30,000 messages/s, peak RSS <= 512 MB"
