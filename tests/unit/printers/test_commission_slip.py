"""The 代理服务委托书 as a slip, 80 and 58 mm, Chinese mode and raster: its case number, the masked ID number and
phone as text, the applicant and the lines to sign."""

from __future__ import annotations

import dataclasses

import pytest

from printers.commission import SIGN_AGENT, SIGN_APPLICANT, Commission, render_commission
from printers.decode import decode
from printers.layout import FS_CHINESE_ON, PAPERS, raster_bytes, raster_line

MODES = [(paper, text) for paper in (80, 58) for text in ("chinese", "raster")]
COMMISSION = Commission(
    number="BJ2026000042",
    hall_name="测试镇便民服务中心",
    service_name="社保医保",
    applicant="王秀英",
    id_masked="110***********002X",
    phone_masked="138****5678",
    agent="li.na",
    due_date="2026-12-14",
    accepted_date="2026-12-07",
)


@pytest.mark.parametrize(("paper", "text"), MODES)
def test_every_mode_reads_back_the_case_the_masked_id_and_the_signature_lines(paper: int, text: str) -> None:
    data = render_commission(COMMISSION, paper, text)
    decoded = decode(data)
    lines = [line.text for line in decoded.lines]
    for ascii_fact in (COMMISSION.number, COMMISSION.id_masked, COMMISSION.phone_masked, COMMISSION.due_date):
        assert ascii_fact in lines
    big = next(line for line in decoded.lines if line.text == COMMISSION.number)
    assert len(COMMISSION.number) * 12 * big.width <= PAPERS[paper].dots
    assert decoded.qr == [] and decoded.cuts == 1
    if text == "chinese":
        assert (
            "代理服务委托书" in lines and "委托人：王秀英" in lines and SIGN_APPLICANT in lines and SIGN_AGENT in lines
        )
        assert "?" not in decoded.text
    else:
        assert FS_CHINESE_ON not in data and all(ch.isascii() for ch in decoded.text)
        assert raster_bytes(raster_line("委托人：王秀英", PAPERS[paper])) in data
        assert raster_bytes(raster_line(SIGN_APPLICANT, PAPERS[paper])) in data


def test_a_home_visit_says_so() -> None:
    text = decode(render_commission(dataclasses.replace(COMMISSION, home_visit=True), 58, "chinese")).text
    assert "（上门服务）" in text
    assert "（上门服务）" not in decode(render_commission(COMMISSION, 58, "chinese")).text
