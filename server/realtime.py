"""Socket.IO: namespaces for screens and pages, and publishing use-case events after commit.

Every namespace sends a full snapshot on connect, so a screen that reconnects (or missed
events) is right again at once; events only refresh what the snapshot showed.
"""

from __future__ import annotations

import itertools
import logging
import math
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from queue import Queue
from typing import Any, Literal, NamedTuple, Protocol, runtime_checkable

from flask import request, session
from flask_socketio import SocketIO, emit, join_room

from server import socket_guard
from server.auth import Principal, authenticate_token, may_manage, may_work_counter, session_principal
from server.bus import HallBus, Heard
from server.engine.errors import HallError
from server.engine.events import Called, CounterChanged, Event, QueueChanged, TicketChanged
from server.engine.model import Hall
from server.services import alerts, board, counters, halls, notice_line, queue, tickets, views
from server.services.context import Context
from server.store.models import TicketRow

log = logging.getLogger("hallq")


def hall_room(hall: str) -> str:
    return f"hall:{hall}"


def ticket_room(ticket: str) -> str:
    return f"ticket:{ticket}"


def counter_room(counter: str) -> str:
    return f"counter:{counter}"


def kiosk_room(kiosk: str) -> str:
    return f"kiosk:{kiosk}"


def queue_room(hall: str) -> str:
    return f"queue:{hall}"


WAITING_TO = ("/display", "/kiosk", "/counter", "/admin")  # the namespaces that show the waiting counts


Message = tuple[str, Any, str, str]  # event, data, namespace, room


class CountsRead(NamedTuple):
    """A read of a hall's waiting counts, numbered before it starts (its snapshot starts later), so the read
    numbered last is never older than a commit whose own read was numbered: `local` in this process, and with
    several processes `shared` by all of them in the numbering `epoch` (None when the queue did not answer)."""

    local: int
    epoch: str | None = None
    shared: int = 0


@runtime_checkable
class OrderedQueue(Protocol):
    """A message queue that orders what several processes send to the screens (server/mq.py's Redis manager)."""

    def number(self, key: str) -> tuple[str, int]: ...

    def send(
        self, calls: list[Message], key: str = "", counts: tuple[str, int, list[Message]] | None = None
    ) -> int: ...

    def retry_in(self) -> float: ...


class _Batch(NamedTuple):
    """One committed use case's events, and the halls whose waiting counts already went out behind its call."""

    events: list[Event]
    counted: frozenset[str]


