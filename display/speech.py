"""Words for a call and the audio that speaks them.

Chinese halls read a ticket number digit by digit, letters as letters: A001 is "A 零零一"; a window
number is read as a number: 12 号窗口 is "十二号窗口". Browsers that have a zh-CN voice speak the text
themselves; where none exists (Chromium on Linux) the page asks the server for a WAV, made by espeak-ng's
Mandarin voice (`cmn`) and cached on disk per phrase, so each phrase is synthesised once.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path

from server.voice import DEFAULT_SPEED, DIGITS

NUMBER = re.compile(r"[A-Z]{0,2}[0-9]{1,6}")
TEMPLATE_ZH = "请 {number} 号 到 {counter} 号窗口 办理"
TEMPLATE_EN = "Number {number}, please go to window {counter}."
SYNTH_TIMEOUT_S = 10
ESPEAK = "espeak-ng"


def read_number(number: str) -> str:
    """A ticket number the way a hall reads it: "A001" -> "A 零零一"."""
    if not NUMBER.fullmatch(number):
        raise ValueError(f"not a ticket number: {number!r}")
    letters = "".join(ch for ch in number if ch.isalpha())
    digits = "".join(DIGITS[int(ch)] for ch in number if ch.isdigit())
    return f"{' '.join(letters)} {digits}" if letters else digits


def read_count(n: int) -> str:
    """A window number (1-999, as the config allows) as a Chinese number: 3 -> 三, 10 -> 十, 12 -> 十二,
    35 -> 三十五, 100 -> 一百, 101 -> 一百零一, 110 -> 一百一十, 999 -> 九百九十九."""
    if not 0 < n < 1000:
        raise ValueError(f"window number out of range: {n}")
    hundreds, rest = divmod(n, 100)
    tens, ones = divmod(rest, 10)
    if hundreds == 0:
        if tens == 0:
            return DIGITS[ones]
        return ("" if tens == 1 else DIGITS[tens]) + "十" + (DIGITS[ones] if ones else "")
    out = DIGITS[hundreds] + "百"
    if tens:
        out += DIGITS[tens] + "十"
    elif ones:
        out += DIGITS[0]  # 一百零一: a missing tens place is read as 零
    return out + (DIGITS[ones] if ones else "")


def announcement(number: str, counter_number: int) -> str:
    """The Chinese announcement: 请 A 零零一 号 到 三 号窗口 办理."""
    return TEMPLATE_ZH.format(number=read_number(number), counter=read_count(counter_number))


def announcement_en(number: str, counter_number: int) -> str:
    """The optional English line; letters and digits spelt out so a voice reads them one by one."""
    if not NUMBER.fullmatch(number):
        raise ValueError(f"not a ticket number: {number!r}")
    return TEMPLATE_EN.format(number=" ".join(number), counter=counter_number)


class Synthesizer:
    """Speaks a phrase into a WAV with espeak-ng, cached in `folder` by the phrase's hash.

    The text goes to espeak-ng as one argument of an argument list (never through a shell), with a
    timeout; the file is written next to its final name and renamed, so a reader never sees half a file.
    """

    def __init__(self, folder: Path, voice_zh: str = "cmn", voice_en: str = "en", speed: int = DEFAULT_SPEED) -> None:
        self.folder = folder
        self.voices = {"zh": voice_zh, "en": voice_en}
        self.speed = speed

    def wav(self, text: str, language: str = "zh") -> Path:
        voice = self.voices[language]
        key = hashlib.sha256(f"{voice}|{self.speed}|{text}".encode()).hexdigest()[:32]
        path = self.folder / f"{key}.wav"
        if path.exists():
            _touch(path)
            return path
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(suffix=".wav", dir=self.folder)
        os.close(fd)
        try:
            subprocess.run(  # noqa: S603 - an argument list, no shell; the text is a validated template
                [ESPEAK, "-v", voice, "-s", str(self.speed), "-w", tmp, "--", text],
                check=True,
                timeout=SYNTH_TIMEOUT_S,
                capture_output=True,
            )
            os.replace(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)
        return path


def _touch(path: Path) -> None:
    """Mark a cached file as used now (its access time; the modification time stays when it was made): the
    cache's pruning keeps the most recently used."""
    try:
        os.utime(path, ns=(time.time_ns(), path.stat().st_mtime_ns))
    except OSError:
        pass


def prune(folder: Path, max_bytes: int, max_age_s: float, now: float | None = None) -> int:
    """Bound a cache folder: files unused for `max_age_s` go, then the least recently used until the folder
    holds at most `max_bytes`. Returns how many files were removed."""
    now = time.time() if now is None else now
    try:
        stats = [(e.stat(), Path(e.path)) for e in os.scandir(folder) if e.is_file()]
        entries = [(max(st.st_atime, st.st_mtime), st.st_size, path) for st, path in stats]
    except OSError:
        return 0
    entries.sort()  # oldest first
    total = sum(size for _, size, _ in entries)
    removed = 0
    for used, size, path in entries:
        if used >= now - max_age_s and total <= max_bytes:
            break
        try:
            path.unlink()
        except OSError:
            continue
        total -= size
        removed += 1
    return removed
