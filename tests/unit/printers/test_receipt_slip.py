"""The receipt slip (受理回执) on 80 and 58 mm paper, in Chinese mode and raster: decoded back to its case
number, due date, owner window and track QR."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from printers import png
from printers.decode import decode
from printers.layout import FS_CHINESE_ON, PAPERS, raster_bytes, raster_line
from printers.receipt import Receipt, render_receipt

MODES = [(paper, text) for paper in (80, 58) for text in ("chinese", "raster")]
RECEIPT = Receipt(
    number="BJ2026000123",
    hall_name="测试镇便民服务中心",
    service_name="社保医保",
    accepted_at="2026-12-07 10:05",
    due_date="2026-12-14",
    counter_name="2号窗口",
    track_url="https://hall.example.cn/t/Zm9vYmFyYmF6cXV4cXV1eHh4eHh4eHh4",
    bring=("受理回执", "本人身份证"),
    ticket_number="B001",
    ticket_id="3f2a9c0d11e4b7a8",
)


def _scan(data: bytes, tmp_path: Path) -> list[str]:
    png.to_png(decode(data), tmp_path / "receipt.png")
    with Image.open(tmp_path / "receipt.png") as img:
        return [code.text for code in zxingcpp.read_barcodes(img)]


def _has_line(data: bytes, line: str, paper: int, text: str, size: int = 1, bold: bool = False) -> bool:
    """The line is on paper: as text in Chinese mode, as the same drawing in raster mode."""
    if text == "chinese":
        return any(x.text == line for x in decode(data).lines)
    return raster_bytes(raster_line(line, PAPERS[paper], size, bold)) in data


@pytest.mark.parametrize(("paper", "text"), MODES)
def test_every_mode_reads_back_number_due_date_window_and_the_track_qr(paper: int, text: str, tmp_path: Path) -> None:
    data = render_receipt(RECEIPT, paper, text)
    decoded = decode(data)
    texts = [line.text for line in decoded.lines]
    assert RECEIPT.number in texts and RECEIPT.due_date in texts  # ASCII: text in both modes
    assert _has_line(data, RECEIPT.counter_name, paper, text, size=2)
    assert _has_line(data, "受理回执", paper, text, size=2, bold=True)
    assert _scan(data, tmp_path) == [RECEIPT.track_url]
    assert decoded.cuts == 1
    big = next(line for line in decoded.lines if line.text == RECEIPT.number)
    assert len(RECEIPT.number) * 12 * big.width <= PAPERS[paper].dots
    if text == "chinese":
        assert decoded.qr == [RECEIPT.track_url]
        assert "承诺办结日期" in decoded.text and "领取时请带：受理回执、本人身份证" in decoded.text
        assert "?" not in decoded.text
    else:
        assert FS_CHINESE_ON not in data and all(ch.isascii() for ch in decoded.text)


@pytest.mark.parametrize("text", ["chinese", "raster"])
def test_a_reprint_is_marked_and_a_matter_without_a_ticket_has_no_qr(text: str) -> None:
    again = decode(render_receipt(dataclasses.replace(RECEIPT, reprint=True), 58, text)).text
    assert ("补打" in again) if text == "chinese" else ("REPRINT" in again)
    bare = decode(render_receipt(dataclasses.replace(RECEIPT, track_url="", ticket_id=""), 80, text))
    assert bare.qr == [] and RECEIPT.number in bare.text and not any(r.height > 100 for r in bare.rasters)


def test_an_unknown_text_mode_is_refused() -> None:
    with pytest.raises(ValueError):
        render_receipt(RECEIPT, 80, "braille")


def test_a_receipt_without_a_qr_does_not_ask_to_scan_one() -> None:
    plain = decode(render_receipt(dataclasses.replace(RECEIPT, track_url=""), 80, "chinese"))
    assert plain.qr == [] and "输入办件编号" in plain.text and "扫描此码" not in plain.text
    assert "扫描此码" in decode(render_receipt(RECEIPT, 80, "chinese")).text