class Publisher:
    """Turns committed events into Socket.IO messages (through Redis when several processes run).

    The request that committed only announces calls (what screens wait for), with the waiting counts
    right behind a call that moved them (`_counts_behind`); everything else is built by one background
    worker, in commit order, after the answer has gone: waiting counts once per batch (an issue's), a
    queue-level `queue` event for a ticket that joined or left a queue, the `ticket` body of each ticket
    that changed, and counter updates: work per event is what changed.

    Residents' pages also see their place and estimate move when others' tickets are called. Those are
    worked out by one coalesced refresh per hall (`_refresh`: at most once per pause, whatever the event
    rate), from the shared forecast (services.board), and only for the pages connected to THIS process:
    with several processes each delivered batch is announced to the others (server/bus.py), and each
    refreshes its own pages. A ticket's `ticket` body is built only by a process its page is connected
    to, and sent there locally (the batch's changed tickets ride the announcement): a ticket nobody
    watches costs no body anywhere. Nothing here is per waiting ticket per event.
    """

    def __init__(self, socketio: SocketIO, ctx: Context) -> None:
        self.socketio = socketio
        self.ctx = ctx
        self.shared = ctx.config.settings.message_queue is not None  # rooms span processes: send blind
        self._pending: Queue[_Batch | Heard] = Queue()  # our own batches, and other processes' news
        self._count_reads = itertools.count(1)  # numbers each read of a hall's waiting counts, in start order
        manager = getattr(getattr(socketio, "server", None), "manager", None)
        # Several processes: reads are numbered, and counts sent, in one order for all (_number, _send_counts)
        self._ordered = manager if self.shared and isinstance(manager, OrderedQueue) else None
        self._counts_sent: dict[str, int] = {}  # hall → the number of the read whose counts went out last
        self._counts_lock = threading.Lock()
        self._recounting: set[str] = set()  # halls whose counts are read and sent again in the queue's order
        self._recount_again: set[str] = set()  # ... and asked for again meanwhile
        self._worker_started = False
        self._dirty: set[str] = set()
        self._refreshing: set[str] = set()
        self._next_run: dict[str, float] = {}  # hall → when its forecast may run again (monotonic)
        # In-process tests set both to 0: settle() then never waits out a pause.
        self.refresh_pause_s = REFRESH_PAUSE_S
        self.refresh_share = REFRESH_SHARE
        self.batch_gap_s = BATCH_GAP_S
        self._sent: dict[str, dict[str, Any]] = {}  # last `ticket` body per waiting ticket watched here
        ctx.boards.on_stale = self._board_stale
        settings = ctx.config.settings
        # Other processes' changes move the places of the residents' pages connected here (server/bus.py).
        queue_url = settings.message_queue
        self.bus = HallBus(queue_url, settings.message_channel, self._heard) if queue_url is not None else None
        self._bus_started = False

    def start_bus(self) -> None:
        """Hear the other processes' hall changes (from the first publish or resident's page on)."""
        if self.bus is not None and not self._bus_started:
            self._bus_started = True
            self.socketio.start_background_task(self.bus.listen)

    def _heard(self, news: Heard) -> None:
        """Another process changed these halls (in its bus listener): the pages connected here that it concerns
        get their bodies and moves from the worker, in order with ours; their places by the coalesced refresh."""
        halls_here = [h for h in news.halls if self.ctx.config.hall(h) is not None]
        for hall_id in halls_here:
            if self._local("/track", queue_room(hall_id)):
                self._board_stale(hall_id)
        tickets = {t: h for t, h in news.tickets.items() if self._local("/track", ticket_room(t))}
        if tickets:
            self._pending.put(Heard(halls_here, tickets))
            self._start_worker()

    def publish(self, events: list[Event]) -> None:
        """Announce a committed use case's calls now, and leave the rest to the worker. Never raises: the
        change is committed, and its request answers as such (a page that missed a message resyncs)."""
        calls = [e for e in events if isinstance(e, Called)]
        moved = {e.hall for e in calls if not e.recall} & {e.hall for e in events if isinstance(e, QueueChanged)}
        counts = self._counts_behind(moved)
        sent: set[str] = set()
        try:
            messages = [("call", call_message(self.ctx, e), "/display", hall_room(e.hall)) for e in calls]
            for hall_id, (read, waiting) in counts.items():  # one hall in practice: a counter's action
                if self._send_counts(hall_id, read, waiting, messages) != "lost":
                    sent.add(hall_id)
                messages = []  # they went right ahead of the first hall's counts
            self._send_calls(messages)
        except Exception:  # noqa: BLE001 - the worker still delivers the rest, and the counts not sent
            log.exception("announcing %d calls failed", len(calls))
        self._pending.put(_Batch(events, frozenset(sent)))
        self._start_worker()
        self.start_bus()

    def _queue(self) -> OrderedQueue | None:
        """The queue that orders what processes send, unless Redis refuses its scripts (an ACL, EVAL disabled):
        then, for good, this process sends as it did before ordered counts."""
        if self._ordered is not None and math.isinf(self._ordered.retry_in()):
            self._ordered = None
        return self._ordered

    def _send_calls(self, messages: list[Message]) -> None:
        """With several processes, through the queue to every screen, this process's too: every screen then
        hears the calls, and the counts behind them, in one order."""
        ordered = self._queue()
        if ordered is not None and messages:
            try:
                ordered.send(messages)
                return
            except Exception:  # noqa: BLE001 - the ordered client failed: sent as any other event
                log.warning("the message queue refused %d calls: sent without its order", len(messages))
        for message in messages:
            self._emit(*message)

    def _counts_behind(self, halls: set[str]) -> dict[str, tuple[CountsRead, dict[str, int]]]:
        """The waiting counts of the halls where a number was just called, to send right behind the call.

        Each screen's socket then has both messages queued at once and sends them together: one TCP
        transmission a call, not two (the worker's counts left later, on their own; bench/README.md, issue
        25's eighth pass). They are read before the call is sent: a read on PostgreSQL waits on the network,
        and the screens' writers would send the call alone meanwhile. An issue's counts still go with the
        worker's batch. A hall without a screen, or whose read failed or would have waited, is left to the
        worker."""
        found: dict[str, tuple[CountsRead, dict[str, int]]] = {}
        for hall_id in sorted(halls):
            if not self._audience("/display", hall_room(hall_id)):
                continue  # no screen: the worker's batch serves the counters and managers
            try:
                read = self._number(hall_id)
                with self.ctx.db.read_if_free() as s:
                    if s is None:  # another transaction has SQLite's turn: the call is not kept waiting for it
                        continue
                    found[hall_id] = read, queue.waiting_counts(s, self.ctx.hall(hall_id))
            except Exception:  # noqa: BLE001 - the call is committed: it is announced, the worker counts
                log.exception("counting %s behind a call failed", hall_id)
        return found

    def _number(self, hall_id: str) -> CountsRead:
        """Number a read of the hall's waiting counts, before it starts: in this process, and with several
        processes in the numbering they share (the counts one sends must not overwrite another's newer ones)."""
        local = next(self._count_reads)
        ordered = self._queue()
        if ordered is not None and ordered.retry_in() == 0:  # not while it is known to be away
            try:
                epoch, shared = ordered.number(f"counts:{hall_id}")
                return CountsRead(local, epoch, shared)
            except Exception:  # noqa: BLE001 - the queue is away: this process's own order
                log.warning("the message queue did not number a read of %s's counts", hall_id)
        return CountsRead(local)

    def _send_counts(
        self, hall_id: str, read: CountsRead, counts: dict[str, int], calls: list[Message] | None = None
    ) -> Literal["ordered", "lost", "unordered"]:
        """Send `calls`, then a read's counts right behind them unless a later read's went out already: a
        request counting behind its call and the worker counting a batch run at once (in this process or
        another), and an older read must not overwrite a newer one.

        "ordered": in the order every process keeps (or this process alone has no other); "lost": the shared
        numbering was gone (Redis lost its data), nothing sent; "unordered": the queue failed, and they went
        out in this process's order only. The last two are read and sent again once the queue answers."""
        messages = [("waiting", counts, name, hall_room(hall_id)) for name in WAITING_TO]
        calls = calls or []
        ordered = self._queue()
        if read.epoch is not None and ordered is not None:
            try:  # the check and the sending are one step in Redis, for every process
                done = ordered.send(calls, f"counts:{hall_id}", (read.epoch, read.shared, messages))
            except Exception:  # noqa: BLE001 - the ordered client failed: this process's order below
                log.warning("the message queue refused %s's counts: sent without its order", hall_id)
            else:
                if done < 0:
                    self._recount_later(hall_id)
                    return "lost"
                if done > 0:
                    with self._counts_lock:  # a fallback send of an older read must not follow it
                        self._counts_sent[hall_id] = max(read.local, self._counts_sent.get(hall_id, 0))
                return "ordered"
        # With several processes the queue just failed: the counts go to this process's screens (each of four
        # messages would wait out a timeout on a Redis that stopped answering), everyone's at the recount below.
        local = self._queue() is not None
        with self._counts_lock:  # held while sending too: a publish to Redis yields, and sends must not cross
            for message in calls:
                self._emit(*message)
            if read.local > self._counts_sent.get(hall_id, 0):
                self._counts_sent[hall_id] = read.local
                for message in messages:
                    self._emit(*message, local=local)
        if not local:
            return "ordered"
        self._recount_later(hall_id)
        return "unordered"

    def _recount_later(self, hall_id: str) -> None:
        """Read the hall's counts and send them again in the queue's order once it answers: counts that went
        out without it (or were lost with its numbering) may be older than another process's."""
        if hall_id in self._recounting:
            self._recount_again.add(hall_id)  # its read may be older than what asks now: once more after it
        else:
            self._recounting.add(hall_id)
            self.socketio.start_background_task(self._recount, hall_id)

    def _recount(self, hall_id: str) -> None:
        """Until the hall's counts went out in the queue's order (however long Redis stays away: a screen of
        another process must not keep older counts until the hall's next change), trying again after each
        back-off and then at most every RECOUNT_MAX_S. Redis refusing the scripts ends it: the counts go out
        as without order, to every process."""
        pause = RECOUNT_PAUSE_S
        try:
            while True:
                ordered = self._queue()
                self.socketio.sleep(min((ordered.retry_in() if ordered else 0) + pause, RECOUNT_MAX_S))  # type: ignore[arg-type]
                self._recount_again.discard(hall_id)
                read = self._number(hall_id)
                if read.epoch is None and self._queue() is not None:
                    pause = min(pause * 2, RECOUNT_MAX_S)  # still away
                    continue
                with self.ctx.db.read() as s:
                    counts = queue.waiting_counts(s, self.ctx.hall(hall_id))
                if self._send_counts(hall_id, read, counts) == "ordered" and hall_id not in self._recount_again:
                    return
        except Exception:  # noqa: BLE001 - the hall's next change counts again
            log.exception("counting %s again failed", hall_id)
        finally:
            self._recounting.discard(hall_id)
            self._recount_again.discard(hall_id)

    def _start_worker(self) -> None:
        if not self._worker_started:
            self._worker_started = True
            self.socketio.start_background_task(self._work)

    def _work(self) -> None:
        delivered = 0.0  # when the last batch went out (monotonic)
        while True:
            batch = [self._pending.get()]
            # A busy process's changes go out together: waiting counts, the kiosks' services and the hall's
            # announcement once per gap, not once per ticket (what every process would otherwise receive).
            wait = delivered + self.batch_gap_s - time.monotonic()
            if wait > 0:
                self.socketio.sleep(wait)  # type: ignore[arg-type]
            while not self._pending.empty():
                batch.append(self._pending.get_nowait())
            try:
                ours = [b for b in batch if not isinstance(b, Heard)]
                if ours:
                    self._deliver(ours)
                for news in batch:
                    if isinstance(news, Heard):
                        self._deliver_heard(news)
            except Exception:  # noqa: BLE001 - a failed delivery must not stop later ones; pages resync
                log.exception("publishing events failed")
            finally:
                delivered = time.monotonic()
                for _ in batch:
                    self._pending.task_done()

    def flush(self, timeout: float = 30) -> bool:
        """Wait until everything published so far has gone out, and no forecast refresh nor recount runs.

        For whoever must know the background work is done: a test before it looks at the database
        again or closes it, a process before it disposes of its database. False after `timeout`.
        """
        deadline = time.monotonic() + timeout
        while self._pending.unfinished_tasks or self._refreshing or self._recounting:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.005)  # green under eventlet or gevent (monkey-patched), a thread sleep otherwise
        return True

    def _deliver(self, batch: list[_Batch]) -> None:
        halls_changed: set[str] = set()
        moved: dict[str, dict[str, str]] = defaultdict(dict)  # hall → {ticket: "joined" | "left"}
        changed_tickets: dict[str, str] = {}
        changed_counters: set[tuple[str, str]] = set()
        served_changed: set[str] = set()
        queues_changed: set[str] = set()  # halls where a ticket joined or left a queue: the counts moved
        for events, counted in batch:
            # A call takes a ticket out of its queue; a priority issue or a transfer puts one in.
            left = {e.ticket for e in events if isinstance(e, Called) and not e.recall}
            movers = {
                e.ticket: "left" if e.ticket in left else "joined" for e in events if isinstance(e, TicketChanged)
            }
            for e in events:
                if isinstance(e, QueueChanged):
                    halls_changed.add(e.hall)
                    if e.hall not in counted:  # counted behind its call already (publish)
                        queues_changed.add(e.hall)
                    if e.served_changed:
                        served_changed.add(e.hall)
                    if e.places_moved:
                        moved[e.hall].update(movers)
                elif isinstance(e, TicketChanged):
                    changed_tickets[e.ticket] = e.hall
                    halls_changed.add(e.hall)
                elif isinstance(e, CounterChanged):
                    halls_changed.add(e.hall)
                    if e.counter:
                        changed_counters.add((e.hall, e.counter))
        for hall_id in sorted(halls_changed):
            self._publish_hall(hall_id, hall_id in queues_changed, moved.get(hall_id, {}))
        self._publish_tickets(changed_tickets)
        # Kiosks show each service's count, wait and whether anyone serves it: any change of the hall moves them.
        for hall_id in sorted(halls_changed | served_changed):
            if self._audience("/kiosk", hall_room(hall_id)):
                self._emit("services", halls.services(self.ctx, hall_id), "/kiosk", hall_room(hall_id))
        for _hall, counter_id in sorted(changed_counters):
            if self._audience("/counter", counter_room(counter_id)):
                self._emit("counter", counter_message(self.ctx, counter_id), "/counter", counter_room(counter_id))
        for hall_id in sorted({h for h, _ in changed_counters}):
            if self._audience("/admin", hall_room(hall_id)):
                self._emit("counters", halls.counters(self.ctx, hall_id), "/admin", hall_room(hall_id))
        for hall_id in halls_changed:
            self._board_stale(hall_id)  # the pages watching this hall here get their places, coalesced
        if self.bus is not None:  # ... and those connected to the other processes, by those processes
            self.bus.announce(halls_changed, changed_tickets)

    def _deliver_heard(self, news: Heard) -> None:
        """Another process's changed tickets whose pages are connected here (already filtered by `_heard`)."""
        self._publish_tickets(news.tickets)

    def _publish_hall(self, hall_id: str, counted: bool, movers: dict[str, str]) -> None:
        """`counted`: a queue changed (a ticket joined or left one), so the waiting counts go to every screen;
        a start, finish, recall, no-show or rating changes no count and sends none. The places of the pages
        watching this hall are not worked out here, per event, but by the coalesced refresh (`_refresh`).
        `queue` moves are worked out once, here, for the pages of every process (a few reads per mover)."""
        hall = self.ctx.hall(hall_id)
        if not self._audience("/track", queue_room(hall_id)):
            movers = {}
        read = self._number(hall_id) if counted else CountsRead(0)
        if counted or movers:
            with self.ctx.db.read() as s:
                counts = queue.waiting_counts(s, hall)
                moves = [m for m in (queue_move(s, tid, change, counts) for tid, change in movers.items()) if m]
        else:
            counts, moves = {}, []
        if counted:
            self._send_counts(hall_id, read, counts)
        for move in moves:  # residents' pages only: the call screen shows calls and counts, not places
            self._emit("queue", move, "/track", queue_room(hall_id))

    def _publish_places(self, hall: Hall) -> None:
        """Each resident watching a waiting ticket of this hall FROM THIS PROCESS gets its body if it changed.

        Work is per page connected here (its row, its people ahead, its estimate from the shared board),
        never per waiting ticket: the other processes do the same for their own pages (server/bus.py)."""
        watched = self._watched()
        if not watched:
            self._sent.clear()
            return
        now = self.ctx.clock.now()
        with self.ctx.db.read() as s:
            shared, exact = self.ctx.boards.current(s, hall, now)
            hall_desks = None if exact else queue.desks(s, hall)
            bodies: dict[str, dict[str, Any]] = {}
            for row in queue.waiting_rows_of(s, hall.id, watched):
                where = shared.place(row, queue.ahead_count(s, row), now, hall_desks)
                bodies[row.id] = tickets.track_body(self.ctx, s, row, where)
        for tid in [t for t in self._sent if t not in watched]:  # pages gone, tickets called: forget them
            del self._sent[tid]
        for tid, body in bodies.items():
            if self._sent.get(tid) != body:
                self._sent[tid] = body
                self._emit("ticket", body, "/track", ticket_room(tid), local=True)

    def watching(self, ticket_id: str, body: dict[str, Any]) -> None:
        """A resident's page connected here with this body: later refreshes send it only what changed."""
        self.start_bus()
        if body["status"] == "waiting":
            self._sent[ticket_id] = body

    def _watched(self) -> set[str]:
        """Tickets whose page is connected to this process (its own rooms: other processes have theirs)."""
        rooms = self.socketio.server.manager.rooms.get("/track", {})  # type: ignore[attr-defined]
        found = list(rooms.items())  # a copy: clients may join or leave meanwhile (threads in tests)
        return {room[7:] for room, members in found if isinstance(room, str) and room.startswith("ticket:") and members}

    def _publish_tickets(self, changed: dict[str, str]) -> None:
        """The new body of each changed ticket whose page is connected HERE (others' pages: their processes)."""
        wanted = [tid for tid in changed if self._local("/track", ticket_room(tid))]
        if not wanted:
            return
        with self.ctx.db.read() as s:
            bodies = {}
            for tid in wanted:
                row = s.get(TicketRow, tid)
                if row is not None:
                    bodies[tid] = tickets.track_body(self.ctx, s, row)
        for tid, body in bodies.items():
            if body["status"] != "waiting":
                self._sent.pop(tid, None)
            else:
                self._sent[tid] = body
            self._emit("ticket", body, "/track", ticket_room(tid), local=True)

    def _board_stale(self, hall_id: str) -> None:
        """Recompute the hall's forecast in the background; one refresher per hall, CPU share bounded."""
        self._dirty.add(hall_id)
        if hall_id not in self._refreshing:
            self._refreshing.add(hall_id)
            self.socketio.start_background_task(self._refresh, hall_id)

    def _refresh(self, hall_id: str) -> None:
        """Run the forecast while the hall keeps changing, at most once per pause (the pause before a run,
        not after: a quiet hall's single change is forecast at once, a busy hall's changes coalesce)."""
        hall = self.ctx.hall(hall_id)
        try:
            while hall_id in self._dirty:
                wait = self._next_run.get(hall_id, 0.0) - time.monotonic()
                if wait > 0:
                    self.socketio.sleep(wait)  # type: ignore[arg-type]
                self._dirty.discard(hall_id)
                started = time.perf_counter()
                watched = self._local("/track", queue_room(hall_id))
                with self.ctx.db.read() as s:
                    version = board.ledger_head(s)
                last = self.ctx.boards.peek(hall_id)
                if (watched or last is None or last.version != version) and not self._forecast(hall, version):
                    self._dirty.add(hall_id)  # another process is making it: take theirs after the pause
                self._publish_places(hall)  # new places and estimates reach the residents' pages here
                gap = max(self.refresh_pause_s, self.refresh_share * (time.perf_counter() - started))
                self._next_run[hall_id] = time.monotonic() + gap
        except Exception:  # noqa: BLE001 - the next change starts a new refresher
            log.exception("refreshing the forecast failed")
        finally:
            self._refreshing.discard(hall_id)

    def _forecast(self, hall: Hall, version: Any) -> bool:
        """Bring this process's board of the hall up to date: False while another process is making it.

        With several processes one forecast run serves them all (server/bus.py keeps the last board in
        Redis): a board made from this very state, or by another process within the pause (as fresh as a
        busy hall's board ever is here), is taken as it is; else this process makes one and shares it,
        unless another is making one right now. Redis is asked outside any database session (a transaction
        never waits on the network: SQLite's would hold the process lock, PostgreSQL's a pooled connection).
        `version` was read before the board's rows are: a board is never newer than its label."""
        bus = self.bus
        if bus is None:
            self._make(hall, version)
            return True
        own = self.ctx.boards.peek(hall.id)
        theirs, fresh = self._shared(bus, hall)
        newer = theirs is not None and (own is None or _line(theirs.version) >= _line(own.version))
        if theirs is not None and newer and (theirs.version == version or fresh):
            self.ctx.boards.adopt(hall.id, theirs)
            return True
        if bus.claim_board(hall.id, BOARD_MAKING_S):
            try:
                made = self._make(hall, version)
            except BaseException:
                bus.release_board(hall.id)
                raise
            bus.store_board(hall.id, made.dumps(), BOARD_KEEP_S, self.refresh_pause_s)
            return True
        if theirs is not None and newer:
            self.ctx.boards.adopt(hall.id, theirs)
        return False

    def _make(self, hall: Hall, version: Any) -> board.Board:
        with self.ctx.db.read() as s:
            return self.ctx.boards.refresh(s, hall, self.ctx.clock.now(), version)

    def _shared(self, bus: HallBus, hall: Hall) -> tuple[board.Board | None, bool]:
        """The board another process shared (None if none, or one this version cannot read), and whether it
        is fresh: made by another process within the pause."""
        found = bus.fetch_board(hall.id)
        if found is None:
            return None, False
        try:
            theirs = board.Board.loads(hall, found.text)
        except (ValueError, KeyError, TypeError) as e:  # another version's format, or damaged: make our own
            log.warning("ignoring the shared forecast of %s: %s", hall.id, e)
            return None, False
        return theirs, found.fresh and found.by != bus.origin

    def printer_changed(self, kiosk_id: str, state: str, hall_id: str) -> None:
        """A kiosk printer's new state: to that kiosk's page; its alert raised or cleared now, to managers."""
        self._emit("printer", {"kiosk": kiosk_id, "state": state}, "/kiosk", kiosk_room(kiosk_id))
        for alert in alerts.printer(self.ctx, hall_id, kiosk_id, state):
            self._emit("alert", alert, "/admin", hall_room(hall_id))

    def _audience(self, namespace: str, room: str) -> bool:
        """Whether anyone may be in this room: always with a message queue (other processes' clients)."""
        return self.shared or self._local(namespace, room)

    def _local(self, namespace: str, room: str) -> bool:
        """Whether a client of THIS process is in this room."""
        rooms = self.socketio.server.manager.rooms.get(namespace, {})  # type: ignore[attr-defined]
        return bool(rooms.get(room))

    def alert_changed(self, hall_id: str, alert: dict[str, Any]) -> None:
        """An alert raised or cleared outside the scan (a clerk's 求助 and its answer): to managers at once."""
        self._emit("alert", alert, "/admin", hall_room(hall_id))

    def _emit(self, event: str, data: Any, namespace: str, room: str, local: bool = False) -> None:
        """`local`: to this process's clients only (not through the message queue)."""
        if local and self.shared:
            self.socketio.emit(event, data, namespace=namespace, to=room, ignore_queue=True)  # type: ignore[call-arg]
        else:
            self.socketio.emit(event, data, namespace=namespace, to=room)


