"""PROTOCOL.md: the `hallq` command line."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from support.env import ROOT
from support.server import Server, free_port, hallq

from printers.decode import decode, ticket_fields

COMMANDS = [
    *([], ["demo"], ["serve"], ["token"], ["token", "create"], ["token", "revoke"], ["user"], ["user", "add"]),
    *(["kiosk"], ["kiosk", "enroll"], ["kiosk", "revoke"]),
    *(["kiosk-agent"], ["printer-emulator"]),
]


@pytest.mark.parametrize("words", COMMANDS, ids=lambda w: " ".join(w) or "hallq")
def test_every_command_answers_help(words: list[str]) -> None:
    done = hallq(*words, "--help")
    assert done.returncode == 0
    assert "usage: hallq" in done.stdout


@pytest.mark.parametrize(
    "words",
    [
        ["nonsense"],
        ["demo", "--port", "notaport"],
        ["demo", "--port", "70000"],
        ["serve"],
        ["token", "create"],
        ["token", "create", "--counter", "w1", "--role", "admin"],
        ["token", "create", "--role", "king"],
        ["token", "create", "--kiosk", "k1", "--counter", "w1"],
        ["kiosk", "enroll"],
        ["kiosk", "enroll", "k1", "--valid-minutes", "0"],
        ["user", "add", "bob"],
        ["user", "add", "bob", "--role", "emperor"],
        ["kiosk-agent", "--server", "http://127.0.0.1:1", "--token", "t", "--printer", "lpt1"],
        ["kiosk-agent", "--server", "http://127.0.0.1:1", "--token", "t", "--printer", "usb:zz:1"],
        ["kiosk-agent", "--token", "t", "--printer", "file:/tmp"],
        ["printer-emulator", "--out", "x", "--port", "0"],
        ["printer-emulator", "--out", "x", "--paper-out", "--silent"],
        ["token", "create", "--kiosk", "k1", "--counter", "w1"],
    ],
    ids=lambda w: " ".join(w),
)
def test_wrong_arguments_print_one_readable_line_and_exit_2(words: list[str]) -> None:
    done = hallq(*words)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hallq"), done.stderr
    assert "Traceback" not in done.stderr


def test_a_broken_config_is_named_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "hall.toml"
    bad.write_text('[[hall]]\nid = "town"\nname = "x"\n[[hall.service]]\nid = "a"\n', encoding="utf-8")
    done = hallq("serve", "--config", str(bad))
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "hall[0].service[0]" in done.stderr
    missing = hallq("serve", "--config", str(tmp_path / "none.toml"))
    assert missing.returncode == 2 and len(missing.stderr.strip().splitlines()) == 1


def test_tokens_and_logins_from_the_commands_work_on_a_running_server(hall: Server) -> None:
    """The fixtures make tokens and logins in-process with the commands' own functions; here the commands
    themselves, against a server that is running."""
    done = hallq("token", "create", "--counter", "w1", "--config", str(hall.config))
    assert done.returncode == 0, done.stderr
    assert hall.act("w1", "open", token=done.stdout.strip().splitlines()[-1]).status_code == 200
    added = hallq("user", "add", "cli.clerk", "--role", "clerk", "--hall", "town", "--config", str(hall.config),
                  stdin="pass-word-1\n")  # fmt: skip
    assert added.returncode == 0, added.stderr
    login = requests.Session()
    page = login.get(hall.url + "/login", timeout=10).text
    csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    answer = login.post(hall.url + "/login", data={"csrf": csrf, "username": "cli.clerk", "password": "pass-word-1"},
                        timeout=10)  # fmt: skip
    assert answer.status_code == 200 and "cli.clerk" in login.get(hall.url + "/counter?choose=1", timeout=10).text


def test_token_create_prints_the_token_alone_on_the_last_line(tmp_path: Path) -> None:
    done = hallq("token", "create", "--counter", "w1", "--data", str(tmp_path))
    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("hq_") and " " not in last
    admin = hallq("token", "create", "--role", "admin", "--data", str(tmp_path))
    assert admin.stdout.strip().splitlines()[-1].startswith("hq_")


def test_kiosk_token_and_enrollment_link_are_printed_on_the_last_line(tmp_path: Path) -> None:
    done = hallq("token", "create", "--kiosk", "k1", "--data", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "kiosk k1" in done.stdout and done.stdout.strip().splitlines()[-1].startswith("hq_")
    link = hallq("kiosk", "enroll", "k1", "--valid-minutes", "10", "--data", str(tmp_path))
    assert link.returncode == 0, link.stderr
    assert link.stdout.strip().splitlines()[-1].startswith("http://127.0.0.1:5000/kiosk/k1/enroll?code=")
    unknown = (["token", "create", "--kiosk", "nope"], ["kiosk", "enroll", "nope"], ["kiosk", "revoke", "nope"],
               ["token", "revoke", "zzzz"])  # fmt: skip
    for words in unknown:
        bad = hallq(*words, "--data", str(tmp_path))
        assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1, words


def test_a_mistyped_data_folder_is_one_line_and_exit_2_and_makes_nothing(tmp_path: Path) -> None:
    """Else the token went into a new database of its own, and no running server knew it."""
    missing = tmp_path / "no-such-folder"
    for words in (["token", "create", "--counter", "w1"], ["user", "add", "li.na", "--role", "clerk"]):
        done = hallq(*words, "--data", str(missing), stdin="s3cret-pass\n")
        assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert "no data folder" in done.stderr and "hq_" not in done.stdout
    assert not missing.exists()


def test_token_for_an_unknown_counter_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = hallq("token", "create", "--counter", "nope", "--data", str(tmp_path))
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1


def test_user_add_reads_the_password_from_stdin(tmp_path: Path) -> None:
    # The demo has two halls (PROTOCOL v1.2): a clerk names theirs.
    done = hallq("user", "add", "li.na", "--role", "clerk", "--hall", "town", "--data", str(tmp_path),
                 stdin="s3cret-pass\n")  # fmt: skip
    assert done.returncode == 0, done.stderr
    weak = hallq("user", "add", "li.na", "--role", "clerk", "--hall", "town", "--data", str(tmp_path),
                 stdin="short\n")  # fmt: skip
    assert weak.returncode == 2 and len(weak.stderr.strip().splitlines()) == 1


def _start_demo(data: Path, port: int, ctrl_c_ignored: bool = False) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HALLQ_")}
    return subprocess.Popen(
        [sys.executable, "-m", "server.cli", "demo", "--port", str(port), "--data", str(data)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        # as bash starts a script's `hallq demo &`: SIGINT ignored until the command sets its own handler
        preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if ctrl_c_ignored else None,
    )


def _wait_healthy(url: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 90  # generous: CI shares two cores
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        try:
            if requests.get(url + "/api/v1/health", timeout=5).ok:
                return
        except requests.RequestException:  # not up yet, or slow to answer: try again until the deadline
            time.sleep(0.1)
    raise AssertionError("demo did not start")


def _banner(proc: subprocess.Popen[str]) -> list[str]:
    """The demo's start-up lines, up to the one that says how to stop it."""
    lines: list[str] = []
    assert proc.stdout is not None
    while not lines or "Ctrl-C" not in lines[-1]:
        line = proc.stdout.readline()
        assert line, "the demo ended before printing its banner: " + "".join(lines)
        lines.append(line)
    return lines


