"""A small ESC/POS interpreter: what a printer would put on paper, for tests and the virtual printer.

It knows the subset our layout and python-escpos emit, skips other known commands by their length, and
treats any other byte after ESC/GS/FS/DLE as a two-byte command. Every step moves forward, so arbitrary
bytes always end; lengths read from the data are clamped to what is there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import TypedDict

ESC, GS, FS, DLE = 0x1B, 0x1D, 0x1C, 0x10
LF, CR, HT, FF = 0x0A, 0x0D, 0x09, 0x0C

# Parameter bytes of fixed-length commands we only need to step over.
# Unknown commands (and the zero-parameter ones: ESC 2, ESC i, ...) get 0.
_FIXED = {
    ESC: {b: 1 for b in b" !%+-3=AEGKMRTUVaderu{"} | {b: 2 for b in b"$?B\\c"} | {ord("p"): 3},
    GS: {b: 1 for b in b"!/BEHIabfhrw|"} | {b: 2 for b in b"LPW\\"},
    FS: {b: 1 for b in b"!-CW"} | {b: 2 for b in b"Sp"},
    DLE: {0x04: 1, 0x05: 1, 0x14: 3},
}
_ALIGN = {0: "left", 48: "left", 1: "center", 49: "center", 2: "right", 50: "right"}
_CODEPAGES = {0: "cp437", 2: "cp850", 3: "cp860", 4: "cp863", 5: "cp865", 16: "cp1252", 17: "cp866", 19: "cp858"}
_QR = 0x31  # GS ( k code type "1": QR


@dataclass(frozen=True)
class Line:
    """One printed line with the style of its first character."""

    text: str
    align: str = "left"
    width: int = 1  # character magnification, 1..8
    height: int = 1
    bold: bool = False

    @property
    def double_width(self) -> bool:
        return self.width >= 2

    @property
    def double_height(self) -> bool:
        return self.height >= 2


@dataclass(frozen=True)
class Qr:
    """A QR code the printer drew from GS ( k."""

    payload: str
    align: str = "left"
    module: int = 3  # dots per module
    ec: str = "L"


@dataclass(frozen=True)
class Raster:
    """A raster bit image (GS v 0): rows of `width_bytes` bytes, most significant bit leftmost, 1 = black."""

    width_bytes: int
    height: int
    bits: bytes = field(repr=False)
    align: str = "left"


@dataclass(frozen=True)
class Cut:
    """A paper cut."""

    partial: bool = False


Block = Line | Qr | Raster | Cut


@dataclass
class Decoded:
    """What came out of the printer, top to bottom."""

    blocks: list[Block] = field(default_factory=list)

    @property
    def lines(self) -> list[Line]:
        return [b for b in self.blocks if isinstance(b, Line)]

    @property
    def qr(self) -> list[str]:
        return [b.payload for b in self.blocks if isinstance(b, Qr)]

    @property
    def rasters(self) -> list[Raster]:
        return [b for b in self.blocks if isinstance(b, Raster)]

    @property
    def cuts(self) -> int:
        return sum(isinstance(b, Cut) for b in self.blocks)

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


class TicketFields(TypedDict):
    number: str | None
    ticket_id: str | None
    track_url: str | None


_NUMBER = re.compile(r"[A-Z]{1,3}\d{1,6}")
_FOOTER = re.compile(r"(?:票号|No\.)\s*(\S+)")  # Chinese mode prints 票号, a raster slip's ASCII line No.


def ticket_fields(decoded: Decoded) -> TicketFields:
    """The ticket number (the big line), the ticket id (from the `票号 …` footer) and the QR URL, or None.

    A raster slip's QR is an image: its URL is read from the picture (png + zxing-cpp), not from here.
    """
    number = next(
        (ln.text.strip() for ln in decoded.lines if ln.double_width and _NUMBER.fullmatch(ln.text.strip())), None
    )
    footer = next((m for ln in decoded.lines if (m := _FOOTER.fullmatch(ln.text.strip()))), None)
    return {
        "number": number,
        "ticket_id": footer.group(1) if footer else None,
        "track_url": decoded.qr[0] if decoded.qr else None,
    }


def decode(data: bytes) -> Decoded:
    """Interpret ESC/POS bytes into lines, QR codes and cuts; never raises on arbitrary input."""
    return _Printer(data).run()


@dataclass
class _Style:
    align: str = "left"
    width: int = 1
    height: int = 1
    bold: bool = False


class _Printer:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        self.out = Decoded()
        self._reset()

    def _reset(self) -> None:
        """ESC @: modes back to power-on, and the print buffer is cleared."""
        self.style = _Style()
        self.chinese = False
        self.codepage = "cp437"
        self.pending = bytearray()  # undecoded bytes of the current run, in `self.encoding`
        self.pieces: list[str] = []
        self.line_style: _Style | None = None
        self.qr_data = b""
        self.qr_module = 3
        self.qr_ec = "L"

    @property
    def encoding(self) -> str:
        return "gb18030" if self.chinese else self.codepage

    def run(self) -> Decoded:
        while self.pos < len(self.data):
            self._step()
        if self.pending or self.pieces:
            self._print_line()
        return self.out

    def _take(self, n: int) -> bytes:
        """The next n bytes (fewer at the end of the data), consumed."""
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def _step(self) -> None:
        b = self._take(1)[0]
        if b in (ESC, GS, FS, DLE):
            self._command(b)
        elif b in (LF, FF):
            self._print_line()
        elif b == HT:
            self._text(b" ")
        elif b < 0x20 or b == 0x7F:
            pass  # CR and other controls put nothing on paper
        elif self.chinese and b >= 0x81:
            self._text(bytes([b]) + self._take(3 if self._at(0x30, 0x39) else 1))
        else:
            self._text(bytes([b]))

    def _at(self, low: int, high: int) -> bool:
        return self.pos < len(self.data) and low <= self.data[self.pos] <= high

    def _text(self, raw: bytes) -> None:
        if self.line_style is None:
            self.line_style = replace(self.style)
        self.pending += raw

    def _settle(self) -> None:
        """Decode the current run before the encoding changes."""
        if self.pending:
            self.pieces.append(self.pending.decode(self.encoding, errors="replace"))
            self.pending = bytearray()

    def _print_line(self) -> None:
        self._settle()
        s = self.line_style or self.style
        self.out.blocks.append(Line("".join(self.pieces), s.align, s.width, s.height, s.bold))
        self.pieces, self.line_style = [], None

    def _flush(self) -> None:
        """Print what is buffered, if anything (before a QR or a cut)."""
        if self.pending or self.pieces:
            self._print_line()

    def _command(self, prefix: int) -> None:
        if self.pos >= len(self.data):
            return
        cmd = self._take(1)[0]
        handler = _HANDLERS.get((prefix, cmd))
        if handler is not None:
            handler(self)
        elif prefix == ESC and cmd in (ord("D"), ord("*")):
            self._esc_variable(cmd)
        elif prefix == GS and cmd in (ord("("), ord("8"), ord("v"), ord("k"), ord("*")):
            self._gs_variable(cmd)
        else:
            self.pos += _FIXED[prefix].get(cmd, 0)

    def _param(self) -> int:
        """One parameter byte; 0 past the end (the command is then cut short and nothing follows)."""
        chunk = self._take(1)
        return chunk[0] if chunk else 0

    def _gs_variable(self, cmd: int) -> None:
        """Step over GS commands whose length is in their parameters (images, barcodes, other 2D codes)."""
        if cmd == ord("("):
            fn = self._param()
            size = self._param() | self._param() << 8
            body = self._take(size)
            if fn == ord("k"):
                self._code_2d(body)
        elif cmd == ord("8"):
            self.pos += 1  # 'L'
            p = self._take(4).ljust(4, b"\0")
            self.pos += int.from_bytes(p, "little")
        elif cmd == ord("v"):
            self.pos += 2  # '0' m
            x, y = self._param() | self._param() << 8, self._param() | self._param() << 8
            bits = self._take(x * y)
            self._flush()
            self.out.blocks.append(Raster(x, y, bits, self.style.align))
        elif cmd == ord("k"):
            self._barcode()
        else:  # GS * x y: downloaded bit image
            self.pos += self._param() * self._param() * 8

    def _esc_variable(self, cmd: int) -> None:
        """Step over ESC D (tab stops, NUL-terminated) and ESC * (bit image)."""
        if cmd == ord("D"):
            self._to_nul()
            return
        m = self._param()
        dots = self._param() | self._param() << 8
        self.pos += dots * (1 if m in (0, 1) else 3)

    def _to_nul(self) -> None:
        end = self.data.find(b"\0", self.pos)
        self.pos = len(self.data) if end < 0 else end + 1

    def _barcode(self) -> None:
        m = self._param()
        if m <= 6:  # function A: data ends at NUL
            self._to_nul()
        else:
            self.pos += self._param()

    def _code_2d(self, body: bytes) -> None:
        """GS ( k: QR code functions (size, error level, store, print); other symbologies are skipped."""
        if len(body) < 2 or body[0] != _QR:
            return
        fn, args = body[1], body[2:]
        if fn == 67 and args:
            self.qr_module = args[0]
        elif fn == 69 and args:
            self.qr_ec = {48: "L", 49: "M", 50: "Q", 51: "H"}.get(args[0], "L")
        elif fn == 80:
            self.qr_data = args[1:]  # args[0] is m = '0'
        elif fn == 81 and self.qr_data:
            self._flush()
            payload = self.qr_data.decode("utf-8", errors="replace")
            self.out.blocks.append(Qr(payload, self.style.align, self.qr_module, self.qr_ec))

    def _esc_at(self) -> None:
        self._reset()

    def _esc_align(self) -> None:
        self.style.align = _ALIGN.get(self._param(), self.style.align)

    def _esc_mode(self) -> None:
        n = self._param()
        self.style.width = 2 if n & 0x20 else 1
        self.style.height = 2 if n & 0x10 else 1
        self.style.bold = bool(n & 0x08)

    def _esc_bold(self) -> None:
        self.style.bold = bool(self._param() & 1)

    def _esc_codepage(self) -> None:
        self._settle()
        self.codepage = _CODEPAGES.get(self._param(), "cp437")

    def _esc_feed_lines(self) -> None:
        for _ in range(self._param()):
            self._print_line()

    def _esc_feed_dots(self) -> None:
        self.pos += 1
        self._flush()

    def _gs_size(self) -> None:
        n = self._param()
        self.style.width, self.style.height = (n >> 4 & 7) + 1, (n & 7) + 1

    def _gs_cut(self) -> None:
        m = self._param()
        if m in (65, 66, 97, 98, 103, 104):
            self.pos += 1  # these cut modes carry a feed amount
        self._flush()
        self.out.blocks.append(Cut(partial=bool(m & 1)))

    def _fs_chinese_on(self) -> None:
        self._settle()
        self.chinese = True

    def _fs_chinese_off(self) -> None:
        self._settle()
        self.chinese = False


_HANDLERS = {
    (ESC, ord("@")): _Printer._esc_at,
    (ESC, ord("a")): _Printer._esc_align,
    (ESC, ord("!")): _Printer._esc_mode,
    (ESC, ord("E")): _Printer._esc_bold,
    (ESC, ord("t")): _Printer._esc_codepage,
    (ESC, ord("d")): _Printer._esc_feed_lines,
    (ESC, ord("J")): _Printer._esc_feed_dots,
    (GS, ord("!")): _Printer._gs_size,
    (GS, ord("V")): _Printer._gs_cut,
    (FS, ord("&")): _Printer._fs_chinese_on,
    (FS, ord(".")): _Printer._fs_chinese_off,
}
