from __future__ import annotations

from pathlib import Path

import pytest
import zxingcpp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from printers import png
from printers.decode import Cut, Decoded, Line, Qr, decode
from printers.layout import render
from printers.slip import Slip


def test_ticket_png_is_white_paper_576_pixels_wide(slip: Slip, tmp_path: Path) -> None:
    to = tmp_path / "t.png"
    png.to_png(decode(render(slip)), to)

    with Image.open(to) as img:
        assert img.format == "PNG"
        assert img.width == 576
        assert img.height > 600
        assert img.convert("L").getpixel((2, 2)) == 255


def test_qr_on_the_png_scans_back_to_the_track_url(slip: Slip, tmp_path: Path) -> None:
    to = tmp_path / "t.png"
    png.to_png(decode(render(slip)), to)

    with Image.open(to) as img:
        found = zxingcpp.read_barcodes(img)
    assert [code.text for code in found] == [slip.track_url]


def test_chinese_font_is_installed_for_readable_tickets() -> None:
    assert png.cjk_font_path() is not None, "install a CJK font, e.g. apt-get install fonts-wqy-zenhei"


def test_double_size_line_is_drawn_bigger_than_a_normal_one(tmp_path: Path) -> None:
    heights = []
    for line in (Line("A001"), Line("A001", width=2, height=2)):
        png.to_png(Decoded([line]), tmp_path / "l.png")
        with Image.open(tmp_path / "l.png") as img:
            heights.append(img.height)
    assert heights[1] > heights[0]


def test_cut_is_drawn_as_a_dashed_line(tmp_path: Path) -> None:
    png.to_png(Decoded([Cut()]), tmp_path / "c.png")
    with Image.open(tmp_path / "c.png") as img:
        row = [img.getpixel((x, img.height // 2)) for x in range(img.width)]
    assert 0 in row and 255 in row


def test_missing_chinese_font_falls_back_without_crashing(
    slip: Slip, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(png, "cjk_font_path", lambda: None)
    png._font.cache_clear()
    try:
        png.to_png(decode(render(slip)), tmp_path / "t.png")
    finally:
        png._font.cache_clear()
    assert (tmp_path / "t.png").stat().st_size > 0


def test_qr_too_long_for_any_qr_code_is_drawn_as_a_note(tmp_path: Path) -> None:
    png.to_png(Decoded([Qr("x" * 5000, module=200)]), tmp_path / "q.png")
    with Image.open(tmp_path / "q.png") as img:
        assert img.width == 576


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=600))
def test_any_decoded_job_can_be_drawn(tmp_path: Path, data: bytes) -> None:
    png.to_png(decode(data), tmp_path / "any.png")


@pytest.mark.parametrize("text", ["chinese", "raster"])
@pytest.mark.parametrize("paper", [80, 58])
def test_the_materials_list_keeps_a_margin_from_the_papers_left_edge(
    slip: Slip, tmp_path: Path, text: str, paper: int
) -> None:
    """Left-aligned lines (the materials) start 3 mm in, like the big number's margin: never at the edge."""
    to = tmp_path / "t.png"
    decoded = decode(render(slip, paper, text))
    assert any(isinstance(b, Line) and b.text.startswith("  · ") for b in decoded.blocks) or text == "raster"
    png.to_png(decoded, to)
    with Image.open(to) as img:
        paper_only = img.convert("L").crop((0, 0, img.width, img.height - 40))  # the cut line runs edge to edge
        ink = paper_only.point(lambda v: 255 if v < 128 else 0).getbbox()
    assert ink is not None and ink[0] >= 20, ink
