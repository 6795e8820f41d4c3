"""Drives one campaign benchmark against a running Kontor (bench/push.sh,
bench/email.sh): `setup` loads N customers (and, for push, their devices);
`run` sends one campaign to all of them and prints messages/s end to end
(schedule → last message at the sink), time to first message, Kontor's peak
RSS and CPU seconds. The sink answers GET /stats with
{"received", "bad", "first_ms", "last_ms"}.

usage: campaign.py setup|run CHANNEL PORT TOKEN N SINK_PORT KONTOR_PID SQLITE_DB
"""
import json
import sqlite3
import sys
import time
import urllib.request

mode, channel, port, token = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
n, sink_port, pid, db = int(sys.argv[5]), sys.argv[6], sys.argv[7], sys.argv[8]
FIRST = ["Anna", "Jürgen", "Élodie", "Marco", "Sofia", "Liam", "Noah", "Emma"]
LAST = ["Müller", "Dupont", "Rossi", "Smith", "García", "Novák", "Berg", "Keller"]


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


def customer(i):
    c = {"external_id": f"b{i}", "tags": ["bench"], "first_name": FIRST[i % 8],
         "last_name": LAST[(i // 8) % 8], "language": "en",
         "consent": {channel: {"status": "granted"}}}
    if channel == "email":
        c["email"] = f"reader{i}@example.com"
        c["attributes"] = {"portfolio": 1000 + i % 9000, "tier": ["gold", "silver"][i % 2]}
    return c


if mode == "setup":
    t = time.time()
    for start in range(0, n, 10000):
        r = api("POST", "/v1/customers/batch", [customer(i) for i in range(start, min(n, start + 10000))])
        assert r["failed"] == 0, r
    if channel == "push":
        # The device API takes one device at a time: setup, not what is measured.
        con = sqlite3.connect(db, timeout=60)
        con.execute("INSERT INTO devices (installation_id, customer_id, platform, token, status, "
                    "last_seen_at, created_at, updated_at) SELECT 'inst-' || id, id, 'android', "
                    "'tok-' || id, 'active', 0, 0, 0 FROM customers WHERE external_id LIKE 'b%'")
        con.commit()
        con.close()
    print(f"  setup: {n:,} customers{' and devices' if channel == 'push' else ''} in {time.time() - t:.1f} s")
    sys.exit(0)

seg = api("PUT", "/v1/segments/bench", {"name": "bench", "rule": {"tag": "bench"}})["id"]
if channel == "push":
    api("PUT", "/v1/templates/flash", {
        "name": "Flash", "channel": "push", "default_language": "en",
        "languages": {"en": {"title": "Flash sale",
                             "body": "{{campaign.offer}} for {{customer.external_id}}"}},
        "sample": {"campaign": {"offer": "x"}}})
else:
    api("PUT", "/v1/templates/flash", {
        "name": "Weekly letter", "channel": "email", "default_language": "en",
        "languages": {"en": {
            "subject": "{{customer.first_name}}, your weekly market letter",
            "html": "<html><body><h1>Hello {{customer.first_name}} {{customer.last_name}}</h1>"
                    "<p>{{campaign.intro}}</p><p>Your portfolio: {{customer.attributes.portfolio}} "
                    "EUR ({{customer.attributes.tier}})</p>" + "<p>Market commentary paragraph. </p>" * 20
                    + "</body></html>",
            "text": "Hello {{customer.first_name}} {{customer.last_name}}\n\n{{campaign.intro}}\n"
                    "Your portfolio: {{customer.attributes.portfolio}} EUR\n" + "Market commentary.\n" * 20}},
        "sample": {"campaign": {"intro": "x"}}})
c = api("POST", "/v1/campaigns", {"name": "bench", "channel": channel, "template_key": "flash",
                                  "audience": {"segment_id": seg},
                                  "data": {"offer": "20% off", "intro": "Markets rallied this week."}})
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
# Counts while sending may be a second old; the campaign's own check marks it
# completed a moment after its last message (not part of what is measured).
deadline = time.time() + 30
state = api("GET", f"/v1/campaigns/{c['id']}")
while state["state"] == "sending" and time.time() < deadline:
    time.sleep(0.5)
    state = api("GET", f"/v1/campaigns/{c['id']}")
elapsed = s["last_ms"] / 1000 - t0
print(f"  received by the sink: {s['received']:,} (bad {s['bad']}); campaign {state['state']} {json.dumps(state['counts'])}")
print(f"  time to first message {s['first_ms'] / 1000 - t0:8.2f} s")
print(f"  end to end            {elapsed:8.2f} s   {s['received'] / elapsed:>10,.0f} messages/s")
print(f"  Kontor peak RSS       {int(hwm) / 1024:8.0f} MB")
print(f"  Kontor CPU            {cpu:8.1f} s   ({cpu / elapsed:.2f} cores)")
