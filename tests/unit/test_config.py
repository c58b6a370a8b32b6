"""The config loader: the demo hall, the checks made once at load, and the environment overrides."""

from __future__ import annotations

from datetime import datetime, time
from pathlib import Path

import pytest

from server.config import ConfigError, Limits, Settings, load_config, load_demo_config
from server.engine.model import Hours, ServiceGroup, ServiceKind

BASE = """\
[[hall]]
id = "town"
name = "测试镇便民服务中心"

[[hall.service]]
id = "id-card"
name = "身份证办理"
prefix = "A"

[[hall.service]]
id = "residence"
name = "居住证办理"
prefix = "B"
kind = "promised"
time_limit_days = 15

[[hall.counter]]
id = "w1"
number = 1
services = ["id-card"]
partner = "w2"

[[hall.counter]]
id = "w2"
number = 2
services = ["residence"]
partner = "w1"

[[hall.kiosk]]
id = "k1"
name = "取号机"
printer = { kind = "virtual" }

[[hall.display]]
id = "d1"
name = "大屏"
"""

HALL_END = 'name = "测试镇便民服务中心"\n'  # anchors for adding keys to one table of BASE
SERVICE_END = 'prefix = "A"\n'
COUNTER_END = "number = 2\n"
PRINTER = 'printer = { kind = "virtual" }'


@pytest.fixture(autouse=True)
def no_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see the file's own settings even where CI exports the overriding variables."""
    monkeypatch.delenv("HALLQ_DATABASE_URL", raising=False)
    monkeypatch.delenv("HALLQ_ASYNC_MODE", raising=False)


def variant(old: str, new: str, text: str = BASE) -> str:
    """BASE with one exact, unique piece replaced (so a typo in a test cannot pass silently)."""
    assert text.count(old) == 1, old
    return text.replace(old, new)


def adding(anchor: str, lines: str) -> str:
    return variant(anchor, anchor + lines)


def write(tmp_path: Path, text: str, name: str = "hall.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def rejection(tmp_path: Path, text: str) -> str:
    """The one-line error for this file, without the leading file name."""
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    return message.removeprefix(f"{path}: ")


def second_hall(**renames: str) -> str:
    """A copy of BASE's hall under the id "village", with some ids renamed."""
    text = BASE.replace('id = "town"', 'id = "village"')
    for old, new in renames.items():
        text = text.replace(f'"{old}"', f'"{new}"')
    return BASE + "\n" + text


# -- the demo hall --------------------------------------------------------------------------------


def test_demo_hall_has_partnered_counters_covering_every_service(tmp_path: Path) -> None:
    config = load_demo_config(tmp_path)
    hall, second = config.halls  # PROTOCOL v1.2: a second hall in another region, for the overview
    assert hall.id == "town" and hall.name == "青山镇便民服务中心"
    assert hall.region and second.region and hall.region != second.region
    assert len(hall.counters) >= 6
    served = {s for c in hall.counters for s in c.services}
    assert {s.id for s in hall.services} <= served
    for counter in hall.counters:
        partner = hall.counter(counter.partner or "")
        assert partner is not None and partner.partner == counter.id
        # cover is only meaningful when each of the pair brings matters the other does not serve
        assert set(counter.services) - set(partner.services)
        assert set(partner.services) - set(counter.services)


def test_demo_hall_is_open_at_any_hour_with_a_virtual_printer_kiosk(tmp_path: Path) -> None:
    hall = load_demo_config(tmp_path).halls[0]
    assert all(s.hours.always and s.enabled for s in hall.services)
    assert hall.services[0].hours.is_open(datetime(2025, 1, 5, 3, 0, tzinfo=hall.timezone))
    assert [(k.id, k.printer.kind) for k in hall.kiosks] == [("k1", "virtual"), ("k2", "agent")]
    assert (hall.kiosks[1].printer.paper, hall.kiosks[1].printer.text) == (80, "raster")
    assert [d.id for d in hall.displays] == ["d1"]


@pytest.mark.parametrize(
    ("printer", "expected"),
    [
        ('{ kind = "agent" }', ("agent", 80, "chinese", False)),
        ('{ kind = "network", host = "192.0.2.5", paper = 58, text = "raster" }', ("network", 58, "raster", True)),
        ('{ kind = "virtual", paper = 80, text = "chinese" }', ("virtual", 80, "chinese", True)),
        ('{ kind = "none" }', ("none", 80, "chinese", False)),
    ],
)
def test_each_printer_says_who_prints_it_its_paper_and_how_it_prints_chinese(
    tmp_path: Path, printer: str, expected: tuple[str, int, str, bool]
) -> None:
    kiosk = load_config(write(tmp_path, variant(PRINTER, f"printer = {printer}"))).halls[0].kiosks[0]
    assert (kiosk.printer.kind, kiosk.printer.paper, kiosk.printer.text, kiosk.printer.by_server) == expected


def test_demo_services_are_a_town_hall_catalogue_with_distinct_prefixes(tmp_path: Path) -> None:
    services = load_demo_config(tmp_path).halls[0].services
    assert len(services) >= 10
    assert len({s.prefix for s in services}) == len(services)
    assert all(s.materials and s.fee and s.name_en != s.name for s in services)
    assert {s.kind for s in services} == {ServiceKind.IMMEDIATE, ServiceKind.PROMISED}
    assert all(s.time_limit_days >= 1 for s in services if s.kind is ServiceKind.PROMISED)
    assert {s.group for s in services} == {ServiceGroup.ADMIN, ServiceGroup.LIFE}  # the kiosk's two groups


def test_demo_keeps_its_database_in_the_given_folder(tmp_path: Path) -> None:
    settings = load_demo_config(tmp_path).settings
    assert settings.data_dir == tmp_path
    assert settings.database == f"sqlite:///{tmp_path}/hallq.db"


# -- defaults and lookups -------------------------------------------------------------------------


def test_minimal_file_gets_the_documented_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, BASE))
    hall = config.hall("town")
    assert hall is not None
    assert hall.name_en == hall.name
    assert str(hall.timezone) == "Asia/Shanghai"
    assert (hall.number_width, hall.max_priority_streak) == (3, 2)
    service = hall.services[0]
    assert service.hours == Hours() and service.kind is ServiceKind.IMMEDIATE
    assert service.group is ServiceGroup.ADMIN
    assert (service.daily_limit, service.avg_service_s, service.fee, service.enabled) == (None, 300, "", True)
    assert hall.counters[0].name == "1号窗口"
    assert config.settings == Settings(data_dir=tmp_path / "data")
    assert config.settings.database == f"sqlite:///{tmp_path}/data/hallq.db"
    assert config.settings.message_channel == "hallq"
    assert config.settings.limits == Limits(30, 10, 65536)
    assert (config.settings.callback_days, config.settings.fix_days) == (1, 15)


