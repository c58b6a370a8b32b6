from __future__ import annotations

import dataclasses
import re

from printers.decode import Qr, decode, ticket_fields
from printers.layout import FS_CHINESE_OFF, FS_CHINESE_ON, MAX_MATERIAL_LINES, cells, render, wrap
from printers.slip import Slip

FULL_WIDTH = "，。：（）、"


def test_slip_decodes_back_to_its_number_service_and_qr_url(slip: Slip) -> None:
    decoded = decode(render(slip))

    assert ticket_fields(decoded) == {"number": "A001", "ticket_id": slip.ticket_id, "track_url": slip.track_url}
    assert slip.service_name in decoded.text
    assert slip.hall_name in decoded.text
    assert "前面还有 3 人，预计等候约 15 分钟" in decoded.text
    assert "取号时间 2026-11-23 09:05" in decoded.text
    assert "扫码查看排队进度、办理完毕后评价" in decoded.text
    assert "请留意叫号，过号需重新取号" in decoded.text


def test_a_slip_whose_queue_nobody_serves_promises_no_call(slip: Slip) -> None:
    for ahead in (0, 3):
        text = decode(render(dataclasses.replace(slip, served_now=False, ahead=ahead, est_wait_min=0))).text
        assert "暂无窗口办理此业务，请咨询服务台" in text
        assert "即将叫号" not in text and "预计等候" not in text
        assert ("前面还有 3 人" in text) is (ahead == 3)
    served = decode(render(dataclasses.replace(slip, ahead=0, est_wait_min=0))).text
    assert "前面没有人等候，即将叫号" in served and "暂无窗口" not in served


def test_before_the_windows_open_a_slip_says_when_and_that_numbers_are_called_in_order(slip: Slip) -> None:
    before = dataclasses.replace(slip, served_now=False, before_opening=True, windows_open_at="08:30", est_wait_min=0)
    text = decode(render(before)).text
    assert "窗口 08:30 开始办理" in text and "请按取号顺序等候叫号" in text and "前面还有 3 人" in text
    assert "服务台" not in text and "即将叫号" not in text and "预计等候" not in text
    anytime = decode(render(dataclasses.replace(before, windows_open_at=None))).text
    assert "窗口尚未开始办理" in anytime and "请按取号顺序等候叫号" in anytime and "服务台" not in anytime


def test_full_width_punctuation_prints_as_itself_never_as_question_marks(slip: Slip) -> None:
    slip = dataclasses.replace(slip, service_name="居住证（签注）：办理、查询。", materials=("照片，一寸",))
    data = render(slip)
    text = decode(data).text

    assert "居住证（签注）：办理、查询。" in text
    assert "照片，一寸" in text
    assert "?" not in text
    assert b"?" not in data.split(b"\x1d(k")[0]  # before the QR, whose URL may hold one


def test_chinese_goes_out_only_inside_chinese_mode_as_gb18030(slip: Slip) -> None:
    data = render(slip)
    chinese_run = re.escape(FS_CHINESE_ON) + b"(.*?)" + re.escape(FS_CHINESE_OFF)
    runs = [r.decode("gb18030") for r in re.findall(chinese_run, data, re.S)]  # strict: raises if not GB18030
    outside = re.sub(chinese_run, b"", data, flags=re.S).replace(slip.track_url.encode(), b"")

    assert slip.hall_name in runs
    assert all(b < 0x80 for b in outside)


def test_qr_code_is_native_not_an_image(slip: Slip) -> None:
    data = render(slip)
    qr_bytes = sum(len(m) for m in re.findall(rb"\x1d\(k(?:..)", data, re.S)) + len(slip.track_url)

    assert data.count(b"\x1d(k") == 5  # model, size, error level, store, print
    assert qr_bytes < 120
    assert b"\x1dv0" not in data and b"\x1d(L" not in data  # no raster image anywhere
    assert len(data) < 1500


def test_number_is_big_bold_and_centered(slip: Slip) -> None:
    big = [line for line in decode(render(slip)).lines if line.double_width]

    assert big[0].text == "A001"
    assert (big[0].double_height, big[0].bold, big[0].align) == (True, True, "center")


def test_priority_ticket_carries_the_priority_mark(slip: Slip) -> None:
    assert "优先" in decode(render(dataclasses.replace(slip, priority=True))).text
    assert "优先" not in decode(render(slip)).text


def test_materials_list_stops_at_six_lines(slip: Slip) -> None:
    many = tuple(f"材料{i}：居民身份证复印件（正反面）" for i in range(10))
    lines = decode(render(dataclasses.replace(slip, materials=many))).text.split("\n")

    bullets = lines.index("  请备齐以下材料：")  # two cells in from the paper's edge
    assert lines[bullets + MAX_MATERIAL_LINES].startswith("  ……")
    assert lines[bullets + MAX_MATERIAL_LINES + 1] == slip.notice


def test_slip_without_materials_has_no_materials_heading(slip: Slip) -> None:
    assert "材料" not in decode(render(dataclasses.replace(slip, materials=()))).text


def test_slip_ends_with_a_feed_and_one_cut(slip: Slip) -> None:
    data = render(slip)
    decoded = decode(data)

    assert data.startswith(b"\x1b@")
    assert data.endswith(b"\x1bd\x06\x1dV\x00")
    assert decoded.cuts == 1
    assert decoded.lines[-1].text == ""


def test_every_line_fits_a_58mm_paper(slip: Slip) -> None:
    long_hall = dataclasses.replace(
        slip, hall_name="某某省某某市某某区东湖街道便民服务中心综合窗口", materials=("一" * 40,)
    )
    for line in decode(render(long_hall, paper=58)).lines:
        assert sum(cells(ch) for ch in line.text) * line.width <= 384 // 12, line.text


def test_qr_sits_between_the_wait_and_the_scan_hint(slip: Slip) -> None:
    blocks = decode(render(slip)).blocks
    at = next(i for i, b in enumerate(blocks) if isinstance(b, Qr))

    assert blocks[at - 1].text.startswith("取号时间")  # type: ignore[union-attr]
    assert blocks[at + 1].text == "扫码查看排队进度、办理完毕后评价"  # type: ignore[union-attr]


def test_wrap_breaks_chinese_anywhere_and_counts_two_cells_per_character() -> None:
    assert wrap("一二三四五", 4) == ["一二", "三四", "五"]
    assert wrap("ab一二", 4) == ["ab一", "二"]
    assert wrap("", 4) == [""]


def test_slip_has_no_field_for_a_residents_personal_data() -> None:
    assert {f.name for f in dataclasses.fields(Slip)} == {
        "ticket_id", "number", "hall_name", "service_name", "issued_at", "ahead",
        "est_wait_min", "track_url", "priority", "materials", "materials_title", "notice", "served_now", "reprint",
        "before_opening", "windows_open_at", "wait_text",
    }  # fmt: skip
