"""The receipt slip (受理回执) a resident takes home when a promised matter is accepted (PROTOCOL v1.2).

It says what was accepted (the case number, 办件编号), when the result is due, which window answers for it,
and carries the track QR: the same page follows the matter after the visit. Laid out like the ticket slip,
in Chinese mode or raster (printers/layout.py), on 80 or 58 mm paper. Every fact a decoder or a clerk must
read back (the number, the due date, the ticket id) is ASCII on a line of its own, so it goes out as text in
both modes. A resident's personal data has no field here on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass

from .layout import FONT_A_DOTS, REPRINT_MARK, Paper, wrap, writer

TITLE = "受理回执"
NUMBER_LABEL = "办件编号"
DUE_LABEL = "承诺办结日期"
WINDOW_LABEL = "责任窗口"
QR_HINT = "扫码查看办理进度，领取后可评价"
PICKUP_HINT = "办结后凭本回执到窗口领取结果"
BRING_LABEL = "领取时请带："
KIOSK_HINT = "取号机点“领取结果”，输入办件编号或扫描此码"
KIOSK_HINT_NO_QR = "取号机点“领取结果”，输入办件编号"  # a matter without a ticket: no code to scan
MAX_NUMBER_SIZE = 2  # the case number is long: double size is what 58 mm paper holds


@dataclass(frozen=True)
class Receipt:
    """The printable facts of one accepted matter."""

    number: str  # 办件编号, e.g. "BJ2026000123"
    hall_name: str
    service_name: str
    accepted_at: str  # already formatted in the hall's time zone, e.g. "2026-12-07 10:05"
    due_date: str  # "2026-12-14": the result is due by the end of that working day's hours
    counter_name: str  # the owner window (责任窗口)
    track_url: str = ""  # the resident's page; empty for a matter without a ticket (no QR then)
    bring: tuple[str, ...] = ()  # what to bring to pick the result up
    ticket_number: str = ""
    ticket_id: str = ""
    reprint: bool = False


def number_size(number: str, paper: Paper) -> int:
    room = paper.dots - 2 * paper.margin_dots
    return max(1, min(MAX_NUMBER_SIZE, room // (max(len(number), 1) * FONT_A_DOTS)))


def render_receipt(receipt: Receipt, paper: int = 80, text: str = "chinese") -> bytes:
    """The ESC/POS bytes of the receipt on `paper` mm paper, Chinese as `text` ("chinese" or "raster")."""
    out = writer(paper, text)
    p, spec = out.p, out.paper
    cols = spec.cols
    out.say(receipt.hall_name)
    out.say(TITLE, size=2, bold=True)
    if receipt.reprint:
        out.say(REPRINT_MARK, size=2, bold=True)
        if out.raster:
            out.say("REPRINT")
    out.say(NUMBER_LABEL)
    out.say(receipt.number, size=number_size(receipt.number, spec), bold=True)
    out.say(receipt.service_name)
    out.say(f"受理时间 {receipt.accepted_at}")
    out.say(DUE_LABEL)
    out.say(receipt.due_date, size=2, bold=True)
    out.say(WINDOW_LABEL)
    out.say(receipt.counter_name, size=2 if len(wrap(receipt.counter_name, cols // 2)) == 1 else 1)
    if receipt.track_url:
        out.qr(receipt.track_url)
        out.say(QR_HINT)
    out.say(PICKUP_HINT)
    if receipt.bring:
        out.say(BRING_LABEL + "、".join(receipt.bring))
    out.say(KIOSK_HINT if receipt.track_url else KIOSK_HINT_NO_QR)
    p.set(font="b")  # smaller ASCII for the footer: the ticket that opened it, for staff
    if receipt.ticket_id:
        label = "No." if out.raster else "票号"
        out.say(f"{label} {receipt.ticket_number} {receipt.ticket_id}".replace("  ", " "), cols=cols * 4 // 3)
    p.set(font="a")
    p.cut()
    return bytes(p.output)
