"""A decoded ticket drawn as a PNG a person can read, with a QR code a phone can scan."""

from __future__ import annotations

import functools
import logging
import shutil
import subprocess
from os import PathLike
from pathlib import Path

import qrcode  # type: ignore[import-untyped]
from PIL import Image, ImageDraw, ImageFont

from .decode import Block, Cut, Decoded, Line, Qr

log = logging.getLogger("hallq.printers")

PAPER_PX = 576  # 80 mm paper at 203 dpi
MARGIN_PX = 16  # above and below; across, the 576 dots are all printable, as on the printer
CELL_PX = 24  # font A and Chinese glyphs are 24 dots tall
LINE_PX = 30  # the printers' default line spacing (1/6 inch) is about 30 dots
QUIET_MODULES = 4  # the QR quiet zone a scanner needs; the paper around it is white anyway

_FONT_PATHS = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
)
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
    """A font file with Chinese glyphs on this machine, or None."""
    return _cjk_font_path()


@functools.cache
def _cjk_font_path() -> str | None:
    found = next((p for p in _FONT_PATHS if Path(p).is_file()), None) or _fc_list_zh()
    if found is None:
        log.warning("no Chinese font found (install fonts-wqy-zenhei): ticket PNGs will show boxes for Chinese")
    return found


def _fc_list_zh() -> str | None:
    """Ask fontconfig for any font covering zh-cn (fc-match would answer even without one)."""
    exe = shutil.which("fc-list")
    if exe is None:
        return None
    try:
        # fixed argv, no shell, no user input
        out = subprocess.run([exe, "-f", "%{file}\n", ":lang=zh-cn"], capture_output=True, text=True, timeout=5)  # noqa: S603
    except (OSError, subprocess.SubprocessError):
        return None
    files = sorted(f for f in out.stdout.splitlines() if f.strip() and Path(f).is_file())
    return files[0] if files else None


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
    return _draw_cut()


def _draw_line(line: Line) -> Image.Image:
    """Text at its height, then stretched to its width magnification (fonts scale both ways at once)."""
    size = CELL_PX * line.height
    font = _font(size)
    width = max(1, int(font.getlength(line.text)) + 2)
    img = Image.new("L", (width, LINE_PX * line.height), 255)
    ImageDraw.Draw(img).text(
        (0, (LINE_PX - CELL_PX) // 2 * line.height), line.text, font=font, fill=0, stroke_width=1 if line.bold else 0
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


def _draw_cut() -> Image.Image:
    """A dashed line across the paper where the cutter went."""
    img = Image.new("L", (PAPER_PX, LINE_PX), 255)
    draw = ImageDraw.Draw(img)
    for x in range(0, img.width, 16):
        draw.line([(x, LINE_PX // 2), (x + 8, LINE_PX // 2)], fill=0, width=2)
    return img
