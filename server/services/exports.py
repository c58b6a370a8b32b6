"""Exports a spreadsheet opens: CSV (UTF-8 with a BOM) and XLSX (openpyxl), for the ledger and the reports."""

from __future__ import annotations

import csv
import io
from typing import Any
from urllib.parse import quote

from server.engine.model import Hall

from .history import LEDGER_COLUMNS, handoffs_text

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def disposition(filename: str) -> str:
    """A download's Content-Disposition for any file name: an ASCII name for old clients, the real one as RFC
    5987 `filename*` (a region's Chinese name in a header closed the connection: headers are Latin-1)."""
    plain = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename)
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"


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


def ledger_csv(items: list[dict[str, Any]], hall: Hall | None = None) -> str:
    """The ledger as CSV with a BOM, so spreadsheet programs read the Chinese text: the contract's keys and
    values; with `hall` (`&labels=zh`), the hall's 台账 as the XLSX has it."""
    columns, rows = _ledger_sheet(items, hall) if hall is not None else _ledger_plain(items)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(columns)
    writer.writerows(rows)
    return "\ufeff" + buf.getvalue()


def ledger_xlsx(items: list[dict[str, Any]], hall: Hall) -> bytes:
    """The same rows as the JSON ledger, one row per ticket, as the hall's 台账 (`_ledger_sheet`)."""
    columns, rows = _ledger_sheet(items, hall)
    return _workbook([("台账", columns, rows)])


def _ledger_plain(items: list[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    return list(LEDGER_COLUMNS), [[_safe(_ledger_cell(i, k)) for k in LEDGER_COLUMNS] for i in items]


# The hall's 台账: Chinese headers, names for services and windows, 是/否, hall-local times, reasons kept.
LEDGER_LABELS = {
    "number": "号码",
    "service": "事项",
    "status": "状态",
    "priority": "优先",
    "issued_at": "取号时间",
    "called_at": "叫号时间",
    "started_at": "开始办理时间",
    "finished_at": "办理完毕时间",
    "wait_s": "等候时长（秒）",
    "service_s": "办理时长（秒）",
    "served_by": "办理窗口",
    "on_behalf_of": "代办（AB岗）窗口",
    "outcome": "办理结果",
    "clerk": "工作人员",
    "owner": "首问窗口",
    "recalls": "重呼次数",
    "transfers": "转办次数",
    "missing": "缺少材料",
    "reason": "未办理原因",
    "day": "日期",
    "handoffs": "转办记录（窗口→去向：原因）",
    "id": "号票编号",
}
STATUS_ZH = {
    "waiting": "等候中",
    "called": "已叫号",
    "serving": "办理中",
    "done": "已服务",
    "no_show": "过号",
    "closed_out": "闭厅未办理",
}
OUTCOME_ZH = {"completed": "办结", "incomplete": "材料不全", "rejected": "不予受理", "consulted": "咨询"}
REASON_ZH = {"day_closed": "闭厅时仍未办理"}
TIMES = ("issued_at", "called_at", "started_at", "finished_at")
WINDOWS = ("served_by", "on_behalf_of", "owner")


def _ledger_sheet(items: list[dict[str, Any]], hall: Hall) -> tuple[list[str], list[list[Any]]]:
    services = {s.id: s.name for s in hall.services}
    windows = {c.id: c.name for c in hall.counters}
    keys = list(LEDGER_LABELS)

    def handoff(h: dict[str, Any]) -> str:
        """2号窗口→3号窗口：reason (to a window) or 2号窗口→社保医保 (to a service's queue)."""
        to = windows.get(h["to_counter"], h["to_counter"]) if h.get("to_counter") else services.get(h["to_service"])
        reason = f"：{h['reason']}" if h.get("reason") else ""
        return f"{windows.get(h['counter'], h['counter'] or '')}→{to or h.get('to_service') or ''}{reason}"

    def cell(item: dict[str, Any], key: str) -> Any:
        value = item.get(key)
        if key == "handoffs":
            return "；".join(handoff(h) for h in item.get("handoffs") or [])
        if value is None:
            return ""
        if key in TIMES:  # ISO with the hall's offset: the hall's wall clock
            return str(value)[:19].replace("T", " ")
        if key == "service":
            return services.get(value, value)
        if key in WINDOWS:
            return windows.get(value, value)
        if key == "priority":
            return "是" if value else "否"
        if key == "status":
            return STATUS_ZH.get(value, value)
        if key == "outcome":
            return OUTCOME_ZH.get(value, value)
        if key == "reason":
            return REASON_ZH.get(value, value)
        return value

    return [LEDGER_LABELS[k] for k in keys], [[_safe(cell(i, k)) for k in keys] for i in items]


def _ledger_cell(item: dict[str, Any], column: str) -> Any:
    return handoffs_text(item.get("handoffs") or []) if column == "handoffs" else item.get(column)


def _sheets(report: dict[str, Any]) -> list[tuple[str, list[str], list[list[Any]]]]:
    """A report as a key/value summary sheet plus one sheet per table in it."""
    summary = [
        [k, _safe(v)] for k, v in report.items() if k not in (*TABLES, "uncovered", "cover", "staff", "appointments")
    ]
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
    for name, tables in (("uncovered", ("services", "counters")), ("staff", ("counters", "clerks"))):
        part = report.get(name) or {}
        for table in tables:
            rows = part.get(table) or []
            if rows:
                columns = list(rows[0])
                sheets.append((f"{name}_{table}", columns, [[_flat(r[c]) for c in columns] for r in rows]))
    return sheets


def _flat(value: Any) -> Any:
    """A table cell: a mapping (away seconds by reason) as one text cell, reason=seconds; plain values kept."""
    if isinstance(value, dict):
        return _safe("; ".join(f"{k or '-'}={v}" for k, v in value.items()))
    return _safe(value)


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
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.utils import get_column_letter

    def cell(value: Any) -> Any:
        # XML 1.0 has no control characters but tab, LF and CR: openpyxl refuses a cell holding one (a clerk's
        # pasted text may), which was a 500 for the whole download. Shown as U+FFFD, as body.py cleans text.
        return ILLEGAL_CHARACTERS_RE.sub("\ufffd", value) if isinstance(value, str) else value

    book = Workbook(write_only=True)
    for name, columns, rows in sheets:
        sheet = book.create_sheet(title=name[:31])
        for i, column in enumerate(columns, start=1):
            sheet.column_dimensions[get_column_letter(i)].width = max(10, min(40, len(column) + 4))
        sheet.append(columns)
        for row in rows:
            sheet.append([cell(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def table_csv(columns: list[str], rows: list[list[Any]]) -> str:
    """One table as CSV with a BOM (a header row of `columns`, the cells made safe)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(columns)
    writer.writerows([_safe(v) for v in row] for row in rows)
    return "\ufeff" + buf.getvalue()


def table_xlsx(name: str, columns: list[str], rows: list[list[Any]]) -> bytes:
    return _workbook([(name, columns, [[_safe(v) for v in row] for row in rows])])
