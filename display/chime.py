"""The default chime (display/static/chime.wav): a soft two-tone ding-dong, made with the wave module.

Regenerate with `python -m display.chime display/static/chime.wav`. A hall replaces it by putting its own
`chime.wav` in `<data_dir>/display/`.
"""

from __future__ import annotations

import math
import struct
import sys
import wave
from pathlib import Path

RATE = 16000


def tone(freq: float, seconds: float, volume: float = 0.35) -> list[float]:
    """A bell-like tone: the note plus a quiet octave, a quick attack and an exponential decay."""
    n = int(RATE * seconds)
    out = []
    for i in range(n):
        t = i / RATE
        envelope = min(1.0, t / 0.01) * math.exp(-3.2 * t)
        out.append(volume * envelope * (math.sin(2 * math.pi * freq * t) + 0.3 * math.sin(4 * math.pi * freq * t)))
    return out


def write(path: Path, seconds: tuple[float, float] = (0.55, 0.9)) -> None:
    """The ding-dong as a 16-bit mono WAV; `seconds` are the two tones' lengths."""
    samples = tone(784.0, seconds[0]) + tone(587.3, seconds[1])  # G5 then D5
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(b"".join(struct.pack("<h", int(max(-1.0, min(1.0, s)) * 32767)) for s in samples))


if __name__ == "__main__":
    write(Path(sys.argv[1]))
