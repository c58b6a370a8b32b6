"""The waiting-area call screen, the window screen above each counter, and the voice audio they play."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, redirect, request, send_file

from display import clips, speech
from server.engine.errors import HallError
from server.engine.model import Display, Hall
from server.engine.numbering import capacity
from server.i18n import strings
from server.rendering import page, render_page
from server.services import counters, halls, tickets

# Templates go in display/templates/display/; files in display/static/ are served at /display/static/...
bp = Blueprint(
    "display", __name__, template_folder="templates", static_folder="static", static_url_path="/display/static"
)
DEFAULT_CHIME = Path(__file__).parent / "static" / "chime.wav"


def _ctx() -> Any:
    return current_app.extensions["hallq"].ctx


def _setup(hall: Hall, display: Display | None) -> dict[str, Any]:
    """What the page's module needs besides the snapshot: names, filters, the voice settings."""
    # A display shows its own services (a big hall has areas), else every service that takes tickets.
    shown = set(display.services) if display and display.services else {s.id for s in hall.services if s.enabled}
    return {
        "hall": hall.id,
        "display": display.id if display else None,
        "timezone": str(hall.timezone),
        "services": [{"id": s.id, "name": s.name, "name_en": s.name_en} for s in hall.services if s.id in shown],
        "counters": list(display.counters) if display else [],
        "english": bool(display and display.english),
        "chime": f"/display/chime/{hall.id}.wav",
        "audio": f"/display/audio/{hall.id}/",
    }


@bp.get("/display/<hall>")
def display_page(hall: str) -> Any:
    t = strings("display")
    found = _ctx().config.hall(hall)
    if found is None:
        return page(t["display_title"], t["not_found"], "display", status=404)
    display = None
    asked = request.args.get("display")
    if asked is not None:
        display = next((d for d in found.displays if d.id == asked), None)
        if display is None:
            return page(t["display_title"], t["not_found"], "display", status=404)
        if "lang" not in request.args and display.lang == "en":
            return redirect(f"/display/{found.id}?display={display.id}&lang=en")
    setup = _setup(found, display)
    snapshot = halls.display_snapshot(_ctx(), found.id)
    return render_page(
        "display/display.html",
        "display",
        title=t["display_title"],
        hall=found,
        display=display,
        portrait=bool(display and display.orientation == "portrait"),
        notice=display.notice if display else "",
        setup=setup,
        snapshot=snapshot,
    )


def window_state(counter_id: str) -> dict[str, Any]:
    """What the window screen shows: public facts only (no resident's name or phone)."""
    hall, desk = _ctx().counter(counter_id)
    current = counters.current(_ctx(), desk.id)
    partner = hall.counter(desk.partner) if desk.partner else None
    state = current.counter_row.state
    return {
        "counter": desk.id,
        "number": desk.number,
        "name": desk.name,
        "hall": hall.id,
        "state": state,
        "serving": current.ticket.number if current.ticket is not None else None,
        # A/B cover: while this window is away its partner serves its residents.
        "covered_by": partner.number if state == "away" and partner is not None else None,
        # Whether a clerk is signed in at the open window; never who (a login name is an account, not a 工号).
        "staffed": bool(current.counter_row.clerk) and state != "closed",
    }


@bp.get("/display/counter/<counter>")
def window_page(counter: str) -> Any:
    t = strings("display")
    if _ctx().config.find_counter(counter) is None:
        return page(t["window_title"], t["not_found"], "display", status=404)
    state = window_state(counter)
    return render_page("display/window.html", "display", title=f"{state['name']} · {t['window_title']}", window=state)


@bp.get("/display/counter/<counter>/state")
def window_json(counter: str) -> Any:
    """The window screen's state as JSON; the page refetches it when its hall changes."""
    if _ctx().config.find_counter(counter) is None:
        return {"error": {"code": "not_found", "message": f"unknown counter {counter!r}"}}, 404
    return window_state(counter)


