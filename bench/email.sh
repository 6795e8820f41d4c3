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
bench_campaign email "$sink_port" "$WORKERS SMTP connections (messaging.workers.bulk)" \
  KONTOR_MESSAGING_EMAIL_PROVIDER=smtp KONTOR_MESSAGING_SMTP_URL="smtp://127.0.0.1:$smtp_port" \
  KONTOR_MESSAGING_SMTP_STARTTLS=off KONTOR_MESSAGING_SMTP_FROM="Market Letter <letter@example.com>" \
  KONTOR_MESSAGING_PUBLIC_URL="https://kontor.example.com" KONTOR_MESSAGING_WORKERS_BULK="$WORKERS"
