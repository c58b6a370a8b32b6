"""The kiosk agent prints a kiosk's slips on the printer beside it; crashes, silence and empty paper lose nothing.

Everything is real: a hallq server process, `hallq kiosk-agent` processes, and the virtual printer on a
TCP port. What is checked is what came out on paper: each ticket's slip is there, and a ticket printed
more than once has every copy but one marked 补打.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.printing import (
    Agent,
    assert_nothing_lost_nothing_twice_unmarked,
    kiosk_printer,
    kiosk_state,
    kiosk_ticket,
    slips,
    wait_slips,
    wait_until,
)
from support.server import Server, free_port, hallq
from support.sockets import Listener

from printers.decode import decode
from printers.virtual import VirtualPrinter


@pytest.fixture
def agent_hall(start_server: Callable[..., Server]) -> Server:
    """A server whose kiosk k1 is printed by a kiosk agent."""
    return kiosk_printer(start_server, '{ kind = "agent" }')


@pytest.fixture
def agents(tmp_path: Path) -> Iterator[list[Agent]]:
    started: list[Agent] = []
    yield started
    for agent in started:
        agent.stop()


def _agent(server: Server, printer: VirtualPrinter, agents: list[Agent], tmp_path: Path) -> Agent:
    agent = Agent(server, server.token("--kiosk", "k1"), f"network:127.0.0.1:{printer.port}", tmp_path / "agent.log")
    agents.append(agent.start())
    return agent


def _pending(server: Server) -> list[dict[str, str]]:
    return list(server.get("/api/v1/halls/town/print-jobs?status=pending", server.admin_token()).json())


@pytest.mark.async_modes  # the agent's jobs over Socket.IO, in eventlet and gevent
def test_the_agent_prints_each_ticket_and_the_server_marks_its_job_printed(
    agent_hall: Server, printer: VirtualPrinter, agents: list[Agent], tmp_path: Path
) -> None:
    _agent(agent_hall, printer, agents, tmp_path)
    token = agent_hall.token("--kiosk", "k1")
    wait_until(lambda: kiosk_state(agent_hall) == "ok", "the agent reporting its printer")
    tickets = [kiosk_ticket(agent_hall, token) for _ in range(3)]

    found = wait_slips(printer, [t["id"] for t in tickets])

    assert sorted((s.number, s.ticket, s.reprint) for s in found) == sorted(
        (t["number"], t["id"], False) for t in tickets
    )
    wait_until(lambda: _pending(agent_hall) == [], "every job acknowledged")
    jobs = agent_hall.get("/api/v1/halls/town/print-jobs", agent_hall.admin_token()).json()
    assert {j["status"] for j in jobs} == {"printed"} and len(jobs) == 3


def test_killing_the_agent_mid_job_loses_nothing_and_marks_what_prints_again(
    agent_hall: Server, printer: VirtualPrinter, agents: list[Agent], tmp_path: Path
) -> None:
    first = _agent(agent_hall, printer, agents, tmp_path)
    token = agent_hall.token("--kiosk", "k1")
    wait_until(lambda: kiosk_state(agent_hall) == "ok", "the agent reporting its printer")
    tickets = [kiosk_ticket(agent_hall, token) for _ in range(12)]
    wait_until(lambda: slips(printer), "a first slip")
    first.kill()  # mid-run: some jobs printed, some handed over and not acknowledged, some not sent yet
    # Until the server has seen the connection drop (at once when idle, later on a busy machine), it still hands
    # jobs to it, and those are rightly sent again as 补打: the tickets below are taken once no agent runs.
    wait_until(lambda: kiosk_state(agent_hall) == "offline", "the server seeing the agent gone")
    more = [kiosk_ticket(agent_hall, token) for _ in range(3)]  # taken while no agent runs
    _agent(agent_hall, printer, agents, tmp_path)

    ids = [t["id"] for t in tickets + more]
    found = wait_slips(printer, ids)

    assert_nothing_lost_nothing_twice_unmarked(found, ids)
    wait_until(lambda: _pending(agent_hall) == [], "every job acknowledged")
    assert not [s for s in slips(printer) if s.ticket in {t["id"] for t in more} and s.reprint], (
        "a slip never sent before prints unmarked"
    )


def test_a_server_killed_between_commit_and_print_prints_everything_once_after_restart(
    tmp_path: Path, start_server: Callable[..., Server]
) -> None:
    # The kiosk's network printer is not there yet: the tickets commit, their slips cannot go out.
    port = free_port()
    server = kiosk_printer(start_server, f'{{ kind = "network", host = "127.0.0.1", port = {port} }}')
    token = server.token("--kiosk", "k1")
    tickets = [kiosk_ticket(server, token) for _ in range(5)]
    # Killed while no send is under way (one under way could have reached paper: that slip would say 补打).
    wait_until(
        lambda: (jobs := _pending(server)) and len(jobs) == 5 and all(j["sends"] == 0 and j["error"] for j in jobs),
        "every send refused by the absent printer",
    )
    server.stop(kill=True)  # kill -9 with the jobs committed and unprinted
    late = VirtualPrinter(tmp_path / "later", port=port)
    late.start()
    try:
        server.start()
        found = wait_slips(late, [t["id"] for t in tickets])
        assert_nothing_lost_nothing_twice_unmarked(found, [t["id"] for t in tickets])
        assert not any(s.reprint for s in found), "nothing had been printed: no slip is a reprint"
    finally:
        late.stop()


def test_a_server_killed_before_the_agent_got_its_jobs_hands_them_over_after_restart(
    agent_hall: Server, printer: VirtualPrinter, agents: list[Agent], tmp_path: Path
) -> None:
    token = agent_hall.token("--kiosk", "k1")
    tickets = [kiosk_ticket(agent_hall, token) for _ in range(4)]  # no agent yet: the jobs wait
    agent_hall.stop(kill=True)
    agent_hall.start()
    _agent(agent_hall, printer, agents, tmp_path)

    found = wait_slips(printer, [t["id"] for t in tickets])

    assert_nothing_lost_nothing_twice_unmarked(found, [t["id"] for t in tickets])
    assert not any(s.reprint for s in found)


def test_an_agent_reconnects_after_the_server_restarts_and_keeps_printing(
    agent_hall: Server, printer: VirtualPrinter, agents: list[Agent], tmp_path: Path
) -> None:
    agent = _agent(agent_hall, printer, agents, tmp_path)
    token = agent_hall.token("--kiosk", "k1")
    before = kiosk_ticket(agent_hall, token)
    wait_slips(printer, [before["id"]])
    agent_hall.stop(kill=True)
    agent_hall.start()
    after = kiosk_ticket(agent_hall, token)

    found = wait_slips(printer, [after["id"]], timeout=90)  # the agent backs off up to 30 s between tries

    assert_nothing_lost_nothing_twice_unmarked(found, [before["id"], after["id"]])
    assert agent.proc is not None and agent.proc.poll() is None, agent.log()


def test_a_silent_printer_blocks_neither_the_server_nor_the_agent(
    agent_hall: Server, printer: VirtualPrinter, agents: list[Agent], tmp_path: Path
) -> None:
    printer.silent = True  # takes connections, never answers DLE EOT, prints nothing
    agent = _agent(agent_hall, printer, agents, tmp_path)
    token = agent_hall.token("--kiosk", "k1")
    tickets = []
    for _ in range(3):
        started = time.monotonic()
        tickets.append(kiosk_ticket(agent_hall, token))
        assert time.monotonic() - started < 5, "issuing waited for the printer"
    wait_until(lambda: kiosk_state(agent_hall) == "offline", "the silent printer reported offline")
    assert agent_hall.get("/api/v1/health").status_code == 200
    assert slips(printer) == []

    printer.silent = False
    found = wait_slips(printer, [t["id"] for t in tickets])

    assert_nothing_lost_nothing_twice_unmarked(found, [t["id"] for t in tickets])
    assert not any(s.reprint for s in found), "a printer that never answered printed nothing before"
    assert agent.proc is not None and agent.proc.poll() is None


def test_out_of_paper_holds_the_slips_until_paper_is_back_and_tells_the_pages(
    agent_hall: Server, printer: VirtualPrinter, agents: list[Agent], tmp_path: Path
) -> None:
    admin = Listener(agent_hall.url, "/admin", "hall=town", auth={"token": agent_hall.admin_token()})
    kiosk_page = Listener(agent_hall.url, "/kiosk", "kiosk=k1", auth={"token": agent_hall.token("--kiosk", "k1")})
    try:
        printer.paper = "out"
        _agent(agent_hall, printer, agents, tmp_path)
        token = agent_hall.token("--kiosk", "k1")
        admin.wait_for("printer", lambda e: e == {**e, "kiosk": "k1", "state": "paper_out"}, timeout=20)
        kiosk_page.wait_for("printer", lambda e: e["kiosk"] == "k1" and e["state"] == "paper_out")
        tickets = [kiosk_ticket(agent_hall, token) for _ in range(2)]
        assert kiosk_state(agent_hall) == "paper_out"
        time.sleep(1.5)
        assert slips(printer) == [], "nothing prints on an empty printer"

        printer.paper = "ok"
        found = wait_slips(printer, [t["id"] for t in tickets])

        assert_nothing_lost_nothing_twice_unmarked(found, [t["id"] for t in tickets])
        assert not any(s.reprint for s in found)
        admin.wait_for("printer", lambda e: e["state"] == "ok")
        printed = kiosk_page.wait_for("print_job", lambda e: e["status"] == "printed")
        assert printed["kiosk"] == "k1" and printed["ticket"] in {t["id"] for t in tickets}
    finally:
        admin.close()
        kiosk_page.close()


def test_an_agent_with_a_wrong_token_or_for_a_server_printed_kiosk_is_refused_in_one_line(
    start_server: Callable[..., Server], printer: VirtualPrinter
) -> None:
    server = kiosk_printer(start_server, f'{{ kind = "network", host = "127.0.0.1", port = {printer.port} }}')
    spec = f"network:127.0.0.1:{printer.port}"
    for token in ("hq_000000000000.not-a-real-secret-at-all", server.token("--kiosk", "k1")):
        done = hallq("kiosk-agent", "--server", server.url, "--token", token, "--printer", spec)
        assert done.returncode == 1, done.stdout + done.stderr
        assert "refused" in done.stdout and "Traceback" not in done.stdout + done.stderr


def _notice_on_paper(
    server: Server, printer: VirtualPrinter, kiosk: str = "k1", missing: tuple[str, ...] = ("户口簿",), note: str = ""
) -> str:
    """A clerk finishes a ticket as incomplete; the 一次性告知 notice comes out on `kiosk`'s printer: its code."""
    server.issue("id-card")
    server.act("w1", "open")
    server.act("w1", "call-next")
    done = server.act("w1", "finish", {"outcome": "incomplete", "missing": list(missing), "note": note})
    assert done.status_code == 200, done.text
    notice = done.json()["notice"]
    assert notice["printed_on"] == kiosk
    code = str(notice["code"]).replace("-", "")
    wait_until(
        lambda: any(decode(p.read_bytes()).qr == [code] for p in printer.out_dir.glob("*.bin")), "the notice on paper"
    )
    return code


