"""A resident's identity as bookings need it: a checked ID number and phone, and keyed hashes of them.

The ID number is never stored in clear: the limits and the no-show rule compare a keyed hash (HMAC-SHA256
with the installation's secret, so the hashes of the small space of ID numbers cannot be tabulated without
it), and staff see the masked form.
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
    return name


def person_hash(secret: bytes, kind: str, value: str) -> str:
    """The keyed hash of an ID number or phone (`kind` keeps the two apart)."""
    return hmac.new(secret, f"hallq-person\0{kind}\0{value}".encode(), hashlib.sha256).hexdigest()
