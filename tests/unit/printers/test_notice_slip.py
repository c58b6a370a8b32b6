from __future__ import annotations

from pathlib import Path

from PIL import Image

from printers import png
from printers.decode import decode
from printers.notice import NoticeSlip, render_notice

SLIP = NoticeSlip(
    code="K7Q4M-9XP2D",
    hall_name="测试镇便民服务中心",
    service_name="身份证办理",
    counter_name="1号窗口",
    ticket_number="A003",
    issued_at="2026-11-30 09:18",
    missing=("户口簿原件", "近期一寸照片（白底）"),
    note="复印件不可",
    ticket_id="0123456789abcdef",
)


def test_the_notice_lists_every_missing_item_at_once_with_its_code_large_and_as_a_qr_code() -> None:
    decoded = decode(render_notice(SLIP))
    text = decoded.text
    assert "一次性告知单" in text
    assert " 1. 户口簿原件" in text and " 2. 近期一寸照片（白底）" in text
    assert "说明：复印件不可" in text
    assert "原号 A003" in text and "身份证办理 · 1号窗口" in text
    big = [line.text.strip() for line in decoded.lines if line.double_width]
    assert "K7Q4M-9XP2D" in big
    assert decoded.qr == ["K7Q4M9XP2D"]  # what the kiosk's scanner reads back
    assert decoded.cuts == 1


def test_a_long_item_wraps_inside_a_58mm_paper() -> None:
    slip = NoticeSlip(**{**SLIP.__dict__, "missing": ("居民身份证正反面复印件一份并加盖单位公章" * 2,)})
    decoded = decode(render_notice(slip, width_dots=384))
    assert all(len(line.text.encode("gb18030")) <= 32 for line in decoded.lines if not line.double_width)


def test_control_characters_in_free_text_are_printed_as_spaces_never_as_printer_commands(tmp_path: Path) -> None:
    """A clerk's note or a missing item holding ESC @ (reset), GS V (cut), a line feed or U+0085 (NEL): on
    paper each is a space. Sent as they were, they were printer commands, and the virtual printer's picture
    failed on them (the font cannot measure a control character), so the whole slip was dropped."""
    hostile = NoticeSlip(
        **{**SLIP.__dict__, "missing": ("材料\x85一\x1dV\x00切", "户口簿\n原件"), "note": "复印件\x1b@不可\r\x1c"}
    )
    raw = render_notice(hostile)
    assert raw.count(b"\x1b@") == render_notice(SLIP).count(b"\x1b@")  # the slip's own reset only
    decoded = decode(raw)
    assert decoded.cuts == 1  # the slip's own cut only
    text = decoded.text
    assert "材料 一 V 切" in text and "户口簿 原件" in text and "复印件 @不可" in text
    for writes in (render_notice(hostile, width_dots=384), raw):
        png.to_png(decode(writes), tmp_path / "notice.png")  # the picture is made, not dropped
        with Image.open(tmp_path / "notice.png") as picture:
            assert picture.width > 0