def test_a_notice_the_counter_asks_for_comes_out_of_the_agent_kiosk(
    agent_hall: Server, printer: VirtualPrinter, agents: list[Agent], tmp_path: Path
) -> None:
    _agent(agent_hall, printer, agents, tmp_path)
    wait_until(lambda: kiosk_state(agent_hall) == "ok", "the agent reporting its printer")
    _notice_on_paper(agent_hall, printer)
    jobs = agent_hall.get("/api/v1/halls/town/print-jobs", agent_hall.admin_token()).json()
    assert jobs == []  # a notice is no ticket's print job


def test_a_notice_comes_out_of_a_server_printed_kiosk(
    start_server: Callable[..., Server], printer: VirtualPrinter
) -> None:
    server = kiosk_printer(start_server, f'{{ kind = "network", host = "127.0.0.1", port = {printer.port} }}')
    _notice_on_paper(server, printer)


def test_a_resident_s_phone_or_id_number_a_clerk_typed_is_masked_on_the_public_notice(
    start_server: Callable[..., Server], printer: VirtualPrinter
) -> None:
    """The notice is printed in the public hall and opens by its code at any kiosk: no full number on it."""
    server = kiosk_printer(start_server, f'{{ kind = "network", host = "127.0.0.1", port = {printer.port} }}')
    code = _notice_on_paper(
        server, printer, missing=("户口本（张先生 13812345678）",), note="身份证 110101199003071234 已过期"
    )
    [paper] = [t for p in printer.out_dir.glob("*.bin") if (t := decode(p.read_bytes())).qr == [code]]
    notice = server.get(f"/api/v1/notices/{code}").json()
    for text in (paper.text, " ".join(notice["missing"]) + notice["note"]):
        assert "138****5678" in text and "110***********1234" in text, text  # the ID stored masked, as typed
        assert "13812345678" not in text and "19900307" not in text and "110101" not in text


