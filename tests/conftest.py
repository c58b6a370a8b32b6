"""Makes tests/support importable as `support` for every test folder, loads the shared fixtures, and orders the tiers.

Every test is marked with its folder's tier (`unit`, `integration`, `browser`), so `-m "not browser"` and the
like select tiers, and the tiers run in that order: the fast ones fail first.
"""

from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))

pytest_plugins = ["support.fixtures"]

TIERS = ("unit", "integration", "browser")


def _tier(item: pytest.Item) -> str:
    try:
        folder = item.path.relative_to(TESTS).parts[0]
    except ValueError:
        return "integration"
    return folder if folder in TIERS else "integration"


# A test of a real process (a `hallq serve`, a command, a second Python): it uses a fixture that starts one,
# the test or one of its fixtures makes a `Server` or runs a `hallq` command, or its module starts processes
# itself. `make check` leaves these out (docs/testing.md); `make test` runs all.
REAL_PROCESS_FIXTURES = frozenset({"live_servers", "start_server", "listen"})
_STARTS_PROCESSES = re.compile(r"\b(subprocess|Popen|multiprocessing|sys\.executable)\b")
_STARTS_A_SERVER = re.compile(r"\b(Server|hallq)\(")
_module_starts: dict[Path, bool] = {}
_function_starts: dict[object, bool] = {}


def _starts_processes(path: Path) -> bool:
    if path not in _module_starts:
        _module_starts[path] = bool(_STARTS_PROCESSES.search(path.read_text(encoding="utf-8")))
    return _module_starts[path]


def _starts_a_server(function: object) -> bool:
    if function not in _function_starts:
        try:
            source = inspect.getsource(function)  # type: ignore[arg-type]
            inside = Path(inspect.getfile(function)).resolve().is_relative_to(TESTS)  # type: ignore[arg-type]
        except (OSError, TypeError):
            source, inside = "", False
        _function_starts[function] = inside and bool(_STARTS_A_SERVER.search(source))
    return _function_starts[function]


def _real_process(item: pytest.Item) -> bool:
    fixtures = set(getattr(item, "fixturenames", ()))
    if fixtures & REAL_PROCESS_FIXTURES or _starts_processes(item.path):
        return True
    functions = [getattr(item, "function", None)]
    info = getattr(item, "_fixtureinfo", None)
    for defs in info.name2fixturedefs.values() if info is not None else ():
        functions += [d.func for d in defs]
    return any(_starts_a_server(f) for f in functions if f is not None)


def pytest_itemcollected(item: pytest.Item) -> None:
    tier = _tier(item)
    item.add_marker(tier)  # at collection, so that -m sees it
    if tier == "browser" or (tier == "integration" and _real_process(item)):
        item.add_marker("real_process")


@pytest.hookimpl(trylast=True)  # after pytest's own grouping by fixture, which a stable sort keeps
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: TIERS.index(_tier(item)))
