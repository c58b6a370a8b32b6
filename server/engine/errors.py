"""One family of errors for every rule the hall can refuse."""

from __future__ import annotations


class HallError(Exception):
    """A refusal with a stable snake_case code and an HTTP status for the edge."""

    def __init__(
        self, code: str, status: int = 409, message: str | None = None, extra: dict[str, object] | None = None
    ) -> None:
        super().__init__(message or code.replace("_", " "))
        self.code = code
        self.status = status
        self.message = message or code.replace("_", " ")
        self.extra = extra or {}  # more fields of the error body (PROTOCOL v1.2: `until`, `opens_at`, `number`)


def not_found(what: str, ident: object) -> HallError:
    """A 404 for an unknown hall, service, counter, kiosk or ticket."""
    return HallError("not_found", 404, f"unknown {what}: {ident!s:.80}")


def invalid(message: str, code: str = "invalid_body") -> HallError:
    """A 422 for a body that parsed but does not make sense."""
    return HallError(code, 422, message)