def test_lookups_find_counters_and_kiosks_with_their_hall(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, second_hall(w1="v1", w2="v2", k1="k2", d1="d2")))
    village = config.hall("village")
    found = config.find_counter("v2")
    assert village is not None and found is not None
    assert found[0] is village and found[1].partner == "v1"
    kiosk = config.find_kiosk("k1")
    assert kiosk is not None and kiosk[0].id == "town"
    assert config.hall("city") is None and config.find_counter("w9") is None and config.find_kiosk("k9") is None


def test_server_settings_are_read_and_normalised(tmp_path: Path) -> None:
    server = """\
[server]
database = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
public_url = "https://hall.example:5000/"
message_queue = "redis://127.0.0.1:6379/0"
message_channel = "hallq-town.2"
async_mode = "threading"
host = "0.0.0.0"
port = 8080
log_level = "debug"
db_prepared_statements = false

[server.limits]
tickets_per_minute = 5

[ratings]
callback_days = 2
fix_days = 5

"""
    settings = load_config(write(tmp_path, server + BASE)).settings
    assert settings.database.startswith("postgresql+psycopg2://")
    assert settings.public_url == "https://hall.example:5000"
    assert settings.message_queue == "redis://127.0.0.1:6379/0"
    assert settings.message_channel == "hallq-town.2"
    assert (settings.async_mode, settings.host, settings.port, settings.log_level) == (
        "threading",
        "0.0.0.0",
        8080,
        "DEBUG",
    )
    assert settings.limits == Limits(tickets_per_minute=5)
    assert (settings.callback_days, settings.fix_days) == (2, 5)
    assert settings.db_prepared_statements is False  # behind a transaction pooler (docs/storage.md)


def test_prepared_statements_are_on_unless_turned_off_with_a_boolean(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, BASE)).settings.db_prepared_statements is True
    assert rejection(tmp_path, "[server]\ndb_prepared_statements = 0\n" + BASE) == (
        "server.db_prepared_statements: expected true or false, got integer 0"
    )


def test_hours_table_becomes_days_and_periods_and_a_service_may_override_them(tmp_path: Path) -> None:
    text = adding(HALL_END, 'hours = { days = ["mon", "sat"], periods = ["9:00-12:00", "13:00 - 24:00"] }\n')
    text = variant('prefix = "B"\n', 'prefix = "B"\nhours = "always"\n', text)
    hall = load_config(write(tmp_path, text)).halls[0]
    hours = hall.services[0].hours
    assert hours.days == frozenset({0, 5})
    assert hours.periods == ((time(9, 0), time(12, 0)), (time(13, 0), time.max))
    assert hours.is_open(datetime(2025, 1, 4, 23, 59, tzinfo=hall.timezone))  # a Saturday, before midnight
    assert hall.services[1].hours.always


# -- data_dir and the environment -----------------------------------------------------------------


def test_relative_data_dir_is_relative_to_the_files_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    monkeypatch.chdir(tmp_path)
    write(folder, '[server]\ndata_dir = "state"\n' + BASE)
    assert load_config(Path("etc") / "hall.toml").settings.data_dir == folder / "state"


def test_data_dir_argument_overrides_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[server]\ndata_dir = "state"\n' + BASE)
    settings = load_config(path, data_dir=tmp_path / "elsewhere").settings
    assert settings.data_dir == tmp_path / "elsewhere"
    assert settings.database == f"sqlite:///{tmp_path}/elsewhere/hallq.db"