REFRESH_PAUSE_S = 1.0  # between two forecast runs of one hall: a busy hall's estimates are at most this stale
REFRESH_SHARE = 39  # ... and at least this many times the run's own time: forecasting takes at most 1/40 of the time
BOARD_MAKING_S = 10.0  # a process making the hall's shared board: the others wait at most this for it
BOARD_KEEP_S = 600.0  # a shared board is kept this long (then made anew by whoever needs it)
RECOUNT_PAUSE_S = 0.05  # counts sent without the queue's order are sent again in it this long after its back-off
RECOUNT_MAX_S = 30.0  # ... and while Redis stays away, tried again at most this far apart
BATCH_GAP_S = 0.25  # between two delivered batches of one process: at most 4 a second, whatever the event rate


def _line(version: Any) -> int:
    """The ledger line a board was made after (its label's id): 0 for an empty ledger."""
    return int(version[0]) if version else 0


def queue_move(s: Any, ticket_id: str, change: str, counts: dict[str, int]) -> dict[str, Any] | None:
    """The queue-level event for a ticket that joined its queue or left it (was called).

    A page applies it to its own ticket of the same queue: `left` at `rank` moves every ticket that
    had more than `rank` people ahead forward by one; `joined` at `rank` moves every ticket that had
    `rank` or more people ahead back by one.
    """
    row = queue.queue_row(s, ticket_id)
    if row is None:
        return None
    return {
        "service": None if row.target_counter else row.service_id,
        "counter": row.target_counter,
        "change": change,
        "rank": queue.ahead_count(s, row),
        "waiting": counts.get(row.service_id, 0),
    }


