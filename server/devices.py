"""Kiosk devices: enrollment links and the long-lived cookie that lets a kiosk page print (PROTOCOL.md v1.1).

A staff member makes an enrollment code (`hallq kiosk enroll K` or the admin API); opening its link on
the kiosk's browser uses the code up and gives that browser a device cookie. The server keeps only
hashes of codes and device secrets, so a copy of the database enrolls nobody.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update

from server.engine.errors import HallError, not_found
from server.services.context import Context
from server.store.models import KioskDeviceRow, KioskEnrollmentRow

COOKIE = "hq_kiosk"
COOKIE_MAX_AGE_S = 5 * 365 * 24 * 3600  # a kiosk PC is enrolled once and stays so until revoked
DEFAULT_VALID_S = 24 * 3600
MAX_VALID_S = 30 * 24 * 3600
CODE_RE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
DEVICE_RE = re.compile(r"^kd_([0-9a-f]{12})\.([A-Za-z0-9_-]{20,100})$")


@dataclass(frozen=True)
class Enrollment:
    kiosk: str
    code: str  # shown once, in the link
    expires_at: datetime

    @property
    def path(self) -> str:
        return f"/kiosk/{self.kiosk}/enroll?code={self.code}"


def _sha(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_enrollment(ctx: Context, kiosk_id: str, valid_s: int = DEFAULT_VALID_S) -> Enrollment:
    """A one-time enrollment code for this kiosk, usable until it expires."""
    if ctx.config.find_kiosk(kiosk_id) is None:
        raise not_found("kiosk", kiosk_id)
    if not 60 <= valid_s <= MAX_VALID_S:
        raise HallError("invalid_body", 422, f"an enrollment link lasts 60 s to {MAX_VALID_S // 86400} days")
    code, now = secrets.token_urlsafe(24), ctx.clock.now()
    expires = now + timedelta(seconds=valid_s)
    with ctx.db.write() as s:
        s.add(
            KioskEnrollmentRow(
                id=secrets.token_hex(6),
                kiosk_id=kiosk_id,
                code_hash=_sha(code),
                created_at=now,
                expires_at=expires,
            )
        )
    return Enrollment(kiosk_id, code, expires)


def enroll(ctx: Context, kiosk_id: str, code: str) -> str:
    """Use up an enrollment code; the device cookie's value for this browser. 403 when the code is no good."""
    refused = HallError("forbidden", 403, "this enrollment link is unknown, used or expired; ask for a new one")
    if not CODE_RE.match(code or ""):
        raise refused
    now, device_id, secret = ctx.clock.now(), secrets.token_hex(6), secrets.token_urlsafe(32)
    with ctx.db.write() as s:
        # Marking it used in the same statement that checks it: two browsers racing with one link, one wins.
        used = s.execute(
            update(KioskEnrollmentRow)
            .where(
                KioskEnrollmentRow.code_hash == _sha(code),
                KioskEnrollmentRow.kiosk_id == kiosk_id,
                KioskEnrollmentRow.used_at.is_(None),
                KioskEnrollmentRow.expires_at > now,
            )
            .values(used_at=now)
            .returning(KioskEnrollmentRow.id)
        ).scalar_one_or_none()
        if used is None:
            raise refused
        s.add(
            KioskDeviceRow(
                id=device_id, kiosk_id=kiosk_id, secret_hash=_sha(secret), enrollment_id=used, created_at=now
            )
        )
    return f"kd_{device_id}.{secret}"


def device_kiosk(ctx: Context, cookie: str | None) -> str | None:
    """The kiosk an enrolled browser's cookie stands for, or None (absent, malformed, unknown, revoked)."""
    match = DEVICE_RE.match(cookie or "")
    if match is None:
        return None
    device_id, secret = match.groups()
    with ctx.db.read() as s:
        row = s.get(KioskDeviceRow, device_id)
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.secret_hash, _sha(secret)):
        return None
    return row.kiosk_id


def revoke_devices(ctx: Context, kiosk_id: str) -> int:
    """Un-enroll every browser of this kiosk (a stolen or replaced kiosk PC); how many were revoked."""
    with ctx.db.write() as s:
        result = s.execute(
            update(KioskDeviceRow)
            .where(KioskDeviceRow.kiosk_id == kiosk_id, KioskDeviceRow.revoked_at.is_(None))
            .values(revoked_at=ctx.clock.now())
        )
        return int(getattr(result, "rowcount", 0) or 0)
