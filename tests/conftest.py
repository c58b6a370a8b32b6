"""Makes tests/support importable as `support` for every test folder, and loads the shared fixtures."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

pytest_plugins = ["support.fixtures"]
