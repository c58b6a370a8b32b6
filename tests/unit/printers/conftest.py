"""Test data for the printer tests: one ordinary slip to vary with dataclasses.replace."""

from __future__ import annotations

import pytest

from printers.slip import Slip

TRACK_URL = "https://hall.example.cn/t/Xq3vN8rT2mK9pL4sW7yB1cD6fG0hJ5nA"


@pytest.fixture
def slip() -> Slip:
    return Slip(
        ticket_id="3f2a9c0d11e4b7a8",
        number="A001",
        hall_name="东湖街道便民服务中心",
        service_name="身份证办理（换领、补领）",
        issued_at="2026-11-23 09:05",
        ahead=3,
        est_wait_min=15,
        track_url=TRACK_URL,
        priority=False,
        materials=("居民户口簿", "原居民身份证（换领、补领时）"),
    )
