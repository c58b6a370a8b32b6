"""Consistency checks: of the database read straight, for crash and race tests; of a report's figures."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import create_engine, text

from server.engine.timing import replay


def check_service_row_balances(row: dict[str, int]) -> None:
    """A report's by_service row balances (docs/api.md, Report figures): what came in is what went out or waits."""
    came = row["issued"] + row["transferred_in"]
    went = row["served"] + row["no_show"] + row["closed_out"] + row["cancelled"] + row["transferred_out"]
    assert came == went + row["in_hall"], row


def check_database(url: str) -> dict[str, int]:
    """Assert the hall's state is whole; return counts by ticket status."""
    engine = create_engine(url)
    with engine.connect() as conn:
        tickets = conn.execute(
            text("SELECT id, hall_id, day, number, status, counter_id, wait_s, service_s FROM tickets")
        ).all()
        held = conn.execute(text("SELECT id, held_ticket FROM counters WHERE held_ticket IS NOT NULL")).all()
        events = conn.execute(
            text("SELECT ticket_id, kind, at FROM ledger WHERE ticket_id IS NOT NULL ORDER BY id")
        ).all()
    engine.dispose()
    by_id = {t.id: t for t in tickets}
    numbers = Counter((t.hall_id, t.day, t.number) for t in tickets)
    assert all(n == 1 for n in numbers.values()), "a number was given twice"
    holders = Counter(h.held_ticket for h in held)
    assert all(n == 1 for n in holders.values()), "a ticket is held by two counters"
    for counter_id, ticket_id in held:
        t = by_id[ticket_id]
        assert t.status in ("called", "serving") and t.counter_id == counter_id, (counter_id, t)
    in_hand = {h.held_ticket for h in held}
    for t in tickets:
        if t.status in ("called", "serving"):
            assert t.id in in_hand, f"ticket {t.number} is {t.status} but no counter holds it"
    per_ticket: dict[str, list[tuple[str, object]]] = {}
    for e in events:
        per_ticket.setdefault(e.ticket_id, []).append((e.kind, e.at))
    for tid, t in by_id.items():
        kinds = [k for k, _ in per_ticket.get(tid, [])]
        assert kinds and kinds[0] == "issued", f"ticket {t.number} has no issue event"
        phases = kinds.count("issued") + kinds.count("transferred")
        assert kinds.count("called") <= phases, f"ticket {t.number} was called twice in one wait"
        clock = replay(_aware(per_ticket[tid]))
        assert (clock.wait_s, clock.service_s) == (t.wait_s, t.service_s), t.number
    return dict(Counter(t.status for t in tickets))


def _aware(events: list[tuple[str, object]]) -> list[tuple[str, object]]:
    from datetime import UTC, datetime

    out = []
    for kind, at in events:
        if isinstance(at, str):
            at = datetime.fromisoformat(at)
        assert isinstance(at, datetime)
        out.append((kind, at.replace(tzinfo=UTC) if at.tzinfo is None else at))
    return out


def check_answer(method: str, path: str, status: int, body: object) -> None:
    """`body` is what the OpenAPI document says `method path` answers with `status` (its schema, refs and all)."""
    from jsonschema import Draft202012Validator

    from server.api.openapi import document

    doc = document()
    schema = doc["paths"][path][method]["responses"][str(status)]["content"]["application/json"]["schema"]
    errors = [e.message for e in Draft202012Validator({**schema, "components": doc["components"]}).iter_errors(body)]
    assert not errors, f"{method.upper()} {path} {status}: {errors[:5]}"