def test_database_url_from_the_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
    monkeypatch.setenv("HALLQ_DATABASE_URL", url)
    path = write(tmp_path, '[server]\ndatabase = "sqlite:///x.db"\n' + BASE)
    assert load_config(path).settings.database == url
    assert load_demo_config(tmp_path).settings.database == url


def test_async_mode_from_the_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HALLQ_ASYNC_MODE", "threading")
    assert load_config(write(tmp_path, '[server]\nasync_mode = "eventlet"\n' + BASE)).settings.async_mode == "threading"
    monkeypatch.setenv("HALLQ_ASYNC_MODE", "gevent")
    assert load_config(write(tmp_path, '[server]\nasync_mode = "eventlet"\n' + BASE)).settings.async_mode == "gevent"


def test_empty_environment_variables_are_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HALLQ_DATABASE_URL", "")
    monkeypatch.setenv("HALLQ_ASYNC_MODE", "")
    settings = load_config(write(tmp_path, BASE)).settings
    assert settings.database.startswith("sqlite:///") and settings.async_mode == "eventlet"


def test_bad_async_mode_in_the_environment_names_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HALLQ_ASYNC_MODE", "asyncio")
    assert rejection(tmp_path, BASE).startswith("environment variable HALLQ_ASYNC_MODE: ")


def test_bad_database_url_in_the_environment_is_named_without_echoing_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HALLQ_DATABASE_URL", "not a url with s3cret")
    message = rejection(tmp_path, BASE)
    assert message.startswith("environment variable HALLQ_DATABASE_URL: ") and "s3cret" not in message


# -- the file itself ------------------------------------------------------------------------------


def test_missing_file_is_one_readable_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.toml: cannot read the file: No such file or directory$"):
        load_config(tmp_path / "nope.toml")


def test_invalid_toml_names_the_line(tmp_path: Path) -> None:
    message = rejection(tmp_path, BASE.replace('prefix = "B"', 'prefix = "B'))
    assert message == "line 13: invalid TOML: Illegal character '\\n' (column 12)"


def test_toml_cut_short_names_the_end_of_the_file(tmp_path: Path) -> None:
    line = BASE.count("\n") + 1
    assert rejection(tmp_path, BASE + "[[hall.kiosk]\n").startswith(f"line {line}: invalid TOML: Expected ']]'")
    assert rejection(tmp_path, BASE + "x = [").startswith("end of file: invalid TOML: ")


def test_file_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "hall.toml"
    path.write_bytes(BASE.encode("gbk"))
    with pytest.raises(ConfigError, match=r"hall\.toml: line 3: not UTF-8 text"):
        load_config(path)


def test_utf8_with_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "hall.toml"
    path.write_bytes(BASE.encode("utf-8-sig"))
    assert load_config(path).halls[0].name == "测试镇便民服务中心"


def test_the_error_names_the_file_as_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, variant("number = 2\n", 'number = "2"\n'))
    with pytest.raises(ConfigError) as caught:
        load_config("hall.toml")
    assert str(caught.value) == 'hall.toml: hall[0].counter[1].number: expected an integer, got string "2"'
    assert (caught.value.source, caught.value.place) == ("hall.toml", "hall[0].counter[1].number")


# -- the checks, each naming its place ------------------------------------------------------------


def test_asymmetric_partner_is_rejected_with_its_place(tmp_path: Path) -> None:
    text = BASE + '\n[[hall.counter]]\nid = "w3"\nnumber = 3\nservices = ["id-card"]\npartner = "w1"\n'
    assert rejection(tmp_path, text) == (
        "hall[0].counter[2].partner: 'w1' must name 'w3' as its partner too, but it has partner 'w2'"
    )


def test_partner_that_names_no_one_back_is_rejected(tmp_path: Path) -> None:
    text = variant('partner = "w1"\n', "")
    assert rejection(tmp_path, text) == (
        "hall[0].counter[0].partner: 'w2' must name 'w1' as its partner too, but it has no partner"
    )


def test_counter_ids_are_unique_across_halls(tmp_path: Path) -> None:
    assert rejection(tmp_path, second_hall()) == (
        "hall[1].counter[0].id: duplicate counter id 'w1' (first at hall[0].counter[0].id)"
    )


def test_kiosk_and_display_ids_are_unique_across_halls(tmp_path: Path) -> None:
    assert rejection(tmp_path, second_hall(w1="v1", w2="v2")).startswith("hall[1].kiosk[0].id: duplicate kiosk id 'k1'")
    text = second_hall(w1="v1", w2="v2", k1="k2")
    assert rejection(tmp_path, text).startswith("hall[1].display[0].id: duplicate display id 'd1'")


def test_hall_ids_are_unique(tmp_path: Path) -> None:
    text = second_hall(w1="v1", w2="v2", k1="k2", d1="d2").replace('id = "village"', 'id = "town"')
    assert rejection(tmp_path, text) == "hall[1].id: duplicate hall id 'town' (first at hall[0].id)"


