"""How the call screen words a call, the voice that says it (espeak-ng or recorded clips), and the display
and voice settings checked at load."""

from __future__ import annotations

import io
import os
import re
import shutil
import time
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.app import AppHall
from test_config import BASE, rejection, write

from display.clips import DEFAULT_FOLDER, FILES, ClipError, ClipVoice, check_folder, words
from display.speech import Synthesizer, announcement, announcement_en, read_count, read_number
from server.config import Voice, load_config


@pytest.mark.parametrize(
    ("number", "spoken"),
    [("A001", "A 零零一"), ("B120", "B 一二零"), ("C9", "C 九"), ("AB0305", "A B 零三零五"), ("007", "零零七")],
)
def test_numbers_are_read_digit_by_digit_with_letters_as_letters(number: str, spoken: str) -> None:
    assert read_number(number) == spoken


@pytest.mark.parametrize(
    ("n", "spoken"),
    [
        (1, "一"), (3, "三"), (10, "十"), (12, "十二"), (20, "二十"), (35, "三十五"),
        (100, "一百"), (101, "一百零一"), (110, "一百一十"), (115, "一百一十五"),
        (250, "二百五十"), (999, "九百九十九"),
    ],
)  # fmt: skip
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
    assert announcement("A001", 101) == "请 A 零零一 号 到 一百零一 号窗口 办理"
    for out_of_range in (0, 1000):  # the config allows windows 1-999
        with pytest.raises(ValueError):
            announcement("A001", out_of_range)


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


# -- the announcement assembled from recorded clips -------------------------------------------------------


def seconds(path: Path) -> float:
    with wave.open(str(path)) as w:
        return w.getnframes() / w.getframerate()


def hall_clips(tmp_path: Path) -> Path:
    """A hall's own clip folder: a copy of hallq's set, for the test to change."""
    return Path(shutil.copytree(DEFAULT_FOLDER, tmp_path / "recordings"))


def write_wav(path: Path, seconds: float, rate: int = 16000, channels: int = 1, width: int = 2) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(b"\x10\x00" * (int(rate * seconds) * channels * width // 2))


def test_the_template_maps_to_one_clip_per_word() -> None:
    assert words(announcement("A001", 3)) == ["请", "A", "零", "零", "一", "号", "到", "三", "号", "窗口", "办理"]
    assert words(announcement("AB305", 12)) == [
        "请", "A", "B", "三", "零", "五", "号", "到", "十", "二", "号", "窗口", "办理",
    ]  # fmt: skip
    assert [FILES[w] for w in words(announcement("B120", 20))] == (
        "qing B 1 2 0 hao dao 2 shi hao chuangkou banli".split()
    )
    with pytest.raises(ClipError, match="no clip for '说'"):
        words("请说话")


def test_the_shipped_clips_are_complete_small_and_in_one_format() -> None:
    check_folder(DEFAULT_FOLDER)
    files = sorted(DEFAULT_FOLDER.glob("*.wav"))
    assert {p.stem for p in files} == set(FILES.values())
    for path in files:
        with wave.open(str(path)) as w:
            assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 16000), path
            assert 0.1 < w.getnframes() / 16000 < 1.2, path  # silence trimmed


@pytest.mark.parametrize("gap_ms", [0, 100, 250])
def test_the_assembled_announcement_is_the_clips_plus_the_gaps(tmp_path: Path, gap_ms: int) -> None:
    voice = ClipVoice(DEFAULT_FOLDER, tmp_path / "cache", gap_ms)
    text = announcement("A001", 12)
    parts = voice.paths(text)
    assert [p.stem for p in parts] == "qing A 0 0 1 hao dao shi 2 hao chuangkou banli".split()
    made = voice.wav(text)
    with wave.open(str(made)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 16000)
        frames = w.getnframes()
    expected = sum(round(seconds(p) * 16000) for p in parts) + (len(parts) - 1) * round(16 * gap_ms)
    assert frames == expected
    stamp = made.stat().st_mtime_ns
    assert voice.wav(text) == made and made.stat().st_mtime_ns == stamp  # cached
    assert voice.wav(announcement("A002", 12)) != made


def test_replacing_one_clip_in_the_halls_folder_changes_the_announcement(tmp_path: Path) -> None:
    folder = hall_clips(tmp_path)
    voice = ClipVoice(folder, tmp_path / "cache")
    text = announcement("A001", 3)
    before = voice.wav(text)
    old = seconds(folder / "0.wav")
    write_wav(folder / "0.wav", 0.9)  # the hall's own 零, recorded longer
    after = voice.wav(text)
    assert after != before and before.exists()
    assert seconds(after) == pytest.approx(seconds(before) + 2 * (0.9 - old), abs=0.001)  # 零 twice in A001
    with wave.open(str(after)) as w:
        assert b"\x10\x00" * 1000 in w.readframes(w.getnframes())  # the new recording is in it
    assert voice.wav(announcement("B111", 3)) != after  # phrases without 零 are made anew too, from the folder


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: write_wav(p, 0.5, rate=44100), "7.wav is 44100 Hz but qing.wav is 16000 Hz"),
        (lambda p: write_wav(p, 0.5, channels=2), "7.wav is 16-bit 2 channels; clips must be 16-bit mono"),
        (lambda p: write_wav(p, 0.5, width=1), "7.wav is 8-bit mono; clips must be 16-bit mono"),
        (lambda p: p.write_bytes(b"ID3 an mp3 renamed"), "7.wav is not a PCM WAV file"),
        (lambda p: write_wav(p, 0), "7.wav holds no sound"),
        (lambda p: p.unlink(), "7.wav is missing"),
    ],
)
def test_a_bad_clip_is_a_clear_error_naming_the_file(tmp_path: Path, make: Any, message: str) -> None:
    folder = hall_clips(tmp_path)
    make(folder / "7.wav")
    with pytest.raises(ClipError, match=re.escape(message)):
        check_folder(folder)
    with pytest.raises(ClipError, match=re.escape(message)):
        ClipVoice(folder, tmp_path / "cache").wav(announcement("A007", 3))
    assert ClipVoice(folder, tmp_path / "cache").wav(announcement("A001", 3)).exists()  # 7 not needed here
    # At start-up it is a config error: a hall learns it when the server starts, not from a silent TV.
    config = BASE + f'\n[voice]\nsource = "clips"\nclips = "{folder.name}"\n'
    assert rejection(tmp_path, config).startswith("voice.clips: ") and message in rejection(tmp_path, config)


