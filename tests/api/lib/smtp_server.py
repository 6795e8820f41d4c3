#!/usr/bin/env python3
"""A real SMTP server (aiosmtpd) for Kontor's email tests.

Every message that arrives is parsed with Python's email package (a real MIME
parser) and appended as one JSON line to OUT: envelope, headers, the text and
HTML alternatives, attachments (base64) and the raw message.
usage: smtp_server.py PORT OUT [--auth USER:PASSWORD] [--fail-rcpt SUBSTRING:CODE]
Prints "ready" once listening; runs until SIGTERM.
"""
import argparse
import base64
import email
import email.policy
import json
import signal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def parse(raw: bytes) -> dict:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    out = {"headers": {k: str(v) for k, v in msg.items()}, "text": None, "html": None,
           "attachments": [], "content_type": msg.get_content_type()}
    for part in msg.walk():
        if part.is_multipart():
            continue
        disposition = part.get_content_disposition()
        if disposition == "attachment":
            out["attachments"].append({
                "filename": part.get_filename(), "content_type": part.get_content_type(),
                "data": base64.b64encode(part.get_payload(decode=True) or b"").decode()})
        elif part.get_content_type() == "text/plain" and out["text"] is None:
            out["text"] = part.get_content()
        elif part.get_content_type() == "text/html" and out["html"] is None:
            out["html"] = part.get_content()
    return out


class Handler:
    def __init__(self, out_path, fail_rcpt):
        self.out_path = out_path
        self.fail_rcpt = fail_rcpt

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        for needle, code in self.fail_rcpt:
            if needle in address:
                return f"{code} mailbox unavailable for {address}"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        record = parse(envelope.original_content or envelope.content)
        record["mail_from"] = envelope.mail_from
        record["rcpt_tos"] = envelope.rcpt_tos
        record["raw"] = (envelope.original_content or envelope.content).decode("utf-8", "replace")
        record["session"] = id(session)
        with open(self.out_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        return "250 Message accepted for delivery"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("out")
    ap.add_argument("--auth")
    ap.add_argument("--fail-rcpt", action="append", default=[])
    a = ap.parse_args()
    fail = [(x.rsplit(":", 1)[0], int(x.rsplit(":", 1)[1])) for x in a.fail_rcpt]
    kwargs = {}
    if a.auth:
        user, password = a.auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = isinstance(auth_data, LoginPassword) and \
                auth_data.login.decode() == user and auth_data.password.decode() == password
            return AuthResult(success=ok)
        kwargs = {"authenticator": authenticator, "auth_required": True,
                  "auth_require_tls": False}
    controller = Controller(Handler(a.out, fail), hostname="127.0.0.1", port=a.port, **kwargs)
    controller.start()
    print("ready", flush=True)
    signal.sigwait([signal.SIGTERM, signal.SIGINT])
    controller.stop()


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM, signal.SIGINT])
    main()
