#!/usr/bin/env python3
"""A relay from hallq's webhooks to an HTTP SMS API (docs/sms.md). Standard library only.

hallq POSTs signed events here ([[hall.webhook]] url = "http://127.0.0.1:8090/hallq"); the relay checks the
signature, turns an event that carries a phone number into one text message, and POSTs it to the SMS API.
It answers 2xx only once the SMS API accepted the message, so hallq retries (with backoff) while the API is
down; an event id already relayed is answered 200 again without a second message (hallq sends at least once).

Configuration is read from the environment only; no vendor's address or key is in this file:
    HALLQ_SECRET    the webhook's `secret`
    SMS_API_URL     the SMS API's send address (https://...)
    SMS_API_TOKEN   its credential, sent as "Authorization: Bearer <token>"
    SMS_SIGN        optional, the 短信签名 your vendor registered, e.g. 【某某政务服务中心】
    RELAY_PORT      optional, default 8090 (listens on 127.0.0.1 only)
Adapt `message()` to your vendor's body (template id and parameters instead of free text, for instance).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TEXTS = {
    "ticket.near_front": "{sign}您的 {number} 号即将到号，请回到大厅留意叫号。",
    "ticket.called": "{sign}请 {number} 号到 {counter} 号窗口办理。",
    "appointment.reminder": "{sign}您预约的业务将于 {start} 开始，请按时到大厅签到。",
}
MAX_BODY = 64 * 1024
seen: dict[str, float] = {}  # event ids relayed in the last day


def verify(secret: str, timestamp: str, signature: str, body: bytes) -> bool:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    fresh = timestamp.isdigit() and abs(time.time() - int(timestamp)) <= 300
    return fresh and hmac.compare_digest("sha256=" + mac, signature)


def message(event: dict) -> tuple[str, str] | None:
    """(phone, text) for an event worth a message, else None."""
    data = event.get("data") or {}
    phone, text = data.get("phone"), TEXTS.get(event.get("event", ""))
    if not phone or not text:
        return None
    values = {k: v for k, v in data.items() if isinstance(v, (str, int))}
    return str(phone), text.format_map({"sign": os.environ.get("SMS_SIGN", ""), "number": "", "counter": "",
                                        "start": "", **values})  # fmt: skip


def send(phone: str, text: str) -> bool:
    body = json.dumps({"to": phone, "text": text}, ensure_ascii=False).encode()
    url = os.environ["SMS_API_URL"]
    if not url.startswith(("https://", "http://")):
        raise SystemExit("SMS_API_URL must be an http(s) address")
    request = urllib.request.Request(  # noqa: S310 - checked just above
        url,
        data=body,
        headers={"Content-Type": "application/json", "Authorization": "Bearer " + os.environ["SMS_API_TOKEN"]},
    )
    try:
        with urllib.request.urlopen(request, timeout=8) as answer:  # noqa: S310 - the operator's own address
            return 200 <= answer.status < 300
    except OSError:
        return False


class Relay(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            return self.answer(413)
        body = self.rfile.read(length)
        h = self.headers
        if not verify(os.environ["HALLQ_SECRET"], h.get("X-Hallq-Timestamp", ""), h.get("X-Hallq-Signature", ""), body):
            return self.answer(401)
        event_id = h.get("X-Hallq-Delivery", "")
        if event_id in seen:
            return self.answer(200)
        found = message(json.loads(body))
        if found is not None and not send(*found):
            return self.answer(502)  # hallq tries again later
        now = time.time()
        seen[event_id] = now
        for old in [k for k, at in seen.items() if now - at > 86400]:
            del seen[old]
        return self.answer(200)

    def answer(self, status: int) -> None:
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, fmt: str, *args: object) -> None:  # no phone numbers in the log
        pass


if __name__ == "__main__":
    port = int(os.environ.get("RELAY_PORT", "8090"))
    ThreadingHTTPServer(("127.0.0.1", port), Relay).serve_forever()