@bp.get("/display/chime/<hall>.wav")
def chime(hall: str) -> Any:
    """The hall's own <data_dir>/display/chime.wav when it has one, else the default."""
    if _ctx().config.hall(hall) is None:
        abort(404)
    own = Path(_ctx().config.settings.data_dir) / "display" / "chime.wav"
    return send_file(own if own.is_file() else DEFAULT_CHIME, mimetype="audio/wav", max_age=3600)


@bp.get("/display/audio/<hall>/<number>-<int:counter_number>.wav")
def audio(hall: str, number: str, counter_number: int) -> Any:
    """The announcement for `number` at window `counter_number`, as a WAV cached on disk: espeak-ng's, or
    with `[voice] source = "clips"` assembled from the hall's recorded clips.

    Only numbers this hall can issue today (its width, each service's daily limit) or issued lately, and
    windows it has, are spoken: nobody can make the server say arbitrary words or fill its disk. Requests are
    rate-limited per address (`[server.limits] audio_per_minute`) and the cache is bounded in size and age
    (`[voice] cache_max_mb`, `cache_max_days`).
    """
    found = _ctx().config.hall(hall)
    if found is None or counter_number not in {c.number for c in found.counters}:
        abort(404)
    if not _NUMBER.fullmatch(number):  # a ticket number's shape (no NUL: PostgreSQL refuses it in a string)
        abort(404)
    if not (_issuable(found, number) or tickets.recently_issued(_ctx(), found, number)):
        abort(404)
    if not current_app.extensions["hallq"].audio_limiter.allow(f"addr:{request.remote_addr}"):
        raise HallError("rate_limited", 429, "too many voice requests from this address; try again shortly")
    english = request.args.get("lang") == "en"
    text = (speech.announcement_en if english else speech.announcement)(number, counter_number)
    settings = _ctx().config.settings
    cache = Path(settings.data_dir) / "display" / "voice-cache"
    _bound(cache, settings.voice.cache_max_mb, settings.voice.cache_max_days)
    if settings.voice.source == "clips" and not english:  # the clips are Chinese; English is always espeak-ng
        voice = clips.ClipVoice(settings.voice.clips or clips.DEFAULT_FOLDER, cache, settings.voice.gap_ms)
        try:
            return send_file(voice.wav(text), mimetype="audio/wav", max_age=86400)
        except clips.ClipError as exc:
            # Checked at start-up, so a clip went missing or bad since: the whole phrase in espeak-ng's voice
            # (never half a sentence in a hall's voice and half in a robot's).
            current_app.logger.warning("voice clips: %s; speaking %r with espeak-ng", exc, text)
    try:
        path = speech.Synthesizer(cache, speed=settings.voice.speed).wav(text, "en" if english else "zh")
    except (OSError, subprocess.SubprocessError):
        current_app.logger.exception("speech synthesis failed")
        abort(503)
    return send_file(path, mimetype="audio/wav", max_age=86400)


_NUMBER = re.compile(r"[A-Z]{1,2}[0-9]{1,9}")  # a service prefix (config: [A-Z]{1,2}) and the day's number


def _issuable(hall: Hall, number: str) -> bool:
    """A number of one of the hall's services, of its width, within the service's daily limit."""
    for service in hall.services:
        digits = number[len(service.prefix) :]
        if number.startswith(service.prefix) and len(digits) == hall.number_width and digits.isascii():
            if digits.isdigit() and 1 <= int(digits) <= min(service.daily_limit or capacity(hall.number_width),
                                                            capacity(hall.number_width)):  # fmt: skip
                return True
    return False


PRUNE_EVERY_S = 1.0  # the cache is bounded after at most this much synthesis past its limits
_pruned_at: dict[Path, float] = {}


def _bound(cache: Path, max_mb: int, max_days: int) -> None:
    """Keep the voice cache within its size and age (least recently used files go first)."""
    now = time.monotonic()
    if now - _pruned_at.get(cache, float("-inf")) < PRUNE_EVERY_S:
        return
    _pruned_at[cache] = now
    speech.prune(cache, max_mb * 1024 * 1024, max_days * 86400.0)