def _interrupt(proc: subprocess.Popen[str]) -> bool:
    """Ctrl-C; True when the command ended in time (else it is killed: never left running for later tests)."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.communicate(timeout=15)
        return True
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return False


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGINT)
    try:
        out, _ = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    assert proc.returncode == 0, out
    assert "Traceback" not in out
    return out


def test_demo_runs_prints_its_pages_stops_on_ctrl_c_and_carries_on(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    data = tmp_path / "demo"
    proc = _start_demo(data, port)
    banner = _banner(proc)
    _wait_healthy(url, proc)
    kiosk_line, agent_kiosk_line = [line for line in banner if "kiosk:" in line]  # k1, then k2 (printed by an agent)
    kiosk = requests.Session()  # the kiosk's browser: the printed link enrolls it and lands on its page
    landed = kiosk.get(kiosk_line.split()[-1], timeout=5)
    assert landed.status_code == 200 and landed.url == url + "/kiosk/k1"
    counters = requests.get(url + "/api/v1/halls/town/counters", timeout=5).json()
    assert len(counters) >= 6 and all(c["state"] == "closed" for c in counters)
    assert all(c["partner"] for c in counters)
    services = requests.get(url + "/api/v1/halls/town/services", timeout=5).json()
    assert all(s["open"] and s["waiting"] == 0 for s in services)
    first = kiosk.post(
        url + "/api/v1/halls/town/tickets", json={"service": services[0]["id"], "kiosk": "k1"}, timeout=5
    ).json()
    printed = data / "printed" / f"{first['number']}-{first['id']}.bin"
    deadline = time.monotonic() + 10
    while not printed.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    ticket = decode(printed.read_bytes())
    assert ticket_fields(ticket) == {
        "number": first["number"],
        "ticket_id": first["id"],
        "track_url": first["track_url"],
    }
    assert services[0]["name"] in ticket.text
    assert printed.with_suffix(".png").stat().st_size > 1000
    out = "".join(banner) + _stop(proc)
    for page in ("/kiosk/", "/display/", "/counter"):
        assert url + page in out
    proc = _start_demo(data, port)
    _wait_healthy(url, proc)
    second = requests.post(url + "/api/v1/halls/town/tickets", json={"service": services[0]["id"]}, timeout=5)
    _stop(proc)
    assert int(second.json()["number"][1:]) == int(first["number"][1:]) + 1, "numbers carry on after a restart"
    link = hallq("kiosk", "enroll", "k1", "--data", str(data))
    assert link.returncode == 0 and link.stdout.strip().splitlines()[-1].startswith(url + "/kiosk/k1/enroll?code=")


def test_ctrl_c_as_soon_as_the_banner_shows_stops_a_server_started_in_the_background(tmp_path: Path) -> None:
    """The banner says "Ctrl-C stops": from the moment it shows, that is true, even for `hallq demo &`."""
    proc = _start_demo(tmp_path / "demo", free_port(), ctrl_c_ignored=True)
    _banner(proc)
    assert "hallq stopped." in _stop(proc)  # else it went on running: killed after 15 s, TimeoutExpired


@pytest.fixture
def demo_emulator_port() -> Iterator[None]:
    """The demo prints an emulator command on port 9101 (or the next free one): one such demo on the
    machine at a time, or a second copy of the suite's agent prints to the first one's emulator."""
    with open(Path(os.environ.get("TMPDIR", "/tmp")) / "hallq-test-demo-emulator.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


@pytest.mark.usefixtures("demo_emulator_port")
def test_the_demo_shows_a_newcomer_the_whole_agent_path_tap_job_agent_printer_slip(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    data = tmp_path / "demo"
    demo = _start_demo(data, port)
    started: list[subprocess.Popen[str]] = []
    try:
        _wait_healthy(url, demo)
        banner = _banner(demo)  # fails loudly if the demo ends early, where a bare readline loop spins
        commands = [line.split() for line in banner if line.strip().startswith(("hallq printer-", "hallq kiosk-"))]
        assert [c[:2] for c in commands] == [["hallq", "printer-emulator"], ["hallq", "kiosk-agent"]], banner
        for words in commands:  # exactly as printed, `hallq` being this checkout's command
            with (tmp_path / f"{words[1]}.log").open("w") as log:
                started.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "server.cli", *words[1:]],
                        cwd=ROOT,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        text=True,
                        env={k: v for k, v in os.environ.items() if not k.startswith("HALLQ_")},
                    )
                )
        token = commands[1][commands[1].index("--token") + 1]
        out = Path(commands[0][commands[0].index("--out") + 1])
        deadline = time.monotonic() + 30
        while requests.get(url + "/api/v1/halls/town/kiosks", timeout=5).json()[1]["printer"]["state"] != "ok":
            assert time.monotonic() < deadline, "the agent never reported its printer"
            time.sleep(0.2)
        assert started[0].poll() is None, (tmp_path / "printer-emulator.log").read_text()  # this run's emulator
        services = requests.get(url + "/api/v1/halls/town/services", timeout=5).json()

        ticket = requests.post(
            url + "/api/v1/halls/town/tickets",
            json={"service": services[0]["id"], "kiosk": "k2"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
        ).json()

        slip = out / f"{ticket['number']}-{ticket['id']}.bin"
        while not slip.exists():
            if time.monotonic() > deadline + 30:
                logs = {f.name: f.read_text() for f in tmp_path.glob("*.log")}
                raise AssertionError(f"the slip never came out; {sorted(os.listdir(out))}; {logs}")
            time.sleep(0.1)
        assert ticket_fields(decode(slip.read_bytes()))["ticket_id"] == ticket["id"]
        assert slip.with_suffix(".png").exists()
    finally:
        stopped = [_interrupt(proc) for proc in reversed(started)]  # the agent, then its printer
        print(_stop(demo))  # shown by pytest when the test fails
    assert all(stopped), "Ctrl-C did not stop the kiosk agent or the printer emulator within 15 s"
