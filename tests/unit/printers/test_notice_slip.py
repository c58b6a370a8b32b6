from __future__ import annotations

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
