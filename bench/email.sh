#!/usr/bin/env bash
# Email campaign benchmark: N personalized emails (default 100,000; HTML and
# text alternatives, the recipient's name and attributes in subject and body)
# through the SMTP provider to a local SMTP server (aiosmtpd, bench/smtp_sink.py),
# on SQLite. Prints messages/s end to end (schedule → last message accepted by
# the server), time to first message, Kontor's peak RSS and CPU seconds.
#   bench/email.sh [KONTOR_BIN]     (N=100000, WORKERS=8 SMTP connections)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(readlink -f "${1:-build/release/kontor}")
N=${N:-100000}
WORKERS=${WORKERS:-8}
source bench/lib.sh
bench_setup kontor-emailbench

smtp_port=$(free_port)
sink_port=$(free_port)
/usr/bin/python3 bench/smtp_sink.py "$smtp_port" "$sink_port" &
sink_pid=$!
trap 'kill $sink_pid 2>/dev/null || true; bench_cleanup' EXIT
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$sink_port/stats" >/dev/null && break; sleep 0.1; done

bench_db sqlite
echo -n "bench-password-1" | "$BIN" admin create --email bench@example.com --password-stdin --db "$url" >/dev/null
token=$("$BIN" token create --email bench@example.com --name bench --db "$url" 2>/dev/null)
port=$(free_port)
serve() {
  KONTOR_LOG_LEVEL=warn KONTOR_MESSAGING_EMAIL_PROVIDER=smtp \
    KONTOR_MESSAGING_SMTP_URL="smtp://127.0.0.1:$smtp_port" KONTOR_MESSAGING_SMTP_STARTTLS=off \
    KONTOR_MESSAGING_SMTP_FROM="Market Letter <letter@example.com>" \
    KONTOR_MESSAGING_PUBLIC_URL="https://kontor.example.com" \
    KONTOR_MESSAGING_WORKERS_BULK="$WORKERS" \
    "$BIN" serve --db "$url" --listen "127.0.0.1:$port" 2>>"$work/serve.log" &
  pid=$!
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
}
serve
python3 bench/campaign.py setup email "$port" "$token" "$N" "$sink_port" "$pid" "${url#sqlite:}"
# A fresh process for the campaign, so peak RSS is the campaign's own.
bench_stop
serve
echo "  $WORKERS SMTP connections (messaging.workers.bulk)"
python3 bench/campaign.py run email "$port" "$token" "$N" "$sink_port" "$pid" "${url#sqlite:}"