def test_a_notice_goes_to_a_kiosk_whose_printer_is_ready(
    start_server: Callable[..., Server], printer: VirtualPrinter
) -> None:
    """k1's agent is not running (its printer is offline): the notice goes to k3, printed by the server."""
    k3 = f'[[hall.kiosk]]\nid = "k3"\nname = "二号取号机"\nprinter = {{ kind = "network", port = {printer.port} }}\n'
    server = start_server(
        edit=lambda text: text.replace(
            '"大厅取号机"\nprinter = { kind = "none" }\n', '"大厅取号机"\nprinter = { kind = "agent" }\n\n' + k3
        )
    )
    assert [k["id"] for k in server.get("/api/v1/halls/town/kiosks").json()] == ["k1", "k3"]
    _notice_on_paper(server, printer, "k3")


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_garbage_from_an_agent_gets_an_error_ack_never_silence(start_server: Callable[..., Server], kind: str) -> None:
    """A NUL in a job name reached PostgreSQL and the handler failed without an answer; an event nobody
    handles got none either. Each now answers an error, and the agent's connection lives on."""
    server = start_server(
        kind=kind,
        extra_server="printer_poll_s = 1",
        edit=lambda text: text.replace('printer = { kind = "none" }', 'printer = { kind = "agent" }'),
    )
    auth = {"token": server.token("--kiosk", "k1"), "agent": "test"}
    agent = Listener(server.url, "/kiosk", auth=auth)
    try:
        for event, body in (("printed", {"job": "a\x00b"}), ("failed", {"job": "a\x00b", "error": "x\x00y"})):
            ack = agent.client.call(event, body, namespace="/kiosk", timeout=10)
            assert ack["error"]["code"] == "invalid_body", (event, ack)
        unknown = agent.client.call("unknown_ev", {}, namespace="/kiosk", timeout=10)
        assert unknown["error"]["code"] == "unknown_event"
        assert agent.client.call("printer", {"state": "ok"}, namespace="/kiosk", timeout=10) == {"ok": True}
        assert "Traceback" not in server.log()
    finally:
        agent.close()
    display = Listener(server.url, "/display", query="hall=town")
    try:
        assert display.client.call("call", {"number": "A001"}, namespace="/display", timeout=10)["error"]["code"] == (
            "unknown_event"
        )
    finally:
        display.close()
