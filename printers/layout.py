"""A slip laid out as ESC/POS bytes, built with python-escpos so the bytes are the library's real output.

Two ways to put Chinese on paper, chosen per printer:
- "chinese": the printer's own font in Chinese mode (FS &, GB18030). Small (about 1 KB a slip), but only
  China-market printers have the font.
- "raster": each line with Chinese is drawn with a CJK font (Pillow, fonts-wqy-zenhei) and sent as a
  raster image (GS v 0); so is the QR. Any ESC/POS printer prints it; a slip is tens of KB.
ASCII (the number, the ticket id) is always sent as text: every printer has an ASCII font, and the big
number stays crisp at any magnification.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import qrcode  # type: ignore[import-untyped]
from escpos.constants import QR_ECLEVEL_M  # type: ignore[import-untyped]
from escpos.printer import Dummy  # type: ignore[import-untyped]
from PIL import Image, ImageDraw

from .fonts import cjk_font
from .slip import Slip

# Chinese mode on / off. python-escpos has no call for them, and without them it encodes only
# U+4E00–U+9FA5 and turns other CJK and full-width punctuation into '?' silently.
FS_CHINESE_ON = b"\x1c\x26"
FS_CHINESE_OFF = b"\x1c\x2e"
GS_RASTER = b"\x1dv0\x00"  # GS v 0, normal density

FONT_A_DOTS = 12  # font A cells are 12 dots wide; a Chinese character takes two cells
CELL_DOTS = 24  # font A and the printers' Chinese glyphs are 24 dots tall
LINE_DOTS = 30  # the default line spacing (1/6 inch at 203 dpi)
MAX_MAGNIFICATION = 8  # GS ! takes 1..8 in each direction
MAX_MATERIAL_LINES = 6  # a slip is not a form: the full list lives in the service guide
MATERIALS_CUT_NOTE = "……更多材料请咨询窗口"
QR_HINT = "扫码查看排队进度、办理完毕后评价"
NOT_SERVED = "暂无窗口办理此业务，请咨询服务台"
BEFORE_OPENING = "窗口 {time} 开始办理"
BEFORE_OPENING_ANY = "窗口尚未开始办理"
CALLED_IN_ORDER = "请按取号顺序等候叫号"
REPRINT_MARK = "【补打】"
TEXT_MODES = ("chinese", "raster")


@dataclass(frozen=True)
class Paper:
    """A paper width: what the printer can put across it."""

    mm: int
    dots: int  # printable dots across at 203 dpi
    qr_module: int  # dots per QR module: a phone must read it at arm's length
    margin_dots: int = 24  # kept clear on each side of the big number

    @property
    def cols(self) -> int:
        """Font A cells across."""
        return self.dots // FONT_A_DOTS


# The one place paper sizes are defined.
PAPERS = {80: Paper(mm=80, dots=576, qr_module=6), 58: Paper(mm=58, dots=384, qr_module=4)}


def number_size(number: str, paper: Paper) -> int:
    """The largest magnification (1..8) at which the number fits across the paper inside its margins."""
    room = paper.dots - 2 * paper.margin_dots
    return max(1, min(MAX_MAGNIFICATION, room // (max(len(number), 1) * FONT_A_DOTS)))


def render(slip: Slip, paper: int = 80, text: str = "chinese") -> bytes:
    """The ESC/POS bytes printing this slip on `paper` mm paper, Chinese as `text` ("chinese" or "raster").

    A "raster" slip needs a CJK font: FontMissing (naming the package to install) when there is none.
    """
    out = writer(paper, text)
    p, spec = out.p, out.paper
    cols = spec.cols
    out.say(slip.hall_name)
    if slip.reprint:
        out.say(REPRINT_MARK, size=2, bold=True)
        if out.raster:
            out.say("REPRINT")  # the mark a raster slip also carries as text, for staff and the decoder
    # The number is what a resident looks for: as big as the paper allows.
    # GS ! rather than ESC !: on a printer in Chinese mode ESC ! sizes only the ASCII characters.
    out.say(slip.number, size=number_size(slip.number, spec), bold=True)
    if slip.priority:
        out.say("【优先】", size=2)
    out.say(slip.service_name)
    if not slip.served_now and slip.before_opening:  # the windows have yet to open: no help desk needed
        out.say(BEFORE_OPENING.format(time=slip.windows_open_at) if slip.windows_open_at else BEFORE_OPENING_ANY)
        out.say(CALLED_IN_ORDER)
        if slip.ahead:
            out.say(f"前面还有 {slip.ahead} 人")
    elif not slip.served_now:  # PROTOCOL v1.1: nothing may say the ticket is about to be called
        out.say(NOT_SERVED)
        if slip.ahead:
            out.say(f"前面还有 {slip.ahead} 人")
    elif slip.ahead == 0:
        out.say("前面没有人等候，即将叫号")
    else:
        wait = slip.wait_text or f"约 {slip.est_wait_min} 分钟"
        out.say(f"前面还有 {slip.ahead} 人，预计等候{wait}")
    out.say(f"取号时间 {slip.issued_at}")
    out.qr(slip.track_url)
    out.say(QR_HINT)
    if slip.materials:
        out.set_align("left")
        margin = " " * (spec.margin_dots // FONT_A_DOTS)  # left-aligned lines keep clear of the paper's edge
        out.say(margin + slip.materials_title)
        for line in materials_lines(slip.materials, cols - 2 * len(margin)):
            out.say(margin + line)
        out.set_align("center")
    out.say(slip.notice)
    p.set(font="b")  # smaller ASCII for the footer; it only names the job
    out.say(f"No. {slip.ticket_id}" if out.raster else f"票号 {slip.ticket_id}", cols=cols * 4 // 3)
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


# Control characters (C0, DEL, C1) and the Unicode line and paragraph separators, each printed as a space: sent
# as they are, ESC and GS in a clerk's note or a resident's name would be printer commands (a cut, a reset), a
# line feed would break the layout, and the font cannot measure them (the raster and the picture failed).
_UNPRINTABLE = dict.fromkeys([*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029], " ")


def printable(text: str) -> str:
    """`text` with every control character as a space: what a slip may carry of free text."""
    return text.translate(_UNPRINTABLE)


def wrap(text: str, cols: int) -> list[str]:
    """Break text into lines of at most `cols` cells (Chinese has no spaces to break at, so break anywhere).
    Control characters become spaces (`printable`): every line a slip prints passes here."""
    lines, line, used = [], "", 0
    for ch in printable(text):
        if used + cells(ch) > cols and line:
            lines.append(line)
            line, used = "", 0
        line += ch
        used += cells(ch)
    return [*lines, line] if line or not lines else lines


def _say(p: Any, text: str, cols: int) -> None:
    """Print text as whole lines in Chinese mode, each ending in LF (the notice slip's writer)."""
    for line in wrap(text, cols):
        if line.isascii():
            p.text(line)
        else:
            # errors="replace": a lone surrogate must not take the whole slip down
            p._raw(FS_CHINESE_ON + line.encode("gb18030", errors="replace") + FS_CHINESE_OFF)
        p.text("\n")


def raster_line(text: str, paper: Paper, size: int = 1, bold: bool = False) -> Image.Image:
    """One line of text drawn as the printer will print it in raster mode: black on white, as wide as its ink.

    The printer places it by ESC a like text (GS v 0 follows the justification), so only the ink is sent.
    """
    font = cjk_font(CELL_DOTS * size)
    # leading spaces (a left margin) take the printer's cell width, as they do in Chinese mode
    ink = text.lstrip(" ")
    lead = (len(text) - len(ink)) * FONT_A_DOTS * size
    width = min(paper.dots, lead + int(font.getlength(ink)) + 2)
    img = Image.new("L", (max(width, 8), LINE_DOTS * size), 255)
    top = (LINE_DOTS - CELL_DOTS) // 2 * size
    ImageDraw.Draw(img).text((lead, top), ink, font=font, fill=0, stroke_width=1 if bold else 0)
    return img


def raster_bytes(img: Image.Image) -> bytes:
    """GS v 0 for a black-on-white picture: its width is padded to whole bytes, a set bit is a black dot."""
    gray = img.convert("L")
    width_bytes = (gray.width + 7) // 8
    padded = Image.new("L", (width_bytes * 8, gray.height), 255)
    padded.paste(gray, (0, 0))
    ink = padded.point(lambda v: 255 if v < 128 else 0, mode="1")  # PIL "1" packs a set bit for white
    header = GS_RASTER + width_bytes.to_bytes(2, "little") + gray.height.to_bytes(2, "little")
    return header + ink.tobytes()


def qr_image(url: str, paper: Paper) -> Image.Image:
    """The QR as a picture, module size as on a native print, with the quiet zone a scanner needs."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=paper.qr_module, border=4)
    code.add_data(url)
    code.make(fit=True)
    matrix: list[list[bool]] = code.get_matrix()
    small = Image.new("L", (len(matrix), len(matrix)), 255)
    small.putdata([0 if dark else 255 for row in matrix for dark in row])
    side = min(len(matrix) * paper.qr_module, paper.dots)
    return small.resize((side, side), Image.Resampling.NEAREST)


def writer(paper: int, text: str) -> _Writer:
    """A fresh slip on `paper` mm paper (Chinese as `text`: "chinese" or "raster"), initialised and centred:
    where every slip (ticket, receipt, commission) starts."""
    if text not in TEXT_MODES:
        raise ValueError(f"text mode must be one of {TEXT_MODES}, got {text!r}")
    out = _Writer(Dummy(), PAPERS[paper], raster=text == "raster")
    out.p.hw("INIT")
    out.set_align("center")
    return out


class _Writer:
    """Puts lines on the slip: ASCII as text, Chinese in Chinese mode or drawn as raster."""

    def __init__(self, p: Any, paper: Paper, raster: bool) -> None:
        self.p, self.paper, self.raster = p, paper, raster

    def say(self, text: str, size: int = 1, bold: bool = False, cols: int | None = None) -> None:
        """Print text as whole lines, each ending in LF, wrapped by us so paper and decoder agree."""
        p = self.p
        width = (cols or self.paper.cols) // size
        p.set(bold=bold, custom_size=True, width=size, height=size)
        for line in wrap(text, width):
            if line.isascii():
                p.text(line)
                p.text("\n")
            elif self.raster:
                p._raw(raster_bytes(raster_line(line, self.paper, size, bold)))
            else:
                # errors="replace": a lone surrogate must not take the whole slip down
                p._raw(FS_CHINESE_ON + line.encode("gb18030", errors="replace") + FS_CHINESE_OFF)
                p.text("\n")
        p.set(bold=False, custom_size=True, width=1, height=1)

    def qr(self, url: str) -> None:
        if self.raster:
            self.p._raw(raster_bytes(qr_image(url, self.paper)))
        else:
            # Native QR: about 70 bytes instead of ~3.4 KB of raster; the printer centres it by ESC a.
            self.p.qr(url, native=True, ec=QR_ECLEVEL_M, size=self.paper.qr_module)

    def set_align(self, align: str) -> None:
        """ESC a: places text and raster pictures alike."""
        self.p.set(align=align)
