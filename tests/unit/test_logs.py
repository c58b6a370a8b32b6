"""What the logs hide: residents' tokens, notice codes, mobile and ID card numbers."""

from __future__ import annotations

import pytest

from server.logs import mask, mask_path


@pytest.mark.parametrize(
    ("path", "masked"),
    [
        ("/t/tAHGRaFY61JC7R13WptA5L_J3NA0P5H2", "/t/***"),
        ("/api/v1/track/tAHGRaFY61JC7R13WptA5L_J3NA0P5H2/rating", "/api/v1/track/***/rating"),
        ("/kiosk/qr/tAHGRaFY61JC7R13WptA5L_J3NA0P5H2.svg", "/kiosk/qr/***"),
        ("/api/v1/notices/6WW7Q-NBEEW", "/api/v1/notices/***"),
        ("/api/v1/halls/town/services", "/api/v1/halls/town/services"),
        ("/api/v1/appointments/U3FAMREW", "/api/v1/appointments/***"),  # the code shows and cancels a booking
        ("/book/town/U3FAMREW", "/book/town/***"),
        ("/book/town/U3FAMREW.ics", "/book/town/***.ics"),
        ("/book/town/U3FAMREW/cancel", "/book/town/***/cancel"),
        ("/book/town", "/book/town"),
        ("/book/town/remote", "/book/town/remote"),
        ("/api/v1/halls/town/appointments", "/api/v1/halls/town/appointments"),
    ],
)
def test_paths_that_open_a_resident_s_page_or_notice_are_masked(path: str, masked: str) -> None:
    assert mask_path(path) == masked


@pytest.mark.parametrize(
    ("text", "kept", "hidden"),
    [
        ("call 13812345678 now", "138****5678", "13812345678"),
        ("call +8613812345678", "+86138****5678", "12345678"),
        ("call +86 138 1234 5678", "+86 138****5678", "1234 5678"),
        ("call 138-1234-5678", "138****5678", "1234-5678"),
        ("id 110101199003071234", "110***********1234", "101199003"),
        ("old id 110101900307123", "110********7123", "101900307"),
        ("see /kiosk/qr/tAHGRaFY61JC7R13Wpt.svg and notice=6WW7Q-NBEEW", "notice=***", "6WW7Q"),
    ],
)
def test_log_lines_hide_phones_id_numbers_and_codes(text: str, kept: str, hidden: str) -> None:
    out = mask(text)
    assert kept in out and hidden not in out, out


def test_ordinary_numbers_stay() -> None:
    assert mask("took 1234 ms for 20 tickets at 2026-11-30 09:00") == "took 1234 ms for 20 tickets at 2026-11-30 09:00"
