"""What the server's voice settings ([voice]) are checked against when the config loads: espeak-ng's
default speed and the format of a folder of recorded clips (which files, which encoding).

The display assembles and speaks the calls (display.speech, display.clips) on top of this; the config
checks a hall's clip folder here, so that loading a config never imports the display package.

The folder holds one file per word the template needs (names in `FILES`): the digits `0.wav`..`9.wav`
(零..九), `shi.wav` (十), `bai.wav` (百), the letters `A.wav`..`Z.wav`, and `qing.wav` 请, `hao.wav` 号,
`dao.wav` 到, `chuangkou.wav` 窗口, `banli.wav` 办理. Every clip is a 16-bit PCM mono WAV, all at one sample
rate (the rate of `qing.wav`); a clip in another format is refused with a message naming it.
"""

from __future__ import annotations

import wave
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

DEFAULT_SPEED = 140  # words per minute: espeak-ng's own default is 175, a little fast for a hall
DEFAULT_GAP_MS = 100  # the silence between two clips
# hallq's own set, shipped as the display package's data (found by name: no import of its code)
DEFAULT_FOLDER = Path(str(resources.files("display").joinpath("voice-clips")))
DIGITS = "零一二三四五六七八九"
WORDS = {"请": "qing", "号": "hao", "到": "dao", "窗口": "chuangkou", "办理": "banli", "十": "shi", "百": "bai"}
# The file (without .wav) of every word a call's announcement can use.
FILES: dict[str, str] = (
    {d: str(i) for i, d in enumerate(DIGITS)} | {chr(c): chr(c) for c in range(ord("A"), ord("Z") + 1)} | WORDS
)
REFERENCE = "qing"  # every clip has this clip's format
CONVERT = "ffmpeg -i in.wav -ac 1 -ar 16000 -sample_fmt s16 out.wav"


class ClipError(Exception):
    """A clip folder that cannot be used; str() is one line naming the file."""


@dataclass(frozen=True)
class Clip:
    path: Path
    rate: int
    frames: bytes

    @property
    def seconds(self) -> float:
        return len(self.frames) / 2 / self.rate


def read_clip(path: Path) -> Clip:
    """A clip's samples; a file that is missing, not a WAV, or not 16-bit PCM mono raises ClipError."""
    try:
        with wave.open(str(path), "rb") as w:
            channels, width, rate, count = w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()
            frames = w.readframes(count)
    except FileNotFoundError:
        raise ClipError(f"{path} is missing") from None
    except (OSError, EOFError, wave.Error) as exc:
        raise ClipError(f"{path} is not a PCM WAV file ({exc})") from None
    if channels != 1 or width != 2:
        layout = "mono" if channels == 1 else f"{channels} channels"
        raise ClipError(f"{path} is {8 * width}-bit {layout}; clips must be 16-bit mono ({CONVERT})")
    if count == 0:
        raise ClipError(f"{path} holds no sound")
    return Clip(path=path, rate=rate, frames=frames)


def same_rate(clip: Clip, reference: Clip) -> Clip:
    if clip.rate != reference.rate:
        raise ClipError(
            f"{clip.path} is {clip.rate} Hz but {reference.path.name} is {reference.rate} Hz;"
            f" all clips must have one sample rate ({CONVERT})"
        )
    return clip


def check_folder(folder: Path) -> None:
    """Every clip present, readable and in one format, else ClipError naming the first bad file."""
    if not folder.is_dir():
        raise ClipError(f"{folder} is not a folder")
    reference = read_clip(folder / f"{REFERENCE}.wav")
    for name in sorted(set(FILES.values())):
        same_rate(read_clip(folder / f"{name}.wav"), reference)
