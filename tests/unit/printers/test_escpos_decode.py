from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from printers.decode import Cut, Decoded, Line, Qr, Raster, decode, ticket_fields
from printers.layout import render
from printers.slip import Slip

ESC, GS, FS = b"\x1b", b"\x1d", b"\x1c"
CHINESE = FS + b"&"
ASCII_MODE = FS + b"."


def _qr(payload: bytes) -> bytes:
    store = b"1P0" + payload
    return GS + b"(k" + len(store).to_bytes(2, "little") + store + GS + b"(k\x03\x001Q0"


def test_text_inside_chinese_mode_is_gb18030() -> None:
    assert decode(CHINESE + "请稍候，谢谢（您）".encode("gb18030") + ASCII_MODE + b"\n").text == "请稍候，谢谢（您）"


def test_four_byte_gb18030_characters_decode_whole() -> None:
    text = "𠀀€"  # a CJK extension B character and the euro sign: four-byte GB18030
    assert decode(CHINESE + text.encode("gb18030") + ASCII_MODE + b"\n").text == text


def test_text_outside_chinese_mode_uses_the_selected_code_page() -> None:
    assert decode(ESC + b"t\x00" + "Ç".encode("cp437") + b"\n").text == "Ç"
    assert decode(ESC + b"t\x10" + "é".encode("cp1252") + b"\n").text == "é"


def test_alignment_and_sizes_are_those_of_the_lines_first_character() -> None:
    data = ESC + b"a\x01" + GS + b"!\x11" + ESC + b"E\x01" + b"A001\n" + ESC + b"!\x00" + ESC + b"E\x00" + b"x\n"
    big, small = decode(data).lines

    assert big == Line("A001", "center", 2, 2, True)
    assert small == Line("x", "center", 1, 1, False)


def test_esc_bang_sets_double_width_and_height_separately() -> None:
    tall, wide = decode(ESC + b"!\x10t\n" + ESC + b"!\x20w\n").lines

    assert (tall.double_height, tall.double_width) == (True, False)
    assert (wide.double_height, wide.double_width) == (False, True)


def test_init_resets_style_and_drops_unprinted_text() -> None:
    decoded = decode(ESC + b"a\x02" + GS + b"!\x11" + b"lost" + ESC + b"@" + b"kept\n")

    assert decoded.lines == [Line("kept")]


def test_qr_store_and_print_yields_its_payload_with_size_and_error_level() -> None:
    data = GS + b"(k\x03\x001C\x06" + GS + b"(k\x03\x001E1" + _qr(b"https://x.test/t/abc")
    (qr,) = decode(data).blocks

    assert qr == Qr("https://x.test/t/abc", "left", 6, "M")


def test_qr_print_without_stored_data_draws_nothing() -> None:
    assert decode(GS + b"(k\x03\x001Q0").qr == []


def test_feed_prints_blank_lines_and_cut_is_counted() -> None:
    decoded = decode(b"end" + ESC + b"d\x03" + GS + b"V\x00" + GS + b"VB\x00")

    assert decoded.text == "end\n\n"
    assert decoded.cuts == 2
    assert decoded.blocks[-1] == Cut(partial=False)


def test_unknown_and_skipped_commands_do_not_eat_the_text_around_them() -> None:
    data = ESC + b"-\x01a" + GS + b"H\x02b" + ESC + b"~c" + FS + b"!\x00d\n" + GS + b"v0\x00\x01\x00\x02\x00\xff\xffe\n"
    decoded = decode(data)
    assert decoded.text == "abcd\ne"
    assert decoded.rasters == [Raster(1, 2, b"\xff\xff")]


def test_a_raster_picture_ends_the_line_before_it_and_keeps_its_bits() -> None:
    decoded = decode(b"ab" + GS + b"v0\x00\x02\x00\x01\x00\x80\x01cd\n")
    assert [type(b).__name__ for b in decoded.blocks] == ["Line", "Raster", "Line"]
    assert decoded.rasters[0].bits == b"\x80\x01"


def test_status_queries_print_nothing() -> None:
    assert decode(b"\x10\x04\x01ok\x10\x04\x04\n").text == "ok"


def test_ticket_fields_are_none_when_the_job_is_not_a_ticket() -> None:
    assert ticket_fields(decode(b"hello\n")) == {"number": None, "ticket_id": None, "track_url": None}


def test_decoded_text_joins_lines_with_newlines() -> None:
    assert Decoded([Line("a"), Qr("u"), Line("b"), Cut()]).text == "a\nb"


@given(st.binary(max_size=4000))
def test_decode_never_crashes_on_arbitrary_bytes(data: bytes) -> None:
    assert isinstance(decode(data), Decoded)


_FRAGMENTS = st.sampled_from(
    [ESC, GS, FS, b"\x10\x04", b"(k", b"(", b"k", b"1P0", b"1Q0", b"&", b".", b"\x81", b"\x30", b"\xff", b"\n",
     b"!", b"a", b"d", b"V", b"v0", b"8L", b"\x00", b"\x01", b"\x7f", "请".encode("gb18030"), b"A001"]
)  # fmt: skip


@settings(max_examples=300)
@given(st.lists(st.one_of(_FRAGMENTS, st.binary(max_size=4)), max_size=60))
def test_decode_never_crashes_on_command_shaped_garbage(parts: list[bytes]) -> None:
    decoded = decode(b"".join(parts))
    assert all(isinstance(line.text, str) for line in decoded.lines)


def test_every_cut_short_slip_still_decodes(slip: Slip) -> None:
    data = render(slip)
    for end in range(len(data)):
        decode(data[:end])
