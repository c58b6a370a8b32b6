"""Residents' identity data: ID numbers checked, kept only as a keyed hash and a masked form.

The key is the installation's own (a file in the data folder, readable by the service alone): a leaked
database then tells nobody whose ID numbers it holds, and the same person is still recognised.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from stdnum.cn import ric
from stdnum.exceptions import ValidationError

from server.engine.errors import invalid

KEY_FILE = "identity_key"


def identity_key(data_dir: Path) -> bytes:
    """The installation's key for ID number hashes, made once (0600) on first use."""
    path = data_dir / KEY_FILE
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_hex(32)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first: use theirs
            return bytes.fromhex(path.read_text().strip())
        with os.fdopen(fd, "w") as f:
            f.write(key)
        return bytes.fromhex(key)


def check_id_number(value: str) -> str:
    """An 18-character resident ID number with a valid check digit, normalised; 422 otherwise."""
    try:
        return str(ric.validate(value.strip().upper()))
    except ValidationError:
        raise invalid("id_number must be an 18-character resident ID number with a valid check digit") from None


def id_hash(key: bytes, id_number: str) -> str:
    return hmac.new(key, id_number.encode(), hashlib.sha256).hexdigest()


def mask_id(id_number: str) -> str:
    """110101********1234 → 110***********1234: the region's first digits and the last four."""
    return id_number[:3] + "*" * (len(id_number) - 7) + id_number[-4:]


def mask_name(name: str) -> str:
    """张三 → 张*, 欧阳娜娜 → 欧***."""
    return name[:1] + "*" * max(1, len(name) - 1) if name else ""


def mask_phone(phone: str) -> str:
    """13812345678 → 138****5678."""
    digits = phone.strip()
    return digits[:3] + "****" + digits[-4:] if len(digits) >= 8 else "*" * len(digits)
