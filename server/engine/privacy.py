"""Residents' personal data in free text: phone and ID card numbers, hidden wherever text leaves the staff.

Phone numbers are found by libphonenumber's matcher for China (`phonenumbers`): mobiles and landlines
however they are written (138-1234-5678, 138.1234.5678, +86 138 1234 5678, full-width digits,
0571-88881234, (0571)88881234). A pure function of its text, so the engine may hold it.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import phonenumbers

# An ID card number as people write it: 18 characters (the last may be X), or the first generation's 15 digits,
# together or in groups (6-8-4, 6-4-4-4; 6-6-3) split by one space, dash or full-width space.
_SEP = "[ \t\\-\u3000\uff0d]?"
_ID_CARD = re.compile(rf"(?<![0-9A-Za-z])\d{{6}}{_SEP}\d{{4}}{_SEP}\d{{4}}{_SEP}\d{{3}}[\dXx](?![0-9A-Za-z])")
_OLD_ID_CARD = re.compile(rf"(?<![0-9A-Za-z])\d{{6}}{_SEP}\d{{6}}{_SEP}\d{{3}}(?![0-9A-Za-z])")
# Only text with seven digits in a row (separators allowed) can hold a phone number: the matcher is
# slow next to a regex, and most log lines have no such run.
_DIGIT_RUN = re.compile(r"\d(?:[\s().\-\u3000\uff0d\uff08\uff09]*\d){6}")
# The hall's own hotlines (400/800, 95xxx) are nobody's personal data: they stay readable in notices.
_PUBLIC_TYPES = frozenset(
    {
        phonenumbers.PhoneNumberType.TOLL_FREE,
        phonenumbers.PhoneNumberType.SHARED_COST,
        phonenumbers.PhoneNumberType.PREMIUM_RATE,
        phonenumbers.PhoneNumberType.UAN,
    }
)
TAIL_DIGITS = 4  # a masked phone keeps its last four digits (what a clerk reads back to a resident)
MOBILE_HEAD = 3  # and a mobile its first three (the carrier); a landline keeps its area code


def _is_digit(ch: str) -> bool:
    return unicodedata.digit(ch, -1) >= 0


def _mask_phone(raw: str, number: phonenumbers.PhoneNumber) -> str:
    """`raw` as written, its middle digits hidden: 138****5678, +86 138****5678, 0571****1234."""
    national = phonenumbers.national_significant_number(number)
    area = phonenumbers.length_of_geographical_area_code(number)
    positions = [i for i, ch in enumerate(raw) if _is_digit(ch)]
    before = len(positions) - len(national)  # country code or trunk 0 written in front of the number
    head = before + (area or MOBILE_HEAD)
    hidden = len(positions) - head - TAIL_DIGITS
    if hidden <= 0:  # too short to keep both ends: hide all but the tail
        head, hidden = 0, len(positions) - TAIL_DIGITS
    kept_head = raw[: positions[head - 1] + 1] if head else raw[: positions[0]]
    return kept_head + "*" * hidden + raw[positions[head + hidden] :]


def mask_phones(text: str) -> str:
    """Every personal phone number in `text` (mobile or landline, China's numbering) with its middle hidden."""
    if not _DIGIT_RUN.search(text):
        return text
    out, last = [], 0
    for match in phonenumbers.PhoneNumberMatcher(text, "CN"):
        if phonenumbers.number_type(match.number) in _PUBLIC_TYPES:
            continue
        out.append(text[last : match.start])
        out.append(_mask_phone(match.raw_string, match.number))
        last = match.end
    out.append(text[last:])
    return "".join(out)


def _hiding(head: int, tail: int) -> Any:
    """A substitution keeping an ID number's first `head` and last `tail` characters and its separators."""

    def hide(match: re.Match[str]) -> str:
        found = match.group(0)
        places = [i for i, ch in enumerate(found) if ch.isdigit() or ch in "Xx"]
        hidden = set(places[head : len(places) - tail])
        return "".join("*" if i in hidden else ch for i, ch in enumerate(found))

    return hide


_KEPT = _hiding(3, 4)  # as engine.identity.mask_id keeps an ID field, wherever an ID number is shown or stored


def mask_ids(text: str) -> str:
    """ID card numbers in free text as they may be stored: the first three and last four digits, as the ID
    fields keep them (engine.identity.mask_id). A clerk's note or a resident's comment is no place for one."""
    if not any(ch.isdigit() for ch in text):
        return text
    return _OLD_ID_CARD.sub(_KEPT, _ID_CARD.sub(_KEPT, text))


def mask_personal(text: str) -> str:
    """Phone numbers keep their first (area code) and last four digits, ID numbers their first three and last four
    (as everywhere: a log line or a public notice gives no more of one than the database keeps)."""
    return mask_phones(mask_ids(text))


class NotAPhone(ValueError):
    """A call-back number that is not a Chinese mobile or landline number (the message never holds it)."""


MAX_PHONE_CHARS = 32


def callback_number(text: str) -> str:
    """A resident's call-back number as E.164 (+8613812345678); NotAPhone unless a valid mobile or landline."""
    if len(text) > MAX_PHONE_CHARS:
        raise NotAPhone(f"a phone number has at most {MAX_PHONE_CHARS} characters")
    try:
        number = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        raise NotAPhone("not a phone number") from None
    kinds = (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )
    if not phonenumbers.is_valid_number(number) or phonenumbers.number_type(number) not in kinds:
        raise NotAPhone("not a valid mobile or landline number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_for_people(e164: str, masked: bool) -> str:
    """A stored number as people write it (138 1234 5678; +44 ... abroad), its middle hidden when `masked`."""
    number = phonenumbers.parse(e164, "CN")
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if number.country_code == 86
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    shown = phonenumbers.format_number(number, style)
    return mask_phones(shown) if masked else shown
