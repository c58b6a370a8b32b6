"""How the call screen words a call, and the [[hall.display]] settings checked at load."""

from __future__ import annotations

import wave
from pathlib import Path

import pytest
from test_config import BASE, rejection, write

from display.speech import Synthesizer, announcement, announcement_en, read_count, read_number
from server.config import load_config


@pytest.mark.parametrize(
    ("number", "spoken"),
    [("A001", "A 零零一"), ("B120", "B 一二零"), ("C9", "C 九"), ("AB0305", "A B 零三零五"), ("007", "零零七")],
)
def test_numbers_are_read_digit_by_digit_with_letters_as_letters(number: str, spoken: str) -> None:
    assert read_number(number) == spoken


@pytest.mark.parametrize(
    ("n", "spoken"), [(1, "一"), (3, "三"), (10, "十"), (12, "十二"), (20, "二十"), (35, "三十五")]
)
def test_window_numbers_are_read_as_numbers(n: int, spoken: str) -> None:
    assert read_count(n) == spoken


@pytest.mark.parametrize("bad", ["", "a001", "A-01", "A 001", "A0011223", "请说话", "A001; rm -rf /"])
def test_anything_but_a_ticket_number_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="not a ticket number"):
        read_number(bad)


def test_the_template_fills_number_and_window() -> None:
    assert announcement("A001", 3) == "请 A 零零一 号 到 三 号窗口 办理"
    assert announcement("B012", 12) == "请 B 零一二 号 到 十二 号窗口 办理"
    assert announcement_en("A001", 3) == "Number A 0 0 1, please go to window 3."
    with pytest.raises(ValueError):
        announcement("A001", 100)


def test_espeak_makes_one_cached_wav_per_phrase(tmp_path: Path) -> None:
    synth = Synthesizer(tmp_path)
    first = synth.wav(announcement("A001", 1))
    with wave.open(str(first)) as w:
        assert 2.0 < w.getnframes() / w.getframerate() < 15.0
    stamp = first.stat().st_mtime_ns
    assert synth.wav(announcement("A001", 1)) == first and first.stat().st_mtime_ns == stamp  # cached
    assert synth.wav(announcement("A002", 1)) != first
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".wav", ".wav"]  # no temporary files left


DISPLAY = '\n[[hall.display]]\nid = "d9"\nname = "大屏"\n'


def test_a_display_names_its_areas_language_and_orientation(tmp_path: Path) -> None:
    text = BASE + DISPLAY + 'services = ["id-card"]\ncounters = ["w1"]\nlang = "en"\norientation = "portrait"\n'
    display = load_config(write(tmp_path, text + 'english = true\nnotice = "午间休息"\n')).halls[0].displays[-1]
    assert (display.services, display.counters, display.lang, display.orientation) == (
        ("id-card",), ("w1",), "en", "portrait",
    )  # fmt: skip
    assert display.english and display.notice == "午间休息"
    plain = load_config(write(tmp_path, BASE + DISPLAY)).halls[0].displays[-1]
    assert (plain.services, plain.counters, plain.lang, plain.orientation) == ((), (), "zh-CN", "landscape")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('services = ["nope"]', "unknown service 'nope'"),
        ('counters = ["w9"]', "unknown counter 'w9'"),
        ('orientation = "sideways"', "is not one of landscape, portrait"),
        ('lang = "fr"', "is not one of zh-CN, en"),
        ("colour = 1", "unknown key 'colour'"),
    ],
)
def test_a_wrong_display_setting_is_one_readable_line(tmp_path: Path, extra: str, message: str) -> None:
    assert message in rejection(tmp_path, BASE + DISPLAY + extra + "\n")
