"""What goes on a printed ticket, and nothing more."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Slip:
    """The printable facts of one ticket; a resident's personal data has no field here on purpose."""

    ticket_id: str
    number: str
    hall_name: str
    service_name: str
    issued_at: str  # already formatted in the hall's time zone, e.g. "2026-11-23 09:05"
    ahead: int
    est_wait_min: int
    track_url: str
    priority: bool
    materials: tuple[str, ...] = ()
    materials_title: str = "请备齐以下材料："  # a 领取 ticket's: what to bring to take the result
    served_now: bool = True  # false: no open window serves this queue, so no wait may be promised
    before_opening: bool = False  # not served only because no window has opened yet today: called in order
    windows_open_at: str | None = None  # before_opening: when the windows are due ("HH:MM"), if the hours say
    notice: str = "请留意叫号，过号需重新取号"
    reprint: bool = False  # 补打: this ticket's slip went out before (or may have); staff see it at a glance
    # the estimate in words by the hall's one rule for minutes (约 2 分钟, 不到1分钟); empty: est_wait_min
    wait_text: str = ""
