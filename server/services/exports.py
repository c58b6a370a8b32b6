"""Exports a spreadsheet opens: CSV (UTF-8 with a BOM) and XLSX (openpyxl), for the ledger and the reports."""

from __future__ import annotations

import csv
import io
from typing import Any

from .history import LEDGER_COLUMNS, handoffs_text

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TABLES = ("days", "by_service", "by_counter", "by_hour", "windows")


def _safe(value: Any) -> Any:
    """Neutralise spreadsheet formulas in free text (CSV/XLSX injection); lists become one cell."""
    if isinstance(value, list):
        value = "；".join(str(v) for v in value)
    if isinstance(value, dict):
        value = "; ".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def ledger_csv(items: list[dict[str, Any]]) -> str:
    """The ledger as CSV with a BOM, so spreadsheet programs read the Chinese text."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(LEDGER_COLUMNS)
    for item in items:
        writer.writerow([_safe(_ledger_cell(item, k)) for k in LEDGER_COLUMNS])
    return "\ufeff" + buf.getvalue()


def ledger_xlsx(items: list[dict[str, Any]]) -> bytes:
    """The same rows as the JSON ledger, one sheet, one row per ticket."""
    return _workbook([("ledger", LEDGER_COLUMNS, [[_safe(_ledger_cell(i, k)) for k in LEDGER_COLUMNS] for i in items])])


def _ledger_cell(item: dict[str, Any], column: str) -> Any:
    return handoffs_text(item.get("handoffs") or []) if column == "handoffs" else item.get(column)


def _sheets(report: dict[str, Any]) -> list[tuple[str, list[str], list[list[Any]]]]:
    """A report as a key/value summary sheet plus one sheet per table in it."""
    summary = [[k, _safe(v)] for k, v in report.items() if k not in (*TABLES, "uncovered", "cover", "appointments")]
    for key in ("uncovered", "cover"):
        if key in report:
            summary.append([f"{key}.uncovered_s", report[key].get("uncovered_s")])
    for figure, value in (report.get("appointments") or {}).items():  # PROTOCOL v1.2: one line per figure
        summary.append([f"appointments.{figure}", _safe(value)])
    sheets = [("summary", ["figure", "value"], summary)]
    for name in TABLES:
        rows = report.get(name)
        if rows:
            columns = [c for c in rows[0] if c != "deductions"]
            if name == "windows":
                columns.append("deductions")
            sheets.append((name, columns, [[_safe(_cell(r, c)) for c in columns] for r in rows]))
    for name in ("uncovered",):
        part = report.get(name) or {}
        for table in ("services", "counters"):
            rows = part.get(table) or []
            if rows:
                columns = list(rows[0])
                sheets.append((f"{name}_{table}", columns, [[r[c] for c in columns] for r in rows]))
    return sheets


def _cell(row: dict[str, Any], column: str) -> Any:
    if column == "deductions":
        return " | ".join(
            f"-{d['points']} {d['kind']} events {','.join(str(e) for e in d['events'])}" for d in row["deductions"]
        )
    return row.get(column)


def report_csv(report: dict[str, Any]) -> str:
    """A report as CSV: the summary, then each table after a blank line and its name."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    for i, (name, columns, rows) in enumerate(_sheets(report)):
        if i:
            writer.writerow([])
            writer.writerow([f"# {name}"])
        writer.writerow(columns)
        writer.writerows(rows)
    return "\ufeff" + buf.getvalue()


def report_xlsx(report: dict[str, Any]) -> bytes:
    return _workbook(_sheets(report))


def _workbook(sheets: list[tuple[str, list[str], list[list[Any]]]]) -> bytes:
    # Imported here: openpyxl loads Pillow, which a server without printers otherwise never needs at start.
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    for name, columns, rows in sheets:
        sheet = book.create_sheet(title=name[:31])
        for i, column in enumerate(columns, start=1):
            sheet.column_dimensions[get_column_letter(i)].width = max(10, min(40, len(column) + 4))
        sheet.append(columns)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
