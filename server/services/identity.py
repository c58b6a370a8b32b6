"""The installation's key for residents' identity data, and the ID number as matters take it.

One key for every keyed hash of a resident (appointments, remote tickets' track tokens, matters):
`<data_dir>/person.key`, 64 hex digits, made once on first use, readable by the service alone (0600). A
leaked database then tells nobody whose ID numbers it holds, and the same person is still recognised,
whichever use case recorded them. The hashing itself is a pure rule (server/engine/identity.py).

Matters used a key of their own, `<data_dir>/identity_key`, for a short while; it is no longer read. The
key file appointments already made is the one kept, so their stored hashes still match.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

from server.engine import identity
from server.engine.errors import HallError, invalid
from server.engine.identity import id_hash as id_hash
from server.engine.identity import mask_name as mask_name
from server.engine.identity import mask_phone as mask_phone

KEY_FILE = "person.key"
_keys: dict[str, bytes] = {}


def identity_key(data_dir: Path | str) -> bytes:
    """The installation's key (made once in the data folder, 0600; every process reads the same one)."""
    folder = Path(data_dir)
    cached = _keys.get(str(folder))
    if cached is not None:
        return cached
    path = folder / KEY_FILE
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # made before, or by another process: use it
        pass
    else:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    for _ in range(50):  # another process may be writing it this instant
        value = path.read_text().strip()
        if len(value) == 64:
            break
        time.sleep(0.02)
    else:
        raise RuntimeError(f"{path} does not hold a 64-hex-digit key")
    _keys[str(folder)] = bytes.fromhex(value)
    return _keys[str(folder)]


def check_id_number(value: str) -> str:
    """An 18-character resident ID number with a valid check digit, normalised; 422 otherwise."""
    try:
        return identity.check_id_number(value)
    except HallError:
        raise invalid("id_number must be an 18-character resident ID number with a valid check digit") from None


def mask_id(id_number: str) -> str:
    """A matter's applicant: 110***********1234, the first three digits and the last four."""
    return identity.mask_id(id_number)
