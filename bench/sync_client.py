#!/usr/bin/env python3
"""Bulk-sync load for bench/sync.sh: N customers through POST /v1/customers/batch.

Bodies are generated before the clock starts; each pass sends every batch over
one keep-alive connection and prints the rate. Pass 1 creates, pass 2 replays
the same data (every item unchanged), pass 3 changes one field of every customer.
usage: sync_client.py PORT TOKEN N BATCH [STREAMS]
STREAMS connections send batches at once, as an upstream system syncing in
parallel would (default 2).
"""
import http.client
import json
import sys
import threading
import time

port, token, n, batch = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
streams = int(sys.argv[5]) if len(sys.argv) > 5 else 2


def customer(i, rev):
    return {
        "external_id": f"crm-{i}",
        "type": "individual",
        "salutation": "Frau" if i % 2 else "Herr",
        "first_name": f"First{i}",
        "last_name": f"Last{i}" if rev == 0 else f"Last{i}-{rev}",
        "email": f"c{i}@example.com",
        "phone": f"+49301{i:07d}",
        "language": "de",
        "country": "DE" if i % 3 else "AT",
        "time_zone": "Europe/Berlin",
        "attributes": {"risk": i % 10, "tier": "gold" if i % 4 == 0 else "basic", "advisor": f"a{i % 50}"},
        "tags": ["newsletter"] + (["vip"] if i % 10 == 0 else []),
        "consent": {"email": {"status": "granted" if i % 7 else "withdrawn", "source": "crm"}},
    }


def bodies(rev):
    out = []
    for start in range(0, n, batch):
        items = [customer(i, rev) for i in range(start, min(n, start + batch))]
        out.append(json.dumps(items, separators=(",", ":")).encode())
    return out


def run(label, bodies, expect):
    counts = {"created": 0, "updated": 0, "unchanged": 0, "failed": 0}
    lock = threading.Lock()
    errors = []
    queue = list(enumerate(bodies))

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        while True:
            with lock:
                if not queue or errors:
                    return
                _, b = queue.pop(0)
            conn.request("POST", "/v1/customers/batch", body=b, headers=headers)
            r = conn.getresponse()
            data = r.read()
            if r.status != 200:
                with lock:
                    errors.append(f"HTTP {r.status}: {data[:500]!r}")
                return
            res = json.loads(data)
            with lock:
                for k in counts:
                    counts[k] += res[k]

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(streams)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    dt = time.perf_counter() - t0
    if errors:
        sys.exit(errors[0])
    if counts[expect] != n:
        sys.exit(f"{label}: expected {n} {expect}, got {counts}")
    print(f"  {label:<22} {n:>9} customers {dt:8.2f} s {n / dt:>10,.0f} customers/s", flush=True)
    return n / dt


create = bodies(0)
run("create", create, "created")
run("replay (unchanged)", create, "unchanged")
del create
run("update (one field)", bodies(1), "updated")