def test_voice_settings_default_to_espeak_and_clips_resolve_next_to_the_file(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, BASE)).settings.voice == Voice("espeak", None, 100)
    shipped = load_config(write(tmp_path, BASE + '[voice]\nsource = "clips"\n')).settings.voice
    assert shipped == Voice("clips", None, 100)  # hallq's own set
    folder = hall_clips(tmp_path)
    own = load_config(write(tmp_path, BASE + f'[voice]\nsource = "clips"\nclips = "{folder.name}"\ngap_ms = 0\n'))
    assert own.settings.voice == Voice("clips", folder, 0)
    # With espeak-ng the clip folder is not read: a hall can switch back while its recordings are being fixed.
    espeak = load_config(write(tmp_path, BASE + '[voice]\nclips = "nowhere"\n')).settings.voice
    assert espeak.source == "espeak"
    assert espeak.speed == 140
    assert load_config(write(tmp_path, BASE + "[voice]\nspeed = 100\n")).settings.voice.speed == 100


def test_the_espeak_voice_speaks_at_the_halls_speed(make_app_hall: Callable[..., AppHall]) -> None:
    """`[voice] speed` (words per minute): a hall of elderly residents slows its announcements down."""

    def served(speed: int) -> float:
        hall = make_app_hall(extra_server=f"[voice]\nspeed = {speed}\n")
        with hall.app.test_client().get("/display/audio/town/A001-1.wav") as r:
            assert r.status_code == 200
            with wave.open(io.BytesIO(r.data)) as w:
                return w.getnframes() / w.getframerate()

    slow, default, fast = served(90), served(140), served(450)
    assert slow > 1.3 * default > 1.3 * 1.3 * fast, (slow, default, fast)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('source = "festival"', 'voice.source: "festival" is not one of espeak, clips'),
        ('source = "clips"\nclips = "nowhere"', "voice.clips: "),
        ('source = "clips"\nclips = ""', "voice.clips: must not be empty"),
        ("gap_ms = 5000", "voice.gap_ms: must be between 0 and 1000, got 5000"),
        ("gap_ms = true", "voice.gap_ms: expected an integer, got boolean true"),
        ("speed = 2", "voice.speed: must be between 80 and 450, got 2"),
        ("rate = 2", "voice.rate: unknown key 'rate'"),
    ],
)
def test_a_wrong_voice_setting_is_one_readable_line(tmp_path: Path, table: str, message: str) -> None:
    assert rejection(tmp_path, BASE + f"[voice]\n{table}\n").startswith(message)


def test_the_audio_route_serves_the_clips_and_falls_back_to_espeak_for_the_whole_phrase(
    tmp_path: Path, make_app_hall: Callable[..., AppHall]
) -> None:
    folder = hall_clips(tmp_path)
    hall = make_app_hall(extra_server=f'[voice]\nsource = "clips"\nclips = "{folder}"\ngap_ms = 50\n')
    client = hall.app.test_client()
    url = "/display/audio/town/A001-1.wav"
    parts = ClipVoice(folder, tmp_path / "cache", 50).paths(announcement("A001", 1))
    expected = sum(seconds(p) for p in parts) + 0.05 * (len(parts) - 1)

    def served(path: str) -> float:
        with client.get(path) as r:  # closes the file send_file opened
            assert r.status_code == 200 and r.mimetype == "audio/wav"
            with wave.open(io.BytesIO(r.data)) as w:
                return w.getnframes() / w.getframerate()

    assert served(url) == pytest.approx(expected, abs=0.001)
    assert 1.5 < served(url + "?lang=en") and client.get("/display/audio/town/Z001-1.wav").status_code == 404
    (folder / "1.wav").unlink()  # a clip lost after start-up: espeak-ng says the whole phrase
    fallback = served(url)
    assert fallback != pytest.approx(expected, abs=0.05)
    assert fallback == pytest.approx(seconds(Synthesizer(tmp_path / "espeak").wav(announcement("A001", 1))), abs=0.001)


