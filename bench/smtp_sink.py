#!/usr/bin/env python3
"""A real SMTP server (aiosmtpd) for bench/email.sh that accepts every message
and counts it; tests/api/lib/smtp_server.py is the one that parses and checks
what arrives. Stats as JSON at http://127.0.0.1:STATS_PORT/stats:
{"received", "bad", "first_ms", "last_ms", "bytes"}; "bad" counts messages
without the recipient's personalized greeting.

usage: smtp_sink.py SMTP_PORT STATS_PORT
"""
import http.server
import json
import sys
import threading
import time

from aiosmtpd.controller import Controller

stats = {"received": 0, "bad": 0, "first_ms": 0, "last_ms": 0, "bytes": 0}
lock = threading.Lock()


class Handler:
    async def handle_DATA(self, server, session, envelope):
        now = int(time.time() * 1000)
        body = envelope.original_content or envelope.content
        with lock:
            stats["received"] += 1
            stats["bytes"] += len(body)
            if b"Hello " not in body or not envelope.rcpt_tos:
                stats["bad"] += 1
            if not stats["first_ms"]:
                stats["first_ms"] = now
            stats["last_ms"] = now
        return "250 OK"


class Stats(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with lock:
            body = json.dumps(stats).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


controller = Controller(Handler(), hostname="127.0.0.1", port=int(sys.argv[1]),
                        data_size_limit=10 * 1024 * 1024)
controller.start()
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), Stats).serve_forever()
