"""Phone and ID numbers hidden in free text however a resident or clerk wrote them (engine/privacy.py)."""

from __future__ import annotations

import pytest

from server.engine.privacy import mask_ids, mask_personal


@pytest.mark.parametrize(
    ("text", "kept", "hidden"),
    [
        ("回电 138.1234.5678", "138****5678", "1234.5678"),
        ("回电 １３８１２３４５６７８", "１３８****５６７８", "１２３４"),
        ("回电 １３８－１２３４－５６７８", "５６７８", "１２３４"),
        ("单位电话 0571-88881234", "0571****1234", "8888"),
        ("单位电话 (0571) 8888 1234", "1234", "8888"),
        ("北京 010-12345678", "010****5678", "1234"),
        ("手机 +86 138 1234 5678，谢谢", "+86 138****5678，谢谢", "1234 5678"),
        ("手机13812345678。", "138****5678。", "13812345678"),
    ],
)
def test_phones_written_any_way_are_masked(text: str, kept: str, hidden: str) -> None:
    out = mask_personal(text)
    assert kept in out and hidden not in out, out


@pytest.mark.parametrize(
    "text",
    [
        "2026-12-07 09:05:33 rid=7f3a status=200 ms=3.1",
        "票号 A001，前面还有 12 人，约 35 分钟",
        "咨询热线 400-820-8820",  # the hall's own hotline is nobody's personal data
        "",
    ],
)
def test_text_without_a_personal_number_is_left_alone(text: str) -> None:
    assert mask_personal(text) == text


def test_id_numbers_are_masked_before_phones_are_looked_for() -> None:
    out = mask_personal("身份证 330106199001011234 电话 13912345678")
    assert out == "身份证 330***********1234 电话 139****5678"


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("110105 19491231 002X", "110*** ******** 002X"),
        ("110105-19491231-002x", "110***-********-002x"),
        ("110105 1949 1231 002X", "110*** **** **** 002X"),
        ("110105\u300019491231\u3000002X", "110***\u3000********\u3000002X"),
        ("110105 491231 002", "110*** *****1 002"),  # the first generation's 15 digits
    ],
)
def test_an_id_number_written_in_groups_is_masked_keeping_its_separators(typed: str, stored: str) -> None:
    """Stored, logged or shown alike: the first three and the last four characters."""
    assert mask_ids(f"证件 {typed}。") == f"证件 {stored}。"
    assert mask_personal(f"证件 {typed}。") == f"证件 {stored}。"


@pytest.mark.parametrize("text", ["订单 1234567890123456789", "a11010519491231002X", "11010519491231002X1", "12 3456"])
def test_digits_that_are_no_id_number_are_left_alone(text: str) -> None:
    assert mask_ids(text) == text
