"""The counters' states as the issue's statement returns them (STATES_TEXT), parsed once per value."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from server.config import load_config
from server.engine.model import CounterState
from server.services.queue import from_states_text

HALL = next(
    h for h in load_config(Path(__file__).resolve().parents[1] / "data" / "test_hall.toml").halls if h.id == "town"
)


def test_the_states_are_read_from_the_text_and_missing_counters_are_closed() -> None:
    desks, opened = from_states_text(HALL, "w1 open 1,w2 away 1,w3 closed 0")
    assert {k: d.state for k, d in desks.items() if k in ("w1", "w2", "w3", "w4")} == {
        "w1": CounterState.OPEN,
        "w2": CounterState.AWAY,
        "w3": CounterState.CLOSED,
        "w4": CounterState.CLOSED,  # not in the text: no row yet
    }
    assert set(desks) == {c.id for c in HALL.counters}
    assert opened
    assert from_states_text(HALL, "w1 closed 0,w2 closed 0") == (from_states_text(HALL, None)[0], False)
    assert from_states_text(HALL, "w1 closed 1")[1]  # closed now, but it changed state today


def test_the_same_text_of_another_configurations_hall_is_parsed_for_that_hall() -> None:
    """Two configurations may name a hall alike (a reload, tests): the parsed desks are never the other's."""
    fewer = dataclasses.replace(HALL, counters=HALL.counters[:1])
    text = "w1 open 1,w2 open 1"
    assert set(from_states_text(HALL, text)[0]) == {c.id for c in HALL.counters}
    assert set(from_states_text(fewer, text)[0]) == {HALL.counters[0].id}
    assert set(from_states_text(HALL, text)[0]) == {c.id for c in HALL.counters}
