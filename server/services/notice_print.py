"""Where a 一次性告知 notice was printed: at the counter's own printer, or at a kiosk (named for the clerk)."""

from __future__ import annotations

from typing import Literal, NamedTuple


class Printed(NamedTuple):
    at: Literal["counter", "kiosk"]
    kiosk: str | None  # the kiosk's id when printed at a kiosk (the answer's `printed_on`)
    name: str  # the counter's or the kiosk's name, for the clerk's words

    def fields(self) -> dict[str, object]:
        """The finish answer's notice fields (docs/api.md): printed_on, printed_at, printed_on_name."""
        return {"printed_on": self.kiosk, "printed_at": self.at, "printed_on_name": self.name}


NOT_PRINTED: dict[str, object] = {"printed_on": None, "printed_at": None, "printed_on_name": None}
