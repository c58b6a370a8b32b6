"""The announcement assembled from recorded clips: one WAV per word, joined with short silences.

The folder holds one file per word the template needs (names in `FILES`): the digits `0.wav`..`9.wav`
(零..九), `shi.wav` (十, for windows 10-99), `bai.wav` (百, for windows 100-999), the letters
`A.wav`..`Z.wav`, and `qing.wav` 请, `hao.wav` 号,
`dao.wav` 到, `chuangkou.wav` 窗口, `banli.wav` 办理. Every clip is a 16-bit PCM mono WAV, all at one sample
rate (the rate of `qing.wav`); a clip in another format is refused with a message naming it, never
resampled behind the hall's back. That format and its check live in server.voice, which the config uses
to check a hall's folder at load. hallq ships a set made by espeak-ng (display/voice-clips/, regenerate
with `python -m display.clips make display/voice-clips`); a hall records its own and points
`[voice] clips` at its folder.

"请 A 零零一 号 到 三 号窗口 办理" becomes qing A 0 0 1 hao dao 3 hao chuangkou banli, with `gap_ms` of
silence between two clips, so its length is the sum of the clips plus (clips - 1) gaps. The result is
cached like espeak-ng's, keyed by the clips' names, sizes and modification times: replacing a file
changes the output at once.
"""

from __future__ import annotations

import hashlib
import math
import os
import struct
import subprocess
import sys
import tempfile
import wave
from collections.abc import Iterable
from pathlib import Path

from display import speech
from server.voice import DEFAULT_FOLDER as DEFAULT_FOLDER  # re-exported: the display's callers find them here
from server.voice import DEFAULT_GAP_MS, FILES, REFERENCE, read_clip, same_rate
from server.voice import ClipError as ClipError
from server.voice import check_folder as check_folder


def words(text: str) -> list[str]:
    """The clip words of an announcement, longest match first: "请 A 零零一 号 到 三 号窗口 办理" ->
    请 A 零 零 一 号 到 三 号 窗口 办理. A word with no clip raises ClipError."""
    out: list[str] = []
    rest = text.replace(" ", "")
    longest = max(len(w) for w in FILES)
    while rest:
        for size in range(min(longest, len(rest)), 0, -1):
            if rest[:size] in FILES:
                out.append(rest[:size])
                rest = rest[size:]
                break
        else:
            raise ClipError(f"no clip for {rest[0]!r} (the template needs it)")
    return out


class ClipVoice:
    """Assembles announcements from the clips in `folder` into WAVs cached in `cache`."""

    def __init__(self, folder: Path, cache: Path, gap_ms: int = DEFAULT_GAP_MS) -> None:
        self.folder, self.cache, self.gap_ms = folder, cache, gap_ms

    def paths(self, text: str) -> list[Path]:
        return [self.folder / f"{FILES[word]}.wav" for word in words(text)]

    def wav(self, text: str) -> Path:
        """The assembled announcement; a missing or bad clip raises ClipError (the caller falls back)."""
        paths = self.paths(text)
        key = hashlib.sha256(f"clips|{self.gap_ms}|{self.folder.absolute()}|{_stamps(paths)}".encode()).hexdigest()
        path = self.cache / f"clips-{key[:32]}.wav"
        if path.exists():
            return path
        reference = read_clip(self.folder / f"{REFERENCE}.wav")
        clips = [same_rate(read_clip(p), reference) for p in paths]
        gap = b"\0\0" * round(reference.rate * self.gap_ms / 1000)
        _write_atomically(path, reference.rate, gap.join(c.frames for c in clips))
        return path


def _stamps(paths: Iterable[Path]) -> str:
    """Which version of each clip: a replaced file (new size or time) makes a new cache key."""
    out = []
    for p in paths:
        try:
            st = p.stat()
        except OSError:
            raise ClipError(f"{p} is missing") from None
        out.append(f"{p.name}:{st.st_size}:{st.st_mtime_ns}")
    return ",".join(out)


def _write_atomically(path: Path, rate: int, frames: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".wav", dir=path.parent)
    os.close(fd)
    try:
        with wave.open(tmp, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(rate)
            w.writeframes(frames)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


# -- making the default set with espeak-ng -------------------------------------------------------------

RATE = 16000
SILENCE = 400  # |sample| below this at either end is trimmed
MARGIN_S = 0.02  # kept around the sound when trimming


def _samples(frames: bytes) -> list[int]:
    return list(struct.unpack(f"<{len(frames) // 2}h", frames))


def _resample(samples: list[int], source: int, target: int, taps: int = 16) -> list[int]:
    """Windowed-sinc resampling (low-pass at the lower Nyquist), enough for speech clips."""
    ratio = target / source
    cutoff = min(1.0, ratio) * 0.9
    out = []
    for n in range(int(len(samples) * ratio)):
        centre = n / ratio
        first = math.floor(centre) - taps + 1
        total = 0.0
        for i in range(max(0, first), min(len(samples), first + 2 * taps)):
            x = centre - i
            window = 0.5 + 0.5 * math.cos(math.pi * x / taps) if abs(x) < taps else 0.0
            sinc = cutoff if x == 0 else math.sin(math.pi * cutoff * x) / (math.pi * x)
            total += samples[i] * sinc * window
        out.append(max(-32768, min(32767, round(total))))
    return out


def _trim(samples: list[int], rate: int) -> list[int]:
    loud = [i for i, s in enumerate(samples) if abs(s) >= SILENCE]
    if not loud:
        return samples
    margin = int(rate * MARGIN_S)
    return samples[max(0, loud[0] - margin) : loud[-1] + margin + 1]


def make(folder: Path, voice: str = "cmn", speed: int = 140) -> None:
    """Speak every clip with espeak-ng and write it 16 kHz mono 16-bit, silence trimmed."""
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for word, name in FILES.items():
            spoken = Path(tmp) / f"{name}.wav"
            subprocess.run(  # noqa: S603 - an argument list, no shell; the words are this module's own
                [speech.ESPEAK, "-v", voice, "-s", str(speed), "-w", str(spoken), "--", word],
                check=True,
                timeout=speech.SYNTH_TIMEOUT_S,
                capture_output=True,
            )
            with wave.open(str(spoken), "rb") as w:
                rate, frames = w.getframerate(), w.readframes(w.getnframes())
            samples = _trim(_resample(_samples(frames), rate, RATE), RATE)
            _write_atomically(folder / f"{name}.wav", RATE, struct.pack(f"<{len(samples)}h", *samples))


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "make":
        sys.exit("usage: python -m display.clips make FOLDER")
    make(Path(sys.argv[2]))