def test_the_same_service_ids_and_prefixes_may_be_used_in_another_hall(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, second_hall(w1="v1", w2="v2", k1="k2", d1="d2")))
    assert [h.services[0].prefix for h in config.halls] == ["A", "A"]


def test_boolean_is_not_an_integer(tmp_path: Path) -> None:
    assert rejection(tmp_path, variant("number = 1\n", "number = true\n")) == (
        "hall[0].counter[0].number: expected an integer, got boolean true"
    )


def test_unknown_key_is_named_with_a_suggestion(tmp_path: Path) -> None:
    assert rejection(tmp_path, variant('services = ["residence"]', 'servcies = ["residence"]')) == (
        "hall[0].counter[1].servcies: unknown key 'servcies' (did you mean 'services'?)"
    )


def test_daily_limit_may_reach_the_capacity_of_a_wider_number(tmp_path: Path) -> None:
    text = adding(HALL_END, "number_width = 4\n")
    text = variant(SERVICE_END, SERVICE_END + "daily_limit = 9999\n", text)
    assert load_config(write(tmp_path, text)).halls[0].services[0].daily_limit == 9999


BAD = [
    # (file, start of the one-line message after the file name)
    pytest.param(variant('id = "town"', 'id = "Town"'), 'hall[0].id: "Town" is not an id', id="uppercase_hall_id"),
    pytest.param(variant('id = "w1"', 'id = "w 1"'), 'hall[0].counter[0].id: "w 1" is not an id', id="id_with_space"),
    pytest.param(variant('id = "w1"', 'id = "-w1"'), "hall[0].counter[0].id: ", id="id_starting_with_dash"),
    pytest.param(variant('id = "k1"', f'id = "{"k" * 41}"'), "hall[0].kiosk[0].id: ", id="id_longer_than_40"),
    pytest.param(
        variant('id = "residence"', 'id = "id-card"'),
        "hall[0].service[1].id: duplicate service id 'id-card' (first at hall[0].service[0].id)",
        id="duplicate_service_id",
    ),
    pytest.param(
        variant('prefix = "B"', 'prefix = "A"'),
        "hall[0].service[1].prefix: duplicate prefix 'A' (first at hall[0].service[0].prefix)",
        id="duplicate_prefix",
    ),
    pytest.param(variant('prefix = "B"', 'prefix = "b"'), "hall[0].service[1].prefix: ", id="lowercase_prefix"),
    pytest.param(variant('prefix = "B"', 'prefix = "ABC"'), "hall[0].service[1].prefix: ", id="long_prefix"),
    pytest.param(variant('prefix = "B"', 'prefix = "A1"'), "hall[0].service[1].prefix: ", id="prefix_with_digit"),
    pytest.param(variant('prefix = "B"', 'prefix = "Б"'), "hall[0].service[1].prefix: ", id="non_ascii_prefix"),
    pytest.param(
        variant("number = 2\n", "number = 1\n"),
        "hall[0].counter[1].number: duplicate counter number 1 (first at hall[0].counter[0].number)",
        id="duplicate_counter_number",
    ),
    pytest.param(
        variant("number = 2\n", "number = 0\n"),
        "hall[0].counter[1].number: must be between 1 and 999, got 0",
        id="counter_number_zero",
    ),
    pytest.param(variant("number = 2\n", "number = 1000\n"), "hall[0].counter[1].number: ", id="counter_number_1000"),
    pytest.param(
        variant('services = ["residence"]', 'services = ["residence", "passport"]'),
        "hall[0].counter[1].services[1]: unknown service 'passport'",
        id="counter_serves_unknown_service",
    ),
    pytest.param(
        variant('services = ["residence"]', "services = []"),
        "hall[0].counter[1].services: must list at least one service",
        id="counter_serves_nothing",
    ),
    pytest.param(
        variant('services = ["residence"]', 'services = ["residence", "residence"]'),
        "hall[0].counter[1].services[1]: duplicate service 'residence'",
        id="counter_lists_a_service_twice",
    ),
    pytest.param(
        variant('partner = "w1"', 'partner = "w9"'),
        "hall[0].counter[1].partner: unknown counter 'w9' in hall 'town'",
        id="unknown_partner",
    ),
    pytest.param(
        variant('partner = "w1"', 'partner = "w2"'),
        "hall[0].counter[1].partner: a counter cannot be its own partner",
        id="own_partner",
    ),
    pytest.param(
        adding(HALL_END, 'timezone = "Asia/Shanghia"\n'),
        'hall[0].timezone: "Asia/Shanghia" is not a time zone name',
        id="misspelt_timezone",
    ),
    pytest.param(adding(HALL_END, 'timezone = "Asia"\n'), "hall[0].timezone: ", id="timezone_folder"),
    pytest.param(adding(HALL_END, 'timezone = "../etc/passwd"\n'), "hall[0].timezone: ", id="timezone_path"),
    pytest.param(
        adding(HALL_END, "number_width = 1\n"),
        "hall[0].number_width: must be between 2 and 6, got 1",
        id="number_width_1",
    ),
    pytest.param(adding(HALL_END, "number_width = 7\n"), "hall[0].number_width: ", id="number_width_7"),
    pytest.param(
        adding(SERVICE_END, "daily_limit = 0\n"),
        "hall[0].service[0].daily_limit: must be between 1 and 999, got 0",
        id="daily_limit_0",
    ),
    pytest.param(
        adding(SERVICE_END, "daily_limit = 1000\n"),
        "hall[0].service[0].daily_limit: must be between 1 and 999, got 1000",
        id="daily_limit_beyond_the_number_width",
    ),
    pytest.param(
        adding(HALL_END, "max_priority_streak = 0\n"),
        "hall[0].max_priority_streak: must be at least 1, got 0",
        id="priority_streak_0",
    ),
    pytest.param(
        adding(HALL_END, 'hours = "sometimes"\n'),
        'hall[0].hours: expected "always" or a table',
        id="hours_neither_always_nor_table",
    ),
    pytest.param(
        adding(HALL_END, 'hours = { periods = ["8:30-12"] }\n'),
        'hall[0].hours.periods[0]: expected "HH:MM-HH:MM", got "8:30-12"',
        id="period_badly_written",
    ),
    pytest.param(
        adding(HALL_END, 'hours = { periods = ["12:00-08:30"] }\n'),
        'hall[0].hours.periods[0]: "12:00-08:30" must end after it starts',
        id="period_ending_before_its_start",
    ),
    pytest.param(
        adding(HALL_END, 'hours = { periods = ["08:30-08:30"] }\n'),
        "hall[0].hours.periods[0]: ",
        id="empty_period",
    ),
    pytest.param(
        adding(HALL_END, 'hours = { periods = ["08:30-25:00"] }\n'),
        "hall[0].hours.periods[0]: 25:00 is not a time of day",
        id="hour_25",
    ),
    pytest.param(
        adding(HALL_END, 'hours = { periods = ["08:30-12:00", "11:00-17:00"] }\n'),
        "hall[0].hours.periods[1]: overlaps or precedes the period before it, which ends at 12:00",
        id="overlapping_periods",
    ),
    pytest.param(
        adding(HALL_END, 'hours = { periods = ["13:30-17:30", "08:30-12:00"] }\n'),
        "hall[0].hours.periods[1]: overlaps or precedes the period before it, which ends at 17:30",
        id="unsorted_periods",
    ),
    pytest.param(
        adding(SERVICE_END, 'hours = { days = ["mon", "monday"] }\n'),
        'hall[0].service[0].hours.days[1]: "monday" is not one of mon, tue, wed, thu, fri, sat, sun',
        id="unknown_day",
    ),
    pytest.param(
        adding(SERVICE_END, 'hours = { days = ["mon", "mon"] }\n'),
        "hall[0].service[0].hours.days[1]: duplicate day 'mon'",
        id="day_twice",
    ),
    pytest.param(adding(SERVICE_END, "hours = { days = [] }\n"), "hall[0].service[0].hours.days: ", id="no_days"),
    pytest.param(
        adding(SERVICE_END, 'hours = { weekdays = ["mon"] }\n'),
        "hall[0].service[0].hours.weekdays: unknown key 'weekdays'",
        id="unknown_hours_key",
    ),
    pytest.param(
        adding(SERVICE_END, 'group = "shopping"\n'),
        'hall[0].service[0].group: "shopping" is not one of admin, life',
        id="unknown_service_group",
    ),
    pytest.param(
        variant(PRINTER, 'printer = { kind = "laser" }'),
        'hall[0].kiosk[0].printer.kind: "laser" is not one of none, virtual, network, usb, serial, file, agent',
        id="unknown_printer_kind",
    ),
    pytest.param(
        variant(PRINTER, 'printer = { kind = "virtual", paper = 70 }'),
        "hall[0].kiosk[0].printer.paper: paper is the width in mm: 80 or 58, got 70",
        id="printer_paper_70",
    ),
    pytest.param(
        variant(PRINTER, 'printer = { kind = "virtual", text = "bitmap" }'),
        'hall[0].kiosk[0].printer.text: "bitmap" is not one of chinese, raster',
        id="printer_text_mode",
    ),
    pytest.param(
        variant(PRINTER, 'printer = { kind = "network", host = "10.0.0.9", port = 0 }'),
        "hall[0].kiosk[0].printer.port: must be between 1 and 65535, got 0",
        id="printer_port_0",
    ),
    pytest.param(
        variant(PRINTER, 'printer = { kind = "network", port = 65536 }'),
        "hall[0].kiosk[0].printer.port: ",
        id="printer_port_65536",
    ),
    pytest.param(
        variant(PRINTER, 'printer = { kind = "file" }'),
        "hall[0].kiosk[0].printer: a file printer needs a path",
        id="file_printer_without_path",
    ),
    pytest.param(
        variant(PRINTER, 'printer = { kind = "usb", usb_vendor = 0x0416 }'),
        "hall[0].kiosk[0].printer: a usb printer needs usb_vendor and usb_product",
        id="usb_printer_without_product",
    ),
    pytest.param(
        variant(PRINTER, "printer = {}"),
        "hall[0].kiosk[0].printer: missing required key 'kind'",
        id="printer_without_kind",
    ),
    pytest.param(
        variant(PRINTER, 'printer = { kind = "virtual", colour = "red" }'),
        "hall[0].kiosk[0].printer.colour: unknown key 'colour'",
        id="unknown_printer_key",
    ),
    pytest.param(
        '[server]\nasync_mode = "asyncio"\n' + BASE,
        'server.async_mode: "asyncio" is not one of eventlet, gevent, threading',
        id="unknown_async_mode",
    ),
    pytest.param("[server]\nport = 0\n" + BASE, "server.port: must be between 1 and 65535", id="server_port_0"),
    pytest.param('[server]\nport = "5000"\n' + BASE, "server.port: expected an integer", id="server_port_string"),
    pytest.param(
        "[server.limits]\ntickets_per_minute = 0\n" + BASE,
        "server.limits.tickets_per_minute: must be at least 1, got 0",
        id="zero_ticket_limit",
    ),
    pytest.param(
        "[server.limits]\nmax_body_bytes = -1\n" + BASE, "server.limits.max_body_bytes: ", id="negative_body_limit"
    ),
    pytest.param(
        "[server.limits]\nratings_per_minute = 1.5\n" + BASE,
        "server.limits.ratings_per_minute: expected an integer, got float 1.5",
        id="float_rating_limit",
    ),
    pytest.param(
        '[server]\nlog_level = "LOUD"\n' + BASE, 'server.log_level: "LOUD" is not one of', id="unknown_log_level"
    ),
    pytest.param(
        '[server]\ndatabase = "nonsense"\n' + BASE,
        "server.database: not a SQLAlchemy database URL",
        id="bad_database_url",
    ),
    pytest.param(
        '[server]\ndatabase = "postgresql://db:port/test"\n' + BASE,
        "server.database: not a SQLAlchemy database URL",
        id="database_url_with_a_bad_port",
    ),
    pytest.param(
        '[server]\npublic_url = "hall.example:5000"\n' + BASE,
        'server.public_url: "hall.example:5000" is not an http(s) base URL',
        id="public_url_without_scheme",
    ),
    pytest.param(
        '[server]\nmessage_queue = "127.0.0.1:6379"\n' + BASE,
        "server.message_queue: ",
        id="message_queue_without_scheme",
    ),
    pytest.param(
        '[server]\nmessage_channel = ""\n' + BASE,
        "server.message_channel: must not be empty",
        id="empty_message_channel",
    ),
    pytest.param(
        '[server]\nmessage_channel = "hall q"\n' + BASE,
        'server.message_channel: "hall q" is not a channel name',
        id="message_channel_with_a_space",
    ),
    pytest.param(
        "[ratings]\ncallback_days = 20\n" + BASE,
        "ratings.callback_days: must not exceed fix_days (15)",
        id="callback_after_fix_deadline",
    ),
    pytest.param("[ratings]\nfix_days = 0\n" + BASE, "ratings.fix_days: must be at least 1", id="fix_days_0"),
    pytest.param(
        '[server]\npublic_ulr = "http://hall.example"\n' + BASE,
        "server.public_ulr: unknown key 'public_ulr' (did you mean 'public_url'?)",
        id="unknown_server_key",
    ),
    pytest.param('colour = "blue"\n' + BASE, "colour: unknown key 'colour'", id="unknown_top_level_key"),
    pytest.param(
        adding(HALL_END, 'address = "青山镇"\n'), "hall[0].address: unknown key 'address'", id="unknown_hall_key"
    ),
    pytest.param(
        adding(SERVICE_END, "price = 0\n"), "hall[0].service[0].price: unknown key 'price'", id="unknown_service_key"
    ),
    pytest.param(
        BASE.replace('name = "身份证办理"\n', ""),
        "hall[0].service[0]: missing required key 'name'",
        id="service_without_name",
    ),
    pytest.param(
        BASE.replace('prefix = "A"\n', ""),
        "hall[0].service[0]: missing required key 'prefix'",
        id="service_without_prefix",
    ),
    pytest.param(
        variant("number = 2\n", ""), "hall[0].counter[1]: missing required key 'number'", id="counter_without_number"
    ),
    pytest.param(variant(HALL_END, ""), "hall[0]: missing required key 'name'", id="hall_without_name"),
    pytest.param(
        variant('name = "取号机"\n', ""), "hall[0].kiosk[0]: missing required key 'name'", id="kiosk_without_name"
    ),
    pytest.param(
        variant('name = "大屏"\n', 'name = "  "\n'), "hall[0].display[0].name: must not be empty", id="blank_name"
    ),
    pytest.param(
        adding(HALL_END, "name_en = 1\n"),
        "hall[0].name_en: expected a string, got integer 1",
        id="name_en_not_a_string",
    ),
    pytest.param(
        adding(SERVICE_END, 'materials = ["户口簿", 2]\n'),
        "hall[0].service[0].materials[1]: expected a string, got integer 2",
        id="material_not_a_string",
    ),
    pytest.param(
        adding(SERVICE_END, 'enabled = "yes"\n'),
        'hall[0].service[0].enabled: expected true or false, got string "yes"',
        id="enabled_not_a_boolean",
    ),
    pytest.param(
        adding(SERVICE_END, 'kind = "urgent"\n'),
        'hall[0].service[0].kind: "urgent" is not one of immediate, promised',
        id="unknown_service_kind",
    ),
    pytest.param(
        variant("time_limit_days = 15\n", ""),
        'hall[0].service[1].time_limit_days: a "promised" service needs a time limit of at least 1 day',
        id="promised_without_time_limit",
    ),
    pytest.param(
        adding(SERVICE_END, "time_limit_days = 3\n"),
        'hall[0].service[0].time_limit_days: an "immediate" service has no time limit',
        id="immediate_with_time_limit",
    ),
    pytest.param(
        adding(SERVICE_END, "avg_service_s = 0\n"), "hall[0].service[0].avg_service_s: ", id="zero_service_time"
    ),
    pytest.param(
        variant('services = ["residence"]', 'services = ["id-card"]'),
        "hall[0].service[1]: no counter serves 'residence'",
        id="service_nobody_serves",
    ),
    pytest.param("[server]\nport = 5000\n", "at least one [[hall]] is required", id="no_hall"),
    pytest.param("hall = []\n", "at least one [[hall]] is required", id="empty_hall_array"),
    pytest.param(
        '[hall]\nid = "town"\nname = "镇"\n', "hall: write [[hall]] (an array of tables), not [hall]", id="single_hall"
    ),
    pytest.param(
        BASE.split("[[hall.service]]")[0],
        "hall[0]: at least one [[hall.service]] is required",
        id="hall_without_services",
    ),
    pytest.param(
        BASE.split("[[hall.counter]]")[0],
        "hall[0]: at least one [[hall.counter]] is required",
        id="hall_without_counters",
    ),
    pytest.param(
        variant(PRINTER, 'printer = "virtual"'),
        'hall[0].kiosk[0].printer: expected a table, got string "virtual"',
        id="printer_not_a_table",
    ),
]


