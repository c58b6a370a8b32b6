"""Makes tests/support importable as `support` for every test folder, loads the shared fixtures, and orders the tiers.

Every test is marked with its folder's tier (`unit`, `integration`, `browser`), so `-m "not browser"` and the
like select tiers, and the tiers run in that order: the fast ones fail first.
"""

from __future__ import annotations

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


def pytest_itemcollected(item: pytest.Item) -> None:
    item.add_marker(_tier(item))  # at collection, so that -m sees it


@pytest.hookimpl(trylast=True)  # after pytest's own grouping by fixture, which a stable sort keeps
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: TIERS.index(_tier(item)))
