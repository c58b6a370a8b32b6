"""The store's datetime type on SQLite writes and reads exactly what SQLAlchemy's own DATETIME chain does.

`UTCDateTime` has its own SQLite processors (one C call each way, server/store/models.py); these tests hold them to
the chain they replace: this type's `process_bind_param` / `process_result_value` around SQLite's DATETIME.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.sqlite import DATETIME

from server.store.models import UTCDateTime

SQLITE = sqlite.dialect()
TYPE = UTCDateTime()
BIND = TYPE.dialect_impl(SQLITE).bind_processor(SQLITE)
READ = TYPE.dialect_impl(SQLITE).result_processor(SQLITE, None)
PLAIN_BIND = DATETIME().bind_processor(SQLITE)
PLAIN_READ = DATETIME().result_processor(SQLITE, None)


def _chain_bind(value: datetime) -> Any:
    return PLAIN_BIND(TYPE.process_bind_param(value, SQLITE))


def _chain_read(text: str) -> Any:
    return TYPE.process_result_value(PLAIN_READ(text), SQLITE)


zones = st.sampled_from([UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-11, minutes=-30))])
moments = st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31), timezones=zones)


@given(moments)
def test_a_moment_is_stored_as_sqlalchemys_text_and_read_back_the_same(moment: datetime) -> None:
    stored = BIND(moment)
    assert stored == _chain_bind(moment)
    back = READ(stored)
    assert back == _chain_read(stored) == moment
    assert back.tzinfo is UTC


@pytest.mark.parametrize(
    "text",
    [
        "2026-12-08 01:02:03",  # without a fraction (SQLite's CURRENT_TIMESTAMP)
        "2026-12-08 01:02:03.5",
        "2026-12-08T01:02:03.123456",
        "2026-12-08 01:02:03.000000",
        "0001-01-01 00:00:00.000000",
    ],
)
def test_text_written_by_other_means_is_read_as_sqlalchemy_reads_it(text: str) -> None:
    assert READ(text) == _chain_read(text)
    assert READ(text).tzinfo is UTC


@pytest.mark.parametrize(
    "text",
    [
        "2026-12-08 01:02.03512345 ",  # 26 characters that Python's fromisoformat reads and SQLAlchemy refuses
        "2026-12-08 01:02,03712345,",
        "2026-12-08 01.0220311234.6",
        "2026-12-08 01:02:03.45678x",
        "2026-12-08 01:02:03.٤٥٦٧٨٩",  # digits, but not ASCII ones
    ],
)
def test_malformed_text_is_refused_as_sqlalchemy_refuses_it(text: str) -> None:
    with pytest.raises(ValueError):
        _chain_read(text)
    with pytest.raises(ValueError):
        READ(text)


def test_none_stays_none_and_a_naive_moment_is_refused() -> None:
    assert BIND(None) is None and READ(None) is None
    with pytest.raises(ValueError, match="naive"):
        BIND(datetime(2026, 12, 8, 1, 2, 3))


def test_postgresql_keeps_sqlalchemys_chain() -> None:
    dialect = postgresql.dialect()
    moment = datetime(2026, 12, 8, 9, 2, 3, 456789, tzinfo=timezone(timedelta(hours=8)))
    stored = TYPE.dialect_impl(dialect).bind_processor(dialect)(moment)
    assert stored == datetime(2026, 12, 8, 1, 2, 3, 456789)  # naive UTC, handed to psycopg2 as a datetime
    read = TYPE.dialect_impl(dialect).result_processor(dialect, None)
    back = read(stored) if read is not None else TYPE.process_result_value(stored, dialect)
    assert back == moment and back.tzinfo is UTC