@pytest.mark.parametrize(("text", "expected"), BAD)
def test_invalid_file_is_rejected_naming_the_exact_place(tmp_path: Path, text: str, expected: str) -> None:
    assert rejection(tmp_path, text).startswith(expected)


def test_disabled_service_need_not_be_served(tmp_path: Path) -> None:
    text = variant('services = ["residence"]', 'services = ["id-card"]')
    text = variant('prefix = "B"\n', 'prefix = "B"\nenabled = false\n', text)
    assert load_config(write(tmp_path, text)).halls[0].services[1].enabled is False


# -- outbound webhooks (PROTOCOL v1.2) --------------------------------------------------------------


def test_webhooks_are_read_with_their_events(tmp_path: Path) -> None:
    hook = 'url = "https://relay.example/hq"\nsecret = "0123456789abcdef"\nevents = ["ticket.called"]\n'
    text = BASE + "\n[[hall.webhook]]\n" + hook
    (hall,) = load_config(write(tmp_path, text)).halls
    (hook,) = hall.webhooks
    assert hook.url == "https://relay.example/hq" and hook.retry_hours == 72
    assert hall.wants("ticket.called") and not hall.wants("ticket.issued")


@pytest.mark.parametrize(
    ("lines", "problem"),
    [
        ('url = "ftp://relay.example/"\nsecret = "0123456789abcdef"', "hall[0].webhook[0].url: expected an http"),
        ('url = "https://relay.example/"\nsecret = "short"', "hall[0].webhook[0].secret: the signing secret"),
        (
            'url = "https://relay.example/"\nsecret = "0123456789abcdef"\nevents = ["ticket.lost"]',
            "hall[0].webhook[0].events[0]: unknown event 'ticket.lost'",
        ),
    ],
)
def test_a_bad_webhook_is_refused_with_its_place(tmp_path: Path, lines: str, problem: str) -> None:
    assert rejection(tmp_path, BASE + "\n[[hall.webhook]]\n" + lines + "\n").startswith(problem)


