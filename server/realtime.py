"""Socket.IO: namespaces for screens and pages, and publishing use-case events after commit.

Every namespace sends a full snapshot on connect, so a screen that reconnects (or missed
events) is right again at once; events only refresh what the snapshot showed.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from flask import request, session
from flask_socketio import SocketIO, emit, join_room

from server.auth import Principal, authenticate_token, may_manage, may_work_counter, user_principal
from server.engine.errors import HallError
from server.engine.events import Called, CounterChanged, Event, QueueChanged, TicketChanged
from server.services import alerts, counters, halls, notices, queue, tickets, views
from server.services.context import Context
from server.store.models import TicketRow


def hall_room(hall: str) -> str:
    return f"hall:{hall}"


def ticket_room(ticket: str) -> str:
    return f"ticket:{ticket}"


def counter_room(counter: str) -> str:
    return f"counter:{counter}"


class Publisher:
    """Turns committed events into Socket.IO messages (through Redis when several processes run)."""

    def __init__(self, socketio: SocketIO, ctx: Context) -> None:
        self.socketio = socketio
        self.ctx = ctx

    def publish(self, events: list[Event]) -> None:
        queues: dict[str, tuple[set[str], set[str]]] = defaultdict(lambda: (set(), set()))
        counts_only: set[str] = set()
        changed_tickets: dict[str, str] = {}
        changed_counters: set[tuple[str, str]] = set()
        served_changed = {e.hall for e in events if isinstance(e, QueueChanged) and e.served_changed}
        for e in events:
            if isinstance(e, Called):
                self._emit("call", call_message(self.ctx, e), "/display", hall_room(e.hall))
            elif isinstance(e, QueueChanged) and not e.places_moved:
                counts_only.add(e.hall)
            elif isinstance(e, QueueChanged):
                queues[e.hall][0].update(e.services)
                queues[e.hall][1].update(e.counters)
            elif isinstance(e, TicketChanged):
                changed_tickets[e.ticket] = e.hall
            elif isinstance(e, CounterChanged) and e.counter:
                changed_counters.add((e.hall, e.counter))
        for hall_id in counts_only - set(queues):
            self._publish_queue(hall_id, set(), set(), changed_tickets)
        for hall_id, (services, counter_ids) in queues.items():
            self._publish_queue(hall_id, services, counter_ids, changed_tickets)
        self._publish_tickets(changed_tickets)
        for hall_id in sorted(served_changed):  # the kiosk's buttons say whether anyone serves each matter
            self._emit("services", halls.services(self.ctx, hall_id), "/kiosk", hall_room(hall_id))
        for hall_id, counter_id in sorted(changed_counters):
            self._emit("counter", counter_message(self.ctx, counter_id), "/counter", counter_room(counter_id))
            self._emit("counters", halls.counters(self.ctx, hall_id), "/admin", hall_room(hall_id))

    def _publish_queue(
        self, hall_id: str, services: set[str], counter_ids: set[str], changed_tickets: dict[str, str]
    ) -> None:
        hall = self.ctx.hall(hall_id)
        with self.ctx.db.read() as s:
            counts = queue.waiting_counts(s, hall)
            places = (
                queue.places(s, hall, services, counter_ids, self.ctx.clock.now()) if services or counter_ids else {}
            )
            bodies = {tid: _waiting_body(row, where) for tid, (row, where) in places.items()}
        for name in ("/display", "/kiosk", "/counter", "/admin"):
            self._emit("waiting", counts, name, hall_room(hall_id))
        for tid, body in bodies.items():
            self._emit("ticket", body, "/track", ticket_room(tid))
            changed_tickets.pop(tid, None)

    def _publish_tickets(self, changed: dict[str, str]) -> None:
        if not changed:
            return
        with self.ctx.db.read() as s:
            bodies = {}
            for tid in changed:
                row = s.get(TicketRow, tid)
                if row is not None:
                    bodies[tid] = tickets.track_body(self.ctx, s, row)
        for tid, body in bodies.items():
            self._emit("ticket", body, "/track", ticket_room(tid))

    def _emit(self, event: str, data: Any, namespace: str, room: str) -> None:
        self.socketio.emit(event, data, namespace=namespace, to=room)


def _waiting_body(row: Any, where: queue.Place) -> dict[str, Any]:
    """The track body of a waiting ticket (the same keys as tickets.track_body)."""
    return {
        "number": row.number,
        "status": row.status,
        "ahead": where.ahead,
        "est_wait_s": where.est_wait_s,
        "served_now": where.served_now,
        "counter": None,
        "can_rate": False,
        "service": row.service_id,
        "reason": None,
    }


def call_message(ctx: Context, e: Called) -> dict[str, Any]:
    hall = ctx.hall(e.hall)
    return {
        "ticket": e.ticket,
        "number": e.number,
        "counter": e.counter,
        "counter_name": e.counter_name,
        "counter_number": e.counter_number,
        "service": e.service,
        "recall": e.recall,
        "at": views.iso(hall, e.at),
    }


def counter_message(ctx: Context, counter_id: str) -> dict[str, Any]:
    result = counters.current(ctx, counter_id)
    ticket = views.ticket(result.hall, result.ticket) if result.ticket is not None else None
    return {"counter": views.counter(result.counter, result.counter_row), "ticket": ticket}


def _socket_principal(ctx: Context, auth: Any) -> Principal | None:
    """A bearer token in the connect `auth` payload, or the page's login session."""
    if isinstance(auth, dict) and isinstance(auth.get("token"), str):
        return authenticate_token(ctx, auth["token"])
    user = session.get("user")
    return user_principal(ctx, user) if isinstance(user, str) else None


