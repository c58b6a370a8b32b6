"""The login cookie's signer, built once per process instead of on every request.

Flask's SecureCookieSessionInterface builds a new itsdangerous serializer each time a request opens or
saves its session (every request, a page's or the API's); the serializer holds nothing per request, so
one per secret key does.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface


class CachedSignerSessions(SecureCookieSessionInterface):
    def __init__(self) -> None:
        self._signer: tuple[Any, Any] | None = None

    def get_signing_serializer(self, app: Flask) -> Any:
        key = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        if self._signer is None or self._signer[0] != key:
            self._signer = (key, super().get_signing_serializer(app))
        return self._signer[1]

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        # A kiosk's or a screen's API call carries no cookie: an empty session without parsing one (Flask
        # parses the empty header into a dict on every request).
        if not request.environ.get("HTTP_COOKIE") and self.get_signing_serializer(app) is not None:
            return self.session_class()
        return super().open_session(app, request)