def test_a_counter_may_have_its_own_printer_and_an_english_name(tmp_path: Path) -> None:
    text = adding(
        'id = "w1"\nnumber = 1\n',
        'name = "一号窗"\nname_en = "Counter A"\nprinter = { kind = "network", host = "10.0.0.31" }\n',
    )
    hall = load_config(write(tmp_path, text)).halls[0]
    w1, w2 = hall.counters
    assert (w1.printer.kind, w1.printer.host, w1.name_in(True), w1.name_in(False)) == (
        "network",
        "10.0.0.31",
        "Counter A",
        "一号窗",
    )
    assert (w2.printer.kind, w2.name, w2.name_in(True)) == ("none", "2号窗口", "Window 2")  # default names, both


def test_a_counter_printer_is_printed_by_the_server_not_an_agent(tmp_path: Path) -> None:
    text = adding('id = "w1"\nnumber = 1\n', 'printer = { kind = "agent" }\n')
    assert "hall[0].counter[0].printer" in rejection(tmp_path, text) and "agent" in rejection(tmp_path, text)


def test_materials_en_names_each_material_in_order(tmp_path: Path) -> None:
    both = 'materials = ["户口簿", "照片"]\nmaterials_en = ["Household register", "Photo"]\n'
    service = load_config(write(tmp_path, adding('prefix = "A"\n', both))).halls[0].services[0]
    assert service.materials_in(True) == ("Household register", "Photo") and service.materials_in(False) == (
        "户口簿",
        "照片",
    )
    short = 'materials = ["户口簿", "照片"]\nmaterials_en = ["Household register"]\n'
    assert "materials_en" in rejection(tmp_path, adding('prefix = "A"\n', short))


