"""deploy/sms_relay.py: hallq's signed events in, one text message per event out (docs/sms.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import requests
from support.env import ROOT
from support.receiver import SECRET, Receiver
from support.server import free_port

from server.engine.outbound import headers


@pytest.fixture
def sms_api() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def test_the_relay_checks_the_signature_sends_one_message_per_event_and_fails_while_the_api_is_down(
    sms_api: Receiver,
) -> None:
    port = free_port()
    env = {**os.environ, "HALLQ_SECRET": SECRET, "SMS_API_URL": sms_api.url("/send"), "SMS_API_TOKEN": "tok-1",
           "SMS_SIGN": "【测试中心】", "RELAY_PORT": str(port)}  # fmt: skip
    relay = subprocess.Popen([sys.executable, str(ROOT / "deploy" / "sms_relay.py")], env=env)
    url = f"http://127.0.0.1:{port}/hallq"
    try:
        event = {"id": "e1", "event": "ticket.near_front", "at": "2026-12-07T09:00:00+08:00", "hall": "town",
                 "data": {"ticket": "t1", "number": "A012", "phone": "13812345678"}}  # fmt: skip
        body = json.dumps(event, ensure_ascii=False).encode()
        signed = headers("e1", "ticket.near_front", SECRET, int(time.time()), body)
        deadline = time.monotonic() + 20
        while True:
            try:
                first = requests.post(url, data=body, headers=signed, timeout=5)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "the relay did not start"
                time.sleep(0.1)
        assert first.status_code == 200
        [sms] = sms_api.ok("/send")
        assert sms.headers["Authorization"] == "Bearer tok-1"
        assert sms.json() == {"to": "13812345678", "text": "【测试中心】您的 A012 号即将到号，请回到大厅留意叫号。"}
        assert requests.post(url, data=body, headers=signed, timeout=5).status_code == 200  # sent again: no 2nd SMS
        assert len(sms_api.ok("/send")) == 1
        forged = {**signed, "X-Hallq-Signature": "sha256=" + "0" * 64}
        assert requests.post(url, data=body, headers=forged, timeout=5).status_code == 401
        sms_api.failures = 1  # the vendor is down: hallq is told to try again
        other = body.replace(b'"e1"', b'"e2"')
        signed2 = headers("e2", "ticket.near_front", SECRET, int(time.time()), other)
        assert requests.post(url, data=other, headers=signed2, timeout=5).status_code == 502
        assert requests.post(url, data=other, headers=signed2, timeout=5).status_code == 200
        assert len(sms_api.ok("/send")) == 2
    finally:
        relay.kill()
        relay.wait()