def register(socketio: SocketIO, ctx: Context) -> None:
    """Wire the namespaces: /display, /track (PROTOCOL.md) and /kiosk, /counter, /admin (docs/api.md)."""

    @socketio.on("connect", namespace="/display")
    def display_connect(auth: Any = None) -> bool:
        hall_id = request.args.get("hall", "")
        if ctx.config.hall(hall_id) is None:
            return False
        join_room(hall_room(hall_id))
        emit("snapshot", halls.display_snapshot(ctx, hall_id))
        emit("notice", notices.current(ctx, hall_id))
        return True

    @socketio.on("connect", namespace="/track")
    def track_connect(auth: Any = None) -> bool:
        token = request.args.get("token", "")
        try:
            with ctx.db.read() as s:
                row = tickets.find_by_token(s, token)
                body = tickets.track_body(ctx, s, row)
        except HallError:
            return False
        join_room(ticket_room(row.id))
        emit("ticket", body)
        return True

    @socketio.on("connect", namespace="/kiosk")
    def kiosk_connect(auth: Any = None) -> bool:
        found = ctx.config.find_kiosk(request.args.get("kiosk", ""))
        if found is None:
            return False
        hall, _ = found
        join_room(hall_room(hall.id))
        emit("services", halls.services(ctx, hall.id))
        return True

    @socketio.on("connect", namespace="/counter")
    def counter_connect(auth: Any = None) -> bool:
        found = ctx.config.find_counter(request.args.get("counter", ""))
        p = _socket_principal(ctx, auth)
        if found is None or p is None or not may_work_counter(p, found[0].id, found[1].id):
            return False
        hall, counter = found
        join_room(counter_room(counter.id))
        join_room(hall_room(hall.id))
        emit("counter", counter_message(ctx, counter.id))
        with ctx.db.read() as s:
            emit("waiting", queue.waiting_counts(s, hall))
        return True

    @socketio.on("connect", namespace="/admin")
    def admin_connect(auth: Any = None) -> bool:
        hall_id = request.args.get("hall", "")
        p = _socket_principal(ctx, auth)
        if ctx.config.hall(hall_id) is None or p is None or not may_manage(p, hall_id):
            return False
        join_room(hall_room(hall_id))
        emit("counters", halls.counters(ctx, hall_id))
        with ctx.db.read() as s:
            emit("waiting", queue.waiting_counts(s, ctx.hall(hall_id)))
        emit("alerts", alerts.active(ctx, hall_id))
        emit("notice", notices.current(ctx, hall_id))
        return True
