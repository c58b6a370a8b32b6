"""Tickets on paper: slip layout to ESC/POS bytes, drivers, decoding, and the virtual printer."""

from __future__ import annotations

from . import escpos_cache

escpos_cache.prepare()
