"""The slip on 58 and 80 mm paper, in Chinese mode and as raster: decoded back to number, id, QR link and 补打."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from printers import fonts, layout, png
from printers.decode import decode, ticket_fields
from printers.drivers import parse_spec
from printers.layout import PAPERS, REPRINT_MARK, number_size, raster_bytes, raster_line, render
from printers.slip import Slip

MODES = [(paper, text) for paper in (80, 58) for text in ("chinese", "raster")]


def _scan(data: bytes, tmp_path: Path) -> list[str]:
    """The QR codes a phone camera would read off the printed slip (its PNG rendering)."""
    png.to_png(decode(data), tmp_path / "slip.png")
    with Image.open(tmp_path / "slip.png") as img:
        return [code.text for code in zxingcpp.read_barcodes(img)]


@pytest.mark.parametrize(("paper", "text"), MODES)
def test_every_mode_decodes_back_to_number_id_and_a_scannable_qr(
    slip: Slip, paper: int, text: str, tmp_path: Path
) -> None:
    data = render(slip, paper, text)
    fields = ticket_fields(decode(data))

    assert (fields["number"], fields["ticket_id"]) == (slip.number, slip.ticket_id)
    assert _scan(data, tmp_path) == [slip.track_url]


@pytest.mark.parametrize(("paper", "text"), MODES)
def test_the_number_is_the_biggest_thing_on_the_slip_and_fits_the_paper(slip: Slip, paper: int, text: str) -> None:
    lines = decode(render(slip, paper, text)).lines
    number = next(line for line in lines if line.text == slip.number)

    assert number.width == number.height == number_size(slip.number, PAPERS[paper])
    assert number.width >= 6, "at least three times the old double size"
    assert all(line.width < number.width for line in lines if line is not number)
    assert len(slip.number) * 12 * number.width <= PAPERS[paper].dots


def test_a_longer_number_is_drawn_smaller_so_it_still_fits() -> None:
    assert number_size("AB0001", PAPERS[58]) < number_size("A001", PAPERS[58])
    assert number_size("A001", PAPERS[80]) == layout.MAX_MAGNIFICATION


@pytest.mark.parametrize(("paper", "text"), MODES)
def test_a_reprint_says_so_and_a_first_print_does_not(slip: Slip, paper: int, text: str) -> None:
    again = render(dataclasses.replace(slip, reprint=True), paper, text)
    first = render(slip, paper, text)

    if text == "chinese":
        assert REPRINT_MARK in decode(again).text and "补打" not in decode(first).text
    else:  # drawn, so compare the picture with the mark drawn the same way; plus its text line
        mark = raster_bytes(raster_line(REPRINT_MARK, PAPERS[paper], 2, True))
        assert mark in again and mark not in first
        assert "REPRINT" in decode(again).text and "REPRINT" not in decode(first).text


def test_chinese_mode_is_small_and_raster_mode_sends_no_chinese_text(slip: Slip) -> None:
    chinese, raster = render(slip, 80, "chinese"), render(slip, 80, "raster")

    assert len(chinese) < 1500
    assert 5_000 < len(raster) < 40_000  # docs/printing.md states the bytes per slip
    assert layout.FS_CHINESE_ON not in raster
    text = decode(raster).text
    assert all(ch.isascii() for ch in text), "every Chinese line went out as a picture"
    assert len(decode(raster).rasters) >= 8


def test_raster_pictures_fit_the_paper(slip: Slip) -> None:
    for paper in (80, 58):
        for block in decode(render(slip, paper, "raster")).rasters:
            assert block.width_bytes * 8 <= PAPERS[paper].dots


def test_a_missing_cjk_font_names_the_debian_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fonts, "cjk_font_path", lambda: None)
    fonts.cjk_font.cache_clear()
    try:
        with pytest.raises(fonts.FontMissing, match="fonts-wqy-zenhei"):
            fonts.cjk_font(24)
    finally:
        fonts.cjk_font.cache_clear()


def test_an_unknown_text_mode_is_refused(slip: Slip) -> None:
    with pytest.raises(ValueError, match="text mode"):
        render(slip, 80, "gothic")


@pytest.mark.parametrize(
    ("spec", "kind", "where"),
    [
        ("usb:0416:5011", "usb", {"usb_vendor": 0x0416, "usb_product": 0x5011}),
        ("serial:/dev/ttyS0", "serial", {"path": "/dev/ttyS0"}),
        ("network:192.0.2.50:9100", "network", {"host": "192.0.2.50", "port": 9100}),
        ("network:printer.local", "network", {"host": "printer.local", "port": 9100}),
        ("file:/var/spool/slips", "file", {"path": "/var/spool/slips"}),
    ],
)
def test_printer_specs_of_the_agent_command(spec: str, kind: str, where: dict[str, object]) -> None:
    assert parse_spec(spec) == (kind, where)


@pytest.mark.parametrize("spec", ["", "usb", "usb:zz:11", "network:h:99999", "lpt:1", "file:"])
def test_bad_printer_specs_are_refused_with_an_example(spec: str) -> None:
    with pytest.raises(ValueError, match="printer"):
        parse_spec(spec)
