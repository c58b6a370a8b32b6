"""A decoded ticket drawn as a PNG a person can read, with a QR code a phone can scan."""

from __future__ import annotations

import functools
import logging
from os import PathLike
from pathlib import Path

import qrcode  # type: ignore[import-untyped]
from PIL import Image, ImageDraw, ImageFont

from . import fonts
from .decode import Block, Cut, Decoded, Line, Qr, Raster
from .layout import printable

log = logging.getLogger("hallq.printers")

PAPER_PX = 576  # 80 mm paper at 203 dpi
MARGIN_PX = 16  # above and below; across, the 576 dots are all printable, as on the printer
CELL_PX = 24  # font A and Chinese glyphs are 24 dots tall
LINE_PX = 30  # the printers' default line spacing (1/6 inch) is about 30 dots
QUIET_MODULES = 4  # the QR quiet zone a scanner needs; the paper around it is white anyway

_EC = {"L": qrcode.constants.ERROR_CORRECT_L, "M": qrcode.constants.ERROR_CORRECT_M}
_EC |= {"Q": qrcode.constants.ERROR_CORRECT_Q, "H": qrcode.constants.ERROR_CORRECT_H}

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def to_png(decoded: Decoded, path: str | PathLike[str]) -> None:
    """Draw the decoded ticket on white paper PAPER_PX wide and save it as a PNG at `path`."""
    strips = [(_draw(block), _align(block)) for block in decoded.blocks]
    height = 2 * MARGIN_PX + sum(img.height for img, _ in strips)
    paper = Image.new("L", (PAPER_PX, height), 255)
    y = MARGIN_PX
    for img, align in strips:
        paper.paste(img, (_x(img.width, align), y))
        y += img.height
    paper.save(Path(path), format="PNG")


def cjk_font_path() -> str | None:
    """A font file with Chinese glyphs on this machine, or None (then PNGs show boxes for Chinese)."""
    found = fonts.cjk_font_path()
    if found is None:
        _warn_once()
    return found


@functools.cache
def _warn_once() -> None:
    log.warning("no Chinese font found (install %s): ticket PNGs will show boxes for Chinese", fonts.FONT_PACKAGE)


@functools.lru_cache(maxsize=16)
def _font(size: int) -> Font:
    path = cjk_font_path()
    if path is not None:
        try:
            return ImageFont.truetype(path, size)
        except OSError as e:
            log.warning("cannot load font %s: %s", path, e)
    return ImageFont.load_default(size)


def _align(block: Block) -> str:
    return "center" if isinstance(block, Cut) else block.align


def _x(width: int, align: str) -> int:
    room = PAPER_PX - width
    return {"center": room // 2, "right": room}.get(align, 0)


def _draw(block: Block) -> Image.Image:
    if isinstance(block, Line):
        return _draw_line(block)
    if isinstance(block, Qr):
        return _draw_qr(block)
    if isinstance(block, Raster):
        return raster_image(block)
    return _draw_cut()


def _draw_line(line: Line) -> Image.Image:
    """Text at its height, then stretched to its width magnification (fonts scale both ways at once)."""
    size = CELL_PX * line.height
    font = _font(size)
    # Leading spaces are the printer's cells (half a CJK character each), not the font's narrow space: a
    # left margin made of them shows on the picture as wide as on paper.
    shown = printable(line.text)  # decoded bytes may hold control characters the font cannot measure
    text = shown.lstrip(" ")
    lead = (len(shown) - len(text)) * (CELL_PX // 2) * line.height
    width = max(1, lead + int(font.getlength(text)) + 2)
    img = Image.new("L", (width, LINE_PX * line.height), 255)
    ImageDraw.Draw(img).text(
        (lead, (LINE_PX - CELL_PX) // 2 * line.height), text, font=font, fill=0, stroke_width=1 if line.bold else 0
    )
    wide = int(width * line.width / line.height)
    wide = min(wide, PAPER_PX)  # a line the printer would wrap is squeezed, still readable
    return img.resize((max(1, wide), img.height)) if wide != width else img


def _draw_qr(block: Qr) -> Image.Image:
    """The payload drawn as a real QR code, module size as the printer's dot size."""
    code = qrcode.QRCode(error_correction=_EC.get(block.ec, _EC["L"]), box_size=1, border=QUIET_MODULES)
    try:
        code.add_data(block.payload)
        code.make(fit=True)
    except (ValueError, qrcode.exceptions.DataOverflowError):
        return _draw_line(Line("[QR code too long to draw]", block.align))
    matrix: list[list[bool]] = code.get_matrix()
    room = PAPER_PX // len(matrix)  # a code wider than the paper would not print whole
    module = max(1, min(block.module, 16, room))
    img = Image.new("L", (len(matrix), len(matrix)), 255)
    img.putdata([0 if dark else 255 for row in matrix for dark in row])
    return img.resize((img.width * module, img.height * module), Image.Resampling.NEAREST)


def raster_image(block: Raster) -> Image.Image:
    """A raster bit image as the printer puts it on paper (a set bit is a black dot), at most PAPER_PX wide."""
    width = block.width_bytes * 8
    if not width or not block.height:
        return Image.new("L", (1, 1), 255)
    bits = block.bits.ljust(block.width_bytes * block.height, b"\0")
    img = Image.frombytes("1", (width, block.height), bits)  # PIL's "1": a set bit is white, so invert
    drawn = img.point(lambda v: 0 if v else 255, mode="L")
    return drawn.crop((0, 0, min(width, PAPER_PX), block.height))


def _draw_cut() -> Image.Image:
    """A dashed line across the paper where the cutter went."""
    img = Image.new("L", (PAPER_PX, LINE_PX), 255)
    draw = ImageDraw.Draw(img)
    for x in range(0, img.width, 16):
        draw.line([(x, LINE_PX // 2), (x + 8, LINE_PX // 2)], fill=0, width=2)
    return img