def call_message(ctx: Context, e: Called) -> dict[str, Any]:
    hall = ctx.hall(e.hall)
    extra = {"appointment": True} if e.appointment else {}  # PROTOCOL v1.2: marked 预约; absent for walk-ins
    if e.pickup:  # a 领取 ticket (a matter's result to pick up): marked 领取; absent otherwise
        extra["pickup"] = True
    return {
        **extra,
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
    return session_principal(ctx, session.get("sid"))


NAMESPACES = ("/display", "/track", "/kiosk", "/counter", "/admin")


def register(
    socketio: SocketIO,
    ctx: Context,
    printer_state: Any = None,
    agent_connect: Callable[[dict[str, Any]], bool] | None = None,
    track: Callable[[Principal], None] | None = None,
    publisher: Publisher | None = None,
) -> None:
    """Wire the namespaces: /display, /track (PROTOCOL.md) and /kiosk, /counter, /admin (docs/api.md).

    `agent_connect` answers a kiosk agent's connection to /kiosk (auth carries `agent`): server/printing.py.
    `track` notes an accepted staff connection's credential, so that its end disconnects it (server/revocation.py).
    """

    @socketio.on_error_default
    def event_failed(e: BaseException) -> dict[str, Any]:
        """An event handler that fails answers an error ack (the client's call returns), never silence."""
        log.error("socket event %s on %s failed", request.event["message"], request.namespace, exc_info=e)  # type: ignore[attr-defined]
        return {"error": {"code": "internal_error", "message": "unexpected error"}}

    def unknown_event(event: str, *_: Any) -> dict[str, Any]:
        return {"error": {"code": "unknown_event", "message": f"no event {str(event)[:40]!r} on this namespace"}}

    for namespace in NAMESPACES:  # a client calling an event nobody handles gets an error ack, not a timeout
        socketio.on("*", namespace=namespace)(unknown_event)
    # Events per connection bounded, reserved names (a client's `connect` event) refused: server/socket_guard.py.
    socket_guard.install(socketio.server, ctx.config.settings.limits.socket_events_per_minute)  # type: ignore[attr-defined]

    @socketio.on("connect", namespace="/display")
    def display_connect(auth: Any = None) -> bool:
        hall_id = request.args.get("hall", "")
        if ctx.config.hall(hall_id) is None:
            return False
        join_room(hall_room(hall_id))
        emit("snapshot", halls.display_snapshot(ctx, hall_id))
        emit("notice", notice_line.current(ctx, hall_id))
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
        join_room(queue_room(row.hall_id))  # the queue-level `queue` events (docs/api.md)
        if publisher is not None:
            publisher.watching(row.id, body)
        emit("ticket", body)
        return True

    @socketio.on("connect", namespace="/kiosk")
    def kiosk_connect(auth: Any = None) -> bool:
        if agent_connect is not None and isinstance(auth, dict) and "agent" in auth:
            return agent_connect(auth)
        found = ctx.config.find_kiosk(request.args.get("kiosk", ""))
        if found is None:
            return False
        hall, kiosk = found
        join_room(hall_room(hall.id))
        join_room(kiosk_room(kiosk.id))  # also print_job events of this kiosk (server/printing.py)
        emit("services", halls.services(ctx, hall.id))
        emit("printer", {"kiosk": kiosk.id, "state": printer_state(kiosk) if printer_state else "none"})
        return True

    @socketio.on("connect", namespace="/counter")
    def counter_connect(auth: Any = None) -> bool:
        found = ctx.config.find_counter(request.args.get("counter", ""))
        p = _socket_principal(ctx, auth)
        if found is None or p is None or not may_work_counter(p, found[0].id, found[1].id):
            return False
        hall, counter = found
        if track is not None:
            track(p)
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
        if track is not None:
            track(p)
        join_room(hall_room(hall_id))
        emit("counters", halls.counters(ctx, hall_id))
        with ctx.db.read() as s:
            emit("waiting", queue.waiting_counts(s, ctx.hall(hall_id)))
        emit("alerts", alerts.active(ctx, hall_id))
        emit("notice", notice_line.current(ctx, hall_id))
        return True
