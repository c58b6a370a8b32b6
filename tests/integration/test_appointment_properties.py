"""Properties of the call order with appointments and remote tickets (PROTOCOL v1.2), through the HTTP API:
a remote ticket is never called before it is checked in, and once checked in goes before every ticket
issued after it; a checked-in appointment whose start has come goes before walk-ins; every ticket is called."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.app import AppHall
from support.databases import reset
from test_appointments import MONDAY, PHONE_A, SHANGHAI, Frozen, edit, set_clock

PHONES = [f"1390000{i:04d}" for i in range(40)]
STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("walk_in"), st.just(0)),
        st.tuples(st.just("remote"), st.just(0)),
        st.tuples(st.just("check_in"), st.integers(0, 30)),
        st.tuples(st.just("call"), st.just(0)),
    ),
    min_size=1,
    max_size=30,
)


def test_remote_tickets_are_never_called_before_check_in(make_app_hall: Callable[..., AppHall]) -> None:
    app = make_app_hall("sqlite", edit=edit, clock=Frozen(MONDAY))

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(steps=STEPS)
    def run(steps: list[tuple[str, int]]) -> None:
        reset(app.database)
        set_clock(app, MONDAY)
        app.act("w1", "open")
        order: list[tuple[str, str]] = []  # (ticket id, state) in issue order: "w" waiting, "r" remote
        codes: dict[str, str] = {}
        called: list[str] = []
        for i, (step, pick) in enumerate(steps):
            app.advance(1)
            if step == "walk_in":
                order.append((app.issue("id-card")["id"], "w"))
            elif step == "remote":
                r = app.post("/api/v1/halls/town/tickets", {"service": "id-card", "remote": True, "phone": PHONES[i]})
                assert r.status_code == 201, r.text
                order.append((r.json()["id"], "r"))
                codes[r.json()["id"]] = r.json()["code"]
            elif step == "check_in":
                remote = [tid for tid, state in order if state == "r"]
                if remote:
                    tid = remote[pick % len(remote)]
                    assert app.post("/api/v1/halls/town/check-in", {"code": codes[tid]}).status_code == 201
                    order[[t for t, _ in order].index(tid)] = (tid, "w")
            else:
                held = app.get("/api/v1/counters/w1", app.counter_token("w1")).json()["ticket"]
                if held is not None:
                    app.act("w1", "finish", {"outcome": "completed"})
                got = app.act("w1", "call-next").json()["ticket"]
                waiting = [tid for tid, state in order if state == "w"]
                if not waiting:
                    assert got is None
                    continue
                assert got is not None and got["id"] == waiting[0], "not the oldest checked-in or walk-in ticket"
                assert dict(order)[got["id"]] == "w", "a remote ticket was called before its check-in"
                order.remove((got["id"], "w"))
                called.append(got["id"])
        # every ticket that is in the hall is called in the end: nothing starves
        held = app.get("/api/v1/counters/w1", app.counter_token("w1")).json()["ticket"]
        if held is not None:
            app.act("w1", "finish", {"outcome": "completed"})
        while True:
            got = app.act("w1", "call-next").json()["ticket"]
            if got is None:
                break
            app.act("w1", "finish", {"outcome": "completed"})
            called.append(got["id"])
        assert set(called) >= {tid for tid, state in order if state == "w"}
        assert not set(called) & {tid for tid, state in order if state == "r"}

    run()


def test_due_appointments_go_before_walk_ins_at_any_moment(make_app_hall: Callable[..., AppHall]) -> None:
    app = make_app_hall("sqlite", edit=edit, clock=Frozen(MONDAY))
    from test_appointments import ID_A, ID_B, ID_C, PHONE_B, PHONE_C, book

    people = [(ID_A, PHONE_A), (ID_B, PHONE_B), (ID_C, PHONE_C)]

    @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(
        slots=st.lists(st.integers(0, 4), min_size=1, max_size=2),
        walk_ins=st.integers(0, 6),
        minute=st.integers(-30, 60),
    )
    def run(slots: list[int], walk_ins: int, minute: int) -> None:
        reset(app.database)
        set_clock(app, MONDAY)
        starts = []
        for (id_number, phone), k in zip(people, slots, strict=False):
            start = datetime(2026, 12, 8, 9, 0, tzinfo=SHANGHAI) + timedelta(minutes=15 * k)
            r = book(app, start.isoformat(), id_number=id_number, phone=phone)
            assert r.status_code == 201, r.text
            starts.append((start, r.json()["code"]))
        set_clock(app, datetime(2026, 12, 8, 8, 30, tzinfo=SHANGHAI))
        walk = [app.issue("passport")["id"] for _ in range(walk_ins)]
        booked: dict[str, datetime] = {}
        for start, code in sorted(starts):
            set_clock(app, start - timedelta(minutes=30))  # check-in opens
            r = app.post("/api/v1/halls/town/check-in", {"code": code})
            assert r.status_code == 201, r.text
            booked[r.json()["id"]] = start
        now = datetime(2026, 12, 8, 9, 0, tzinfo=SHANGHAI) + timedelta(minutes=minute)
        set_clock(app, now)
        app.act("w9", "open")
        while True:
            got = app.act("w9", "call-next").json()["ticket"]
            if got is None:
                break
            app.act("w9", "finish", {"outcome": "completed"})
            due = [t for t, s in booked.items() if s <= now]
            if due:
                assert got["id"] in due and booked[got["id"]] == min(booked[t] for t in due)
            elif walk:
                assert got["id"] == walk[0]
            if got["id"] in booked:
                del booked[got["id"]]
            else:
                walk.remove(got["id"])
        assert not booked and not walk, "every ticket is called"

    run()
