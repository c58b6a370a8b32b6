"""The 代理服务委托书 (commission of a 全程代办 or home-visit matter) as a slip, to sign at the window.

The same facts as the print-stylesheet page (/matters/{id}/commission): the applicant's name as they gave it,
their ID number and phone masked, the matter, its case number, the responsible clerk and the due date, with
lines to sign. Laid out like the receipt (printers/layout.py), in Chinese mode or raster, 80 or 58 mm.
"""

from __future__ import annotations

from dataclasses import dataclass

from .layout import REPRINT_MARK, writer
from .receipt import number_size

TITLE = "代理服务委托书"
HOME_VISIT = "（上门服务）"
INTRO = "本人因故不能亲自办理以下事项，委托{hall}代为全程办理，并同意代理人在办理过程中使用本人提交的材料。"
SIGN_APPLICANT = "委托人签字："
SIGN_AGENT = "代理人签字："


@dataclass(frozen=True)
class Commission:
    number: str  # 办件编号
    hall_name: str
    service_name: str
    applicant: str  # the name as given (the applicant signs under it)
    id_masked: str  # e.g. 110***********002X: never the number in clear
    phone_masked: str
    agent: str  # the responsible clerk (代理责任人)
    due_date: str  # "2026-12-14"
    accepted_date: str  # "2026-12-07"
    home_visit: bool = False
    reprint: bool = False


def render_commission(c: Commission, paper: int = 80, text: str = "chinese") -> bytes:
    """The ESC/POS bytes of the commission on `paper` mm paper, Chinese as `text` ("chinese" or "raster")."""
    out = writer(paper, text)
    p, spec = out.p, out.paper
    out.say(c.hall_name)
    out.say(TITLE, size=2, bold=True)
    if c.home_visit:
        out.say(HOME_VISIT)
    if c.reprint:
        out.say(REPRINT_MARK, size=2, bold=True)
        if out.raster:
            out.say("REPRINT")
    out.say("办件编号")
    out.say(c.number, size=number_size(c.number, spec), bold=True)
    out.set_align("left")
    out.say(INTRO.format(hall=c.hall_name))
    out.say(f"委托事项：{c.service_name}")
    out.say(f"委托人：{c.applicant}")
    out.say("身份证号码：")
    out.say(c.id_masked)
    out.say("联系电话：")
    out.say(c.phone_masked)
    out.say(f"代理责任人：{c.agent}")
    out.say("承诺办结时间：")
    out.say(c.due_date)
    out.say("")
    out.say(SIGN_APPLICANT)
    out.say("")
    out.say(SIGN_AGENT)
    out.say("")
    out.say(f"日期：{c.accepted_date}")
    out.set_align("center")
    p.cut()
    return bytes(p.output)
