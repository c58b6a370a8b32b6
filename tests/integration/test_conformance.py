"""schemathesis against the real server, on SQLite and on PostgreSQL: every answer as the OpenAPI document says.

The CLI runs in a subprocess (its own process: pytest's warnings-as-errors and the server's eventlet stay out of
each other's way) against the live server, with a fixed seed and example count so CI sees the same cases every
run. It writes a JSON report, and the test reads that report rather than the exit code alone: schemathesis 4.x
on Python 3.11.7 can end a phase with its own SystemError (AST recursion depth) although every case passed
(DESIGN.md), while a real finding must fail here loudly, with its details.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from support.server import Server

from server.api.openapi import document

SEED = 20261130
MAX_EXAMPLES = 6  # per operation and phase; the coverage phase adds its own boundary cases
HARD_LIMIT_S = 240  # the run ends within this on a loaded 2-core machine (about 25 s on an idle one)
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "negative_data_rejection",  # what the document calls invalid, the server refuses: parsing = document
]
# Cases per operation, on average, that a complete run generates at the least with these settings (about 24
# today: routes with bodies and queries get many, GET /halls two); a phase that stopped early leaves fewer.
MIN_CASES_PER_OPERATION = 20


def prepare(hall: Server, admin: str) -> dict[str, list[str]]:
    """A hall in mid-morning, so generated calls reach the rules: tickets waiting, two counters open, one
    ticket served (rateable). Returns the ids schemathesis draws path and body values from."""
    tokens, tickets = [], []
    for service in ("id-card", "id-card", "social", "water"):
        issued = hall.issue(service)
        tokens.append(issued["track_url"].rsplit("/", 1)[1])
        tickets.append(issued["id"])
    for counter in ("w1", "w2"):
        assert hall.act(counter, "open", token=admin).status_code == 200
    assert hall.act("w1", "call-next", token=admin).json()["ticket"] is not None
    incomplete = {"outcome": "incomplete", "missing": ["户口簿"], "print_notice": False}
    finished = hall.act("w1", "finish", incomplete, token=admin)
    assert finished.status_code == 200, finished.text
    for _ in range(3):
        tokens.append(hall.issue("id-card")["track_url"].rsplit("/", 1)[1])
    return {
        "halls": ["town"],
        "counters": ["w1", "w2", "w3"],
        "services": ["id-card", "social", "water", "closed"],
        "kiosks": ["k1"],
        "tokens": tokens,
        "tickets": tickets,
        "notices": [finished.json()["notice"]["code"]],
    }


def config(values: dict[str, list[str]]) -> str:
    """schemathesis.toml: real ids most of the time, generated strings otherwise (those answer 404)."""
    lines = []
    for name, items in values.items():
        lines += [f"[dictionaries.{name}]", f"values = {json.dumps(items)}", ""]
    lines.append("[parameters]")
    for key, dictionary, probability in [
        ("path.hall", "halls", 0.9),
        ("path.counter", "counters", 0.9),
        ("path.token", "tokens", 0.9),
        ("body.service", "services", 0.8),
        ("body.counter", "counters", 0.8),
        ("body.kiosk", "kiosks", 0.5),
        ("path.kiosk", "kiosks", 0.9),
        ("path.code", "notices", 0.9),
        ("path.ticket", "tickets", 0.9),
    ]:
        lines.append(f'"{key}" = {{ dictionary = "{dictionary}", probability = {probability} }}')
    return "\n".join(lines) + "\n"


def run_schemathesis(hall: Server, tmp_path: Path) -> tuple[dict[str, Any], float, str]:
    admin = hall.admin_token()
    settings = tmp_path / "schemathesis.toml"
    settings.write_text(config(prepare(hall, admin)), encoding="utf-8")
    report = tmp_path / "schemathesis.json"
    command = [
        str(Path(sys.executable).with_name("st")), "--config-file", str(settings), "--no-color",
        "run", hall.url + "/api/v1/openapi.json",
        "--checks", ",".join(CHECKS),
        "--phases", "examples,coverage,fuzzing",
        "--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED), "--no-shrink",
        "--workers", "1", "--request-timeout", "20", "--wait-for-schema", "30",
        "--header", f"Authorization: Bearer {admin}",
        "--report", "json", "--report-json-path", str(report),
    ]  # fmt: skip
    began = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, timeout=HARD_LIMIT_S, cwd=tmp_path)
    elapsed = time.monotonic() - began
    output = done.stdout + done.stderr
    assert report.exists(), f"schemathesis wrote no report (exit {done.returncode}):\n{output[-6000:]}"
    return json.loads(report.read_text(encoding="utf-8")), elapsed, output


def own_error(report: dict[str, Any], output: str) -> bool:
    """Whether every error of the run is schemathesis' own AST-recursion SystemError (DESIGN.md).

    The JSON report gives errors by title only ("Runtime Error"); the CLI's output names the exception.
    """
    titles = {error["title"] for error in report["errors"]}
    return titles == {"Runtime Error"} and "SystemError" in output and "recursion" in output.lower()


def findings(report: dict[str, Any], output: str) -> list[str]:
    """What schemathesis found wrong with the server (or with the run), one readable line each."""
    out = [json.dumps(failure, ensure_ascii=False)[:1500] for failure in report["failures"]]
    if not own_error(report, output):
        out += [json.dumps(error, ensure_ascii=False) for error in report["errors"]]
    return out


def test_every_answer_conforms_to_the_document(hall: Server, tmp_path: Path) -> None:
    report, elapsed, output = run_schemathesis(hall, tmp_path)
    cases = report["test_cases"]
    operations = report["operations"]
    # every documented operation but the document itself (schemathesis leaves out the URL it loads)
    documented = sum(len(item) for item in document()["paths"].values()) - 1
    summary = (
        f"schemathesis on {hall.database.split(':')[0]}: {cases['generated']} cases generated, "
        f"{cases['generated'] - cases['with_failures']} passed, {elapsed:.0f} s; phases {report['phases']}"
    )
    print(summary)
    problems = findings(report, output)
    tail = output[-8000:]
    assert not problems, f"{summary}\n{len(problems)} findings:\n" + "\n".join(problems) + "\n" + tail
    assert cases["with_failures"] == 0, f"{summary}\n{tail}"
    assert cases["errored"] == 0 or own_error(report, output), f"{summary}\n{tail}"
    assert operations["selected"] == operations["tested"] == documented, f"untested operations: {operations}"
    # a phase stopped early (by schemathesis' own error or anything else) leaves far fewer cases
    assert cases["generated"] >= MIN_CASES_PER_OPERATION * documented, f"too few cases: {summary}\n{tail}"
    for phase in ("coverage", "fuzzing"):
        status = report["phases"][phase]["status"]
        assert status == "success" or (status == "error" and own_error(report, output)), f"{phase}: {summary}"