@pytest.mark.parametrize("source", ["espeak", "clips"])
def test_a_window_numbered_over_99_is_announced(source: str, make_app_hall: Callable[..., AppHall]) -> None:
    """Windows are numbered 1-999 (a big hall's 101号窗口): each has its audio, in either voice."""
    hall = make_app_hall(
        extra_server=f'[voice]\nsource = "{source}"\n',
        edit=lambda text: text.replace("number = 3\n", "number = 101\n", 1),
    )
    with hall.app.test_client().get("/display/audio/town/A001-101.wav") as r:
        assert r.status_code == 200 and r.mimetype == "audio/wav"
        with wave.open(io.BytesIO(r.data)) as w:
            assert w.getnframes() / w.getframerate() > 1.5


def test_the_audio_route_speaks_only_numbers_the_hall_can_give(make_app_hall: Callable[..., AppHall]) -> None:
    """`A999999-1.wav` made espeak-ng write a new 310 KB file for any number: now only the hall's own."""
    hall = make_app_hall()
    client = hall.app.test_client()
    for number in ("A999999", "A1000", "A0001", "A000", "Z001", "C004", "A٠٠١"):  # width 3; C's daily_limit is 3
        with client.get(f"/display/audio/town/{number}-1.wav") as r:
            assert r.status_code == 404, number
    for number in ("A001", "A999", "C003"):
        with client.get(f"/display/audio/town/{number}-1.wav") as r:
            assert r.status_code == 200 and r.mimetype == "audio/wav", number
    cache = hall.ctx.config.settings.data_dir / "display" / "voice-cache"
    assert len(list(cache.glob("*.wav"))) == 3


def test_a_number_given_under_an_earlier_limit_is_still_spoken(
    make_app_hall: Callable[..., AppHall], tmp_path: Path
) -> None:
    hall = make_app_hall()
    for _ in range(3):
        hall.issue("water")
    # The hall restarts with C's limit lowered to 2 after C003 was given: C003 is still announced when called.
    lowered = AppHall.create(
        tmp_path, hall.database, edit=lambda text: text.replace("daily_limit = 3", "daily_limit = 2")
    )
    try:
        client = lowered.app.test_client()
        with client.get("/display/audio/town/C003-1.wav") as r:
            assert r.status_code == 200
        with client.get("/display/audio/town/C004-1.wav") as r:
            assert r.status_code == 404, "never given"
    finally:
        lowered.close()


def test_the_audio_route_is_rate_limited_per_address(make_app_hall: Callable[..., AppHall]) -> None:
    hall = make_app_hall(limits="tickets_per_minute = 100000\naudio_per_minute = 4")
    client = hall.app.test_client()
    codes = []
    for _ in range(6):
        with client.get("/display/audio/town/A001-1.wav") as r:
            codes.append(r.status_code)
            body = r.get_json(silent=True)
    assert codes == [200] * 4 + [429] * 2 and body["error"]["code"] == "rate_limited"


def test_the_voice_cache_is_bounded_in_size_and_age(
    make_app_hall: Callable[..., AppHall], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pruned at most once a second on a server; here after every request."""
    monkeypatch.setattr("display.views.PRUNE_EVERY_S", 0.0)
    hall = make_app_hall(extra_server="[voice]\ncache_max_mb = 1\ncache_max_days = 2\nspeed = 450\n")
    client = hall.app.test_client()
    cache = hall.ctx.config.settings.data_dir / "display" / "voice-cache"
    cache.mkdir(parents=True, exist_ok=True)
    stale = cache / "0123456789abcdef0123456789abcdef.wav"
    stale.write_bytes(b"RIFF" + b"\0" * 100)
    old = time.time() - 3 * 86400
    os.utime(stale, (old, old))  # neither read nor written for 3 days
    sizes = []
    for n in range(1, 13):
        with client.get(f"/display/audio/town/A{n:03d}-1.wav") as r:
            assert r.status_code == 200
        sizes.append(sum(f.stat().st_size for f in cache.iterdir()))
    assert not stale.exists(), "a file unused for longer than cache_max_days is removed"
    one = max(f.stat().st_size for f in cache.iterdir())
    assert max(sizes) <= 1024 * 1024 + one, sizes
    assert sum(f.stat().st_size for f in cache.iterdir()) > 1024 * 1024 - 2 * one, "the recent files are kept"
