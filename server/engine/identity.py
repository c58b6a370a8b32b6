"""A resident's identity as bookings and matters need it: a checked ID number and phone, keyed hashes of
them, and the masked forms staff see.

The ID number is never stored in clear: the limits, the no-show rule and any lookup compare a keyed hash
(HMAC-SHA256 with the installation's secret, so the hashes of the small space of ID numbers cannot be
tabulated without it). The secret is the service layer's to load (server/services/identity.py): these
rules only use it.
"""

from __future__ import annotations

import hashlib
import hmac

import phonenumbers
from stdnum.cn import ric
from stdnum.exceptions import ValidationError

from .errors import HallError


def check_id_number(text: object) -> str:
    """An 18-character resident ID number with a valid check digit (compact, X upper-case); 422 otherwise."""
    if not isinstance(text, str) or len(text) > 40:
        raise HallError("invalid_id_number", 422, "id_number must be an 18-character resident ID number")
    try:
        number: str = ric.validate(text.strip())
    except ValidationError as e:
        raise HallError("invalid_id_number", 422, f"not a valid resident ID number: {e}") from None
    if len(number) != 18:
        raise HallError("invalid_id_number", 422, "id_number must be an 18-character resident ID number")
    return number


def check_phone(text: object) -> str:
    """A Chinese phone number as its national digits (13812345678); 422 `invalid_phone` otherwise."""
    if not isinstance(text, str) or not 5 <= len(text) <= 24:
        raise HallError("invalid_phone", 422, "phone must be a Chinese phone number")
    try:
        parsed = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        raise HallError("invalid_phone", 422, "phone must be a Chinese phone number") from None
    if parsed.country_code != 86 or not phonenumbers.is_valid_number(parsed):
        raise HallError("invalid_phone", 422, "phone must be a valid Chinese phone number")
    return str(parsed.national_number)


def check_name(text: object, longest: int = 40) -> str:
    if not isinstance(text, str) or not text.strip():
        raise HallError("invalid_name", 422, "name must not be empty")
    name = " ".join(text.split())
    if len(name) > longest:
        raise HallError("invalid_name", 422, f"name is longer than {longest} characters")
    if not any(ch.isalpha() for ch in name):  # what a body's cleaning left of control characters (U+FFFD), digits
        raise HallError("invalid_name", 422, "a name has letters")
    return name


def person_hash(secret: bytes, kind: str, value: str) -> str:
    """The keyed hash of an ID number or phone (`kind` keeps the two apart)."""
    return hmac.new(secret, f"hallq-person\0{kind}\0{value}".encode(), hashlib.sha256).hexdigest()


def id_hash(secret: bytes, id_number: str) -> str:
    """The keyed hash of a checked ID number: the same person has the same one in appointments and matters."""
    return person_hash(secret, "id", id_number)


def mask_name(name: str) -> str:
    """张三 → 张*; 欧阳娜娜 → 欧***; Li Lei → L*****; nothing stays nothing."""
    return name[:1] + "*" * max(1, len(name) - 1) if name else ""


def mask_phone(phone: str) -> str:
    """13812345678 → 138****5678."""
    digits = phone.strip()
    return digits[:3] + "****" + digits[-4:] if len(digits) >= 8 else "*" * len(digits)


def mask_id(id_number: str, keep: int = 3) -> str:
    """The first `keep` digits and the last four: 110***********002X. Not the six of the region code: with the
    region and the last four kept, only the birth date is unknown (tens of thousands of candidates, most ruled
    out by the check digit), and a copy of the database with its person.key would give every number back."""
    return id_number[:keep] + "*" * (len(id_number) - keep - 4) + id_number[-4:]
