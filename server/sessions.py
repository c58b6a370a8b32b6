"""The login cookie's signer, built once per process instead of on every request.

Flask's SecureCookieSessionInterface builds a new itsdangerous serializer each time a request opens or
saves its session (every request, a page's or the API's); the serializer holds nothing per request, so
one per secret key does.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.sessions import SecureCookieSessionInterface


class CachedSignerSessions(SecureCookieSessionInterface):
    def __init__(self) -> None:
        self._signer: tuple[Any, Any] | None = None

    def get_signing_serializer(self, app: Flask) -> Any:
        key = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        if self._signer is None or self._signer[0] != key:
            self._signer = (key, super().get_signing_serializer(app))
        return self._signer[1]
