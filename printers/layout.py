"""A slip laid out as ESC/POS bytes, built with python-escpos so the bytes are the library's real output."""

from __future__ import annotations

from typing import Any

from escpos.constants import QR_ECLEVEL_M  # type: ignore[import-untyped]
from escpos.printer import Dummy  # type: ignore[import-untyped]

from .slip import Slip

# Chinese mode on / off. python-escpos has no call for them, and without them it encodes only
# U+4E00–U+9FA5 and turns other CJK and full-width punctuation into '?' silently.
FS_CHINESE_ON = b"\x1c\x26"
FS_CHINESE_OFF = b"\x1c\x2e"

FONT_A_DOTS = 12  # font A cells are 12 dots wide; a Chinese character takes two cells
MAX_MATERIAL_LINES = 6  # a slip is not a form: the full list lives in the service guide
MATERIALS_CUT_NOTE = "……更多材料请咨询窗口"
QR_HINT = "扫码查看排队进度、办结后评价"
NOT_SERVED = "暂无窗口办理此业务，请咨询服务台"


def render(slip: Slip, width_dots: int = 576) -> bytes:
    """The ESC/POS bytes printing this slip on a paper `width_dots` wide (576 = 80 mm, 384 = 58 mm)."""
    p = Dummy()
    cols = max(width_dots // FONT_A_DOTS, 8)
    p.hw("INIT")
    p.set(align="center")
    _say(p, slip.hall_name, cols)
    # GS ! rather than ESC !: on a printer in Chinese mode ESC ! sizes only the ASCII characters.
    p.set(bold=True, custom_size=True, width=2, height=2)
    _say(p, slip.number, cols // 2)
    if slip.priority:
        _say(p, "【优先】", cols // 2)
    p.set(bold=False, custom_size=True, width=1, height=1)
    _say(p, slip.service_name, cols)
    if not slip.served_now:  # PROTOCOL v1.1: nothing may say the ticket is about to be called
        _say(p, NOT_SERVED, cols)
        if slip.ahead:
            _say(p, f"前面还有 {slip.ahead} 人", cols)
    elif slip.ahead == 0:
        _say(p, "前面没有人等候，即将叫号", cols)
    else:
        _say(p, f"前面还有 {slip.ahead} 人，预计等候约 {slip.est_wait_min} 分钟", cols)
    _say(p, f"取号时间 {slip.issued_at}", cols)
    # Native QR: about 70 bytes instead of ~3.4 KB of raster; the printer centres it by ESC a.
    p.qr(slip.track_url, native=True, ec=QR_ECLEVEL_M, size=6 if width_dots >= 576 else 4)
    _say(p, QR_HINT, cols)
    if slip.materials:
        p.set(align="left")
        _say(p, "请备齐以下材料：", cols)
        for line in materials_lines(slip.materials, cols):
            _say(p, line, cols)
        p.set(align="center")
    _say(p, slip.notice, cols)
    p.set(font="b")  # smaller ASCII for the footer; it only names the job
    _say(p, f"票号 {slip.ticket_id}", cols * 4 // 3)
    p.set(font="a")
    p.cut()  # python-escpos feeds 6 lines (ESC d 6) before GS V, so the last line clears the cutter
    return bytes(p.output)


def materials_lines(materials: tuple[str, ...], cols: int) -> list[str]:
    """The materials as bulleted lines of at most `cols` cells, cut to MAX_MATERIAL_LINES."""
    bullet, indent = "· ", "   "  # the middle dot goes out as GB18030, so it prints two cells wide
    lines: list[str] = []
    for item in materials:
        wrapped = wrap(item, cols - len(indent))
        lines += [bullet + wrapped[0]] + [indent + rest for rest in wrapped[1:]]
    if len(lines) > MAX_MATERIAL_LINES:
        lines = lines[: MAX_MATERIAL_LINES - 1] + [MATERIALS_CUT_NOTE]
    return lines


def cells(ch: str) -> int:
    """Cells a character takes on the printer: anything sent as GB18030 multi-byte prints full width."""
    return 1 if ch.isascii() else 2


def wrap(text: str, cols: int) -> list[str]:
    """Break text into lines of at most `cols` cells (Chinese has no spaces to break at, so break anywhere)."""
    lines, line, used = [], "", 0
    for ch in text:
        if used + cells(ch) > cols and line:
            lines.append(line)
            line, used = "", 0
        line += ch
        used += cells(ch)
    return [*lines, line] if line or not lines else lines


def _say(p: Any, text: str, cols: int) -> None:
    """Print text as whole lines, each ending in LF, wrapped by us so paper and decoder agree."""
    for line in wrap(text, cols):
        if line.isascii():
            p.text(line)
        else:
            # errors="replace": a lone surrogate must not take the whole slip down
            p._raw(FS_CHINESE_ON + line.encode("gb18030", errors="replace") + FS_CHINESE_OFF)
        p.text("\n")
