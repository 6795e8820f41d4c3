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
serve() {
  KONTOR_LOG_LEVEL=warn KONTOR_MESSAGING_PUSH_PROVIDER=fcm \
    KONTOR_MESSAGING_FCM_SERVICE_ACCOUNT_FILE="$work/sa.json" \
    KONTOR_MESSAGING_FCM_ENDPOINT="http://127.0.0.1:$sink_port" \
    "$BIN" serve --db "$url" --listen "127.0.0.1:$port" 2>>"$work/serve.log" &
  pid=$!
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
}
cat >"$work/push.py" <<'EOF'
import json, sqlite3, sys, time, urllib.request
mode, port, token, n, sink_port, pid, db = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6], sys.argv[7]

def api(method, path, body=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Authorization": f"Bearer {token}",
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as r:
        return json.loads(r.read() or b"null")

def sink():
    with urllib.request.urlopen(f"http://127.0.0.1:{sink_port}/stats") as r:
        return json.loads(r.read())

def cpu_seconds():
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / 100.0  # utime + stime, clock ticks

if mode == "setup":
    t = time.time()
    for start in range(0, n, 10000):
        items = [{"external_id": f"p{i}", "tags": ["push"], "consent": {"push": {"status": "granted"}}}
                 for i in range(start, min(n, start + 10000))]
        r = api("POST", "/v1/customers/batch", items)
        assert r["failed"] == 0, r
    con = sqlite3.connect(db, timeout=60)
    con.execute("INSERT INTO devices (installation_id, customer_id, platform, token, status, "
                "last_seen_at, created_at, updated_at) SELECT 'inst-' || id, id, 'android', "
                "'tok-' || id, 'active', 0, 0, 0 FROM customers WHERE external_id LIKE 'p%'")
    con.commit()
    con.close()
    print(f"  setup: {n:,} customers and devices in {time.time() - t:.1f} s")
    sys.exit(0)

seg = api("PUT", "/v1/segments/push", {"name": "push", "rule": {"tag": "push"}})["id"]
api("PUT", "/v1/templates/flash", {"name": "Flash", "channel": "push", "default_language": "en",
    "languages": {"en": {"title": "Flash sale", "body": "{{campaign.offer}} for {{customer.external_id}}"}},
    "sample": {"campaign": {"offer": "x"}}})
c = api("POST", "/v1/campaigns", {"name": "bench", "channel": "push", "template_key": "flash",
        "audience": {"segment_id": seg}, "data": {"offer": "20% off"}})
cpu0 = cpu_seconds()
t0 = time.time()
api("POST", f"/v1/campaigns/{c['id']}/schedule")
state = None
while True:
    s = sink()
    if s["received"] >= n:
        break
    state = api("GET", f"/v1/campaigns/{c['id']}")
    if state["state"] in ("completed", "cancelled") or time.time() - t0 > 3600:
        break
    time.sleep(0.5)
s = sink()
cpu = cpu_seconds() - cpu0
hwm = [l for l in open(f"/proc/{pid}/status") if l.startswith("VmHWM")][0].split()[1]
state = api("GET", f"/v1/campaigns/{c['id']}")
elapsed = s["last_ms"] / 1000 - t0
print(f"  received by FCM:      {s['received']:,} (bad requests {s['bad']}); campaign {state['state']} {json.dumps(state['counts'])}")
print(f"  time to first message {s['first_ms'] / 1000 - t0:8.2f} s")
print(f"  end to end            {elapsed:8.2f} s   {s['received'] / elapsed:>10,.0f} messages/s")
print(f"  Kontor peak RSS       {int(hwm) / 1024:8.0f} MB")
print(f"  Kontor CPU            {cpu:8.1f} s   ({cpu / elapsed:.2f} cores)")
EOF
serve
python3 "$work/push.py" setup "$port" "$token" "$N" "$sink_port" "$pid" "${url#sqlite:}"
# A fresh process for the campaign, so peak RSS is the campaign's own.
bench_stop
serve
python3 "$work/push.py" run "$port" "$token" "$N" "$sink_port" "$pid" "${url#sqlite:}"
echo
echo "target: >= 30,000 messages/s, peak RSS <= 512 MB"
