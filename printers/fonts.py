"""Finding a font with Chinese glyphs at run time, for raster slips and ticket pictures."""

from __future__ import annotations

import functools
import shutil
import subprocess
from pathlib import Path

from PIL import ImageFont

FONT_PACKAGE = "fonts-wqy-zenhei"
# Debian's fonts-wqy-zenhei first: it is what the docs and the deploy notes install.
FONT_PATHS = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
)


class FontMissing(Exception):
    """No font with Chinese glyphs on this machine: raster slips cannot be drawn."""


def cjk_font_path() -> str | None:
    """A font file with Chinese glyphs on this machine, or None."""
    return _find()


@functools.cache
def _find() -> str | None:
    return next((p for p in FONT_PATHS if Path(p).is_file()), None) or _fc_list_zh()


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
def cjk_font(size: int) -> ImageFont.FreeTypeFont:
    """The CJK font at `size` pixels; FontMissing, naming the package to install, when there is none."""
    path = cjk_font_path()
    if path is None:
        raise FontMissing(
            f"no font with Chinese glyphs found: install Debian's {FONT_PACKAGE} (apt-get install {FONT_PACKAGE})"
        )
    try:
        return ImageFont.truetype(path, size)
    except OSError as e:
        raise FontMissing(f"cannot load the Chinese font {path}: {e}; reinstall {FONT_PACKAGE}") from e