def test_the_limits_against_one_client_are_read_and_checked(tmp_path: Path) -> None:
    server = (
        "[server]\nheader_timeout_s = 5\nbody_timeout_s = 7\nmax_connections = 2000\n"
        'max_connections_per_address = 0\ntrusted_proxies = ["10.0.0.2", "::ffff:10.0.0.3"]\n'
        "[server.limits]\nanonymous_tickets_per_day = 0\nsocket_events_per_minute = 60\naudio_per_minute = 9\n"
        "[voice]\ncache_max_mb = 5\ncache_max_days = 1\n"
    )
    s = load_config(write(tmp_path, server + BASE)).settings
    assert (s.header_timeout_s, s.body_timeout_s, s.max_connections, s.max_connections_per_address) == (5, 7, 2000, 0)
    assert s.trusted_proxies == ("10.0.0.2", "10.0.0.3")
    assert (s.limits.anonymous_tickets_per_day, s.limits.socket_events_per_minute, s.limits.audio_per_minute) == (
        0, 60, 9,
    )  # fmt: skip
    assert (s.voice.cache_max_mb, s.voice.cache_max_days) == (5, 1)
    assert rejection(tmp_path, '[server]\ntrusted_proxies = ["nginx"]\n' + BASE) == (
        'server.trusted_proxies: "nginx" is not an IP address'
    )
    assert rejection(tmp_path, "[server]\nmax_connections = 3\n" + BASE).startswith("server.max_connections: must be")


