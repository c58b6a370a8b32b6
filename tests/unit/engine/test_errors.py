"""server.engine.errors: one family of refusals with a code, an HTTP status and a message."""

from __future__ import annotations

from server.engine.errors import HallError, invalid, not_found


def test_a_refusal_defaults_to_409_and_a_message_spelled_from_its_code() -> None:
    err = HallError("service_closed")
    assert (err.code, err.status, err.message) == ("service_closed", 409, "service closed")
    assert str(err) == "service closed"


def test_a_refusal_keeps_its_own_message_and_status() -> None:
    err = HallError("daily_limit", 429, "no more numbers today")
    assert (err.code, err.status, err.message, str(err)) == (
        "daily_limit",
        429,
        "no more numbers today",
        "no more numbers today",
    )


def test_unknown_things_are_404_and_named() -> None:
    err = not_found("counter", "w9")
    assert (err.code, err.status) == ("not_found", 404)
    assert err.message == "unknown counter: w9"


def test_an_unknown_identifier_is_cut_short_in_the_message() -> None:
    err = not_found("ticket", "x" * 500)
    assert err.message == "unknown ticket: " + "x" * 80


def test_a_body_that_makes_no_sense_is_422() -> None:
    err = invalid("give exactly one of 'service' or 'counter'")
    assert (err.code, err.status) == ("invalid_body", 422)
    assert invalid("bad day", "invalid_query").code == "invalid_query"
