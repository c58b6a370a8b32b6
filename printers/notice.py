"""The 一次性告知 notice slip (业务事项告知单): everything missing, at once, in writing, with its code.

The code is printed large and as a QR code: at the kiosk the resident scans or types it and the new
ticket is linked to this visit and goes first. A resident's personal data has no field here on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass

from escpos.constants import QR_ECLEVEL_M  # type: ignore[import-untyped]
from escpos.printer import Dummy  # type: ignore[import-untyped]

from .layout import FONT_A_DOTS, _say, wrap

TITLE = "一次性告知单"
RETURN_HINT = "补齐材料后再来，取号时出示此码，优先办理"


@dataclass(frozen=True)
class NoticeSlip:
    code: str  # as printed, e.g. "K7Q4M-9XP2D"
    hall_name: str
    service_name: str
    counter_name: str
    ticket_number: str
    issued_at: str  # already formatted in the hall's time zone
    missing: tuple[str, ...]
    note: str = ""
    ticket_id: str = ""


def render_notice(slip: NoticeSlip, width_dots: int = 576) -> bytes:
    """The ESC/POS bytes of the notice on paper `width_dots` wide (576 = 80 mm, 384 = 58 mm)."""
    p = Dummy()
    cols = max(width_dots // FONT_A_DOTS, 8)
    p.hw("INIT")
    p.set(align="center")
    _say(p, slip.hall_name, cols)
    p.set(bold=True, custom_size=True, width=2, height=2)
    _say(p, TITLE, cols // 2)
    p.set(bold=False, custom_size=True, width=1, height=1)
    _say(p, f"{slip.service_name} · {slip.counter_name}", cols)
    _say(p, f"原号 {slip.ticket_number}  {slip.issued_at}", cols)
    p.set(align="left")
    _say(p, "请补齐以下材料：", cols)
    for i, item in enumerate(slip.missing, 1):
        first, *rest = wrap(item, cols - 4)
        _say(p, f"{i:>2}. {first}", cols)
        for more in rest:
            _say(p, "    " + more, cols)
    if slip.note:
        _say(p, f"说明：{slip.note}", cols)
    p.set(align="center")
    _say(p, "告知码", cols)
    p.set(bold=True, custom_size=True, width=2, height=2)
    _say(p, slip.code, cols // 2)
    p.set(bold=False, custom_size=True, width=1, height=1)
    p.qr(slip.code.replace("-", ""), native=True, ec=QR_ECLEVEL_M, size=6 if width_dots >= 576 else 4)
    _say(p, RETURN_HINT, cols)
    if slip.ticket_id:
        p.set(font="b")
        _say(p, f"票号 {slip.ticket_id}", cols * 4 // 3)
        p.set(font="a")
    p.cut()
    return bytes(p.output)
