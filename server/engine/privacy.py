"""Residents' personal data in free text: mobile and ID card numbers, hidden wherever text leaves the staff."""

from __future__ import annotations

import re

# Mobile numbers, also written +86 138 1234 5678 or 138-1234-5678.
_PHONE = re.compile(r"(?<![\d+])((?:\+?86[ -]?)?1[3-9]\d)[ -]?\d{4}[ -]?(\d{4})(?!\d)")
_ID_CARD = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[\dXx])(?![0-9A-Za-z])")  # 18 digits
_OLD_ID_CARD = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{6}(\d{3})(?![0-9A-Za-z])")  # the first generation's 15


def mask_personal(text: str) -> str:
    """Mobile numbers keep their first three and last four digits, ID numbers their region and last digits."""
    text = _PHONE.sub(r"\1****\2", text)
    text = _ID_CARD.sub(r"\1********\2", text)
    return _OLD_ID_CARD.sub(r"\1******\2", text)
