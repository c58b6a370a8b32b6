"""server.engine.numbering: service prefix + zero-padded daily sequence, and the daily limit."""

from __future__ import annotations

import pytest

from server.engine.errors import HallError
from server.engine.numbering import capacity, check_limit, format_number


def test_a_number_is_the_prefix_and_the_zero_padded_sequence() -> None:
    assert format_number("A", 1, 3) == "A001"
    assert format_number("B", 42, 3) == "B042"
    assert format_number("C", 999, 3) == "C999"
    assert format_number("KF", 7, 4) == "KF0007"


def test_capacity_is_the_highest_sequence_the_width_can_show() -> None:
    assert capacity(1) == 9
    assert capacity(3) == 999
    assert capacity(4) == 9999


@pytest.mark.parametrize("seq", [0, -1, 1000])
def test_a_sequence_the_width_cannot_show_is_refused_as_the_daily_limit(seq: int) -> None:
    with pytest.raises(HallError) as err:
        format_number("A", seq, 3)
    assert err.value.code == "daily_limit" and err.value.status == 409


def test_numbers_of_one_width_never_repeat_within_the_capacity() -> None:
    numbers = [format_number("A", seq, 2) for seq in range(1, capacity(2) + 1)]
    assert len(set(numbers)) == len(numbers) == 99
    assert all(len(n) == 3 for n in numbers)


def test_tickets_up_to_the_daily_limit_are_allowed() -> None:
    check_limit(1, 3, 3)
    check_limit(3, 3, 3)


def test_the_ticket_after_the_daily_limit_is_refused() -> None:
    with pytest.raises(HallError) as err:
        check_limit(4, 3, 3)
    assert err.value.code == "daily_limit" and err.value.status == 409


def test_without_a_daily_limit_the_number_width_is_the_limit() -> None:
    check_limit(999, None, 3)
    with pytest.raises(HallError) as err:
        check_limit(1000, None, 3)
    assert err.value.code == "daily_limit"


def test_number_width_caps_the_daily_sequence() -> None:
    # A limit of 5000 a day cannot be kept with three digits: A999 is the last number.
    check_limit(999, 5000, 3)
    with pytest.raises(HallError):
        check_limit(1000, 5000, 3)
    check_limit(1000, 5000, 4)