SECRET = 'secret = "0123456789abcdef"\n'


@pytest.mark.parametrize(
    ("server", "url"),
    [
        ("", "http://127.0.0.1:5000/hooks"),  # the default host and port
        ("", "http://localhost:5000/"),
        ('[server]\nhost = "0.0.0.0"\nport = 8000\n', "http://127.0.0.1:8000/hooks"),
        ('[server]\npublic_url = "https://hall.example"\n', "https://hall.example/hooks"),
        ('[server]\npublic_url = "http://hall.example:8080"\n', "http://HALL.example:8080/x"),
    ],
)
def test_a_webhook_pointing_at_the_server_itself_is_refused_with_its_place(
    tmp_path: Path, server: str, url: str
) -> None:
    second = '\n[[hall.webhook]]\nurl = "https://relay.example/a"\n' + SECRET  # the first one is fine
    text = server + BASE + second + f'\n[[hall.webhook]]\nurl = "{url}"\n' + SECRET
    assert rejection(tmp_path, text).startswith("hall[0].webhook[1].url: ")
    assert "points at this server itself" in rejection(tmp_path, text)


def test_a_webhook_on_the_same_machine_but_another_port_is_taken(tmp_path: Path) -> None:
    text = BASE + '\n[[hall.webhook]]\nurl = "http://127.0.0.1:8099/sms"\n' + SECRET
    assert load_config(write(tmp_path, text)).halls[0].webhooks[0].url == "http://127.0.0.1:8099/sms"


def test_a_webhook_with_a_bad_port_is_refused(tmp_path: Path) -> None:
    text = BASE + '\n[[hall.webhook]]\nurl = "http://relay.example:99999/"\n' + SECRET
    assert rejection(tmp_path, text).startswith("hall[0].webhook[0].url: the port of")


def test_the_rating_push_is_read_and_refused_pointing_at_the_server_itself(tmp_path: Path) -> None:
    push = '\n[hall.evaluation_push]\nurl = "{}"\narea_code = "330102"\ndept_code = "D1"\n'
    text = BASE + push.format("https://pj.example.gov.cn/assess")
    hall = load_config(write(tmp_path, text)).halls[0]
    assert hall.evaluation_push is not None and hall.evaluation_push.profile.name == "zhejiang"
    assert [f.name for f in hall.evaluation_push.profile.fields][:2] == ["projectNo", "taskCode"]
    refused = rejection(tmp_path, BASE + push.format("http://127.0.0.1:5000/pj"))
    assert refused.startswith("hall[0].evaluation_push.url: ") and "points at this server itself" in refused
    missing = rejection(tmp_path, BASE + '\n[hall.evaluation_push]\nurl = "https://pj.example/"\n')
    assert missing.startswith("hall[0].evaluation_push: missing required key 'area_code'")
