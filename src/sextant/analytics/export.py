"""A report's table as CSV or XLSX: grouped values by their display names, one row per result row."""

from __future__ import annotations

import csv
import io
from typing import Any

from sextant.core.export import FORMULA_PREFIXES

MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _cell(column: dict[str, Any], labels: dict[str, dict[str, Any]], value: Any) -> Any:
    if value is None:
        return ""
    if column["role"] == "group":
        value = labels.get(column["key"], {}).get(str(value), value)
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value  # a cell that a spreadsheet would run as a formula
    return value


def table(result: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    columns = result["columns"]
    header = [c["label"] for c in columns]
    rows = [[_cell(c, result["labels"], r[c["key"]]) for c in columns] for r in result["rows"]]
    return header, rows


def to_csv(result: dict[str, Any]) -> bytes:
    header, rows = table(result)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


def to_xlsx(result: dict[str, Any], title: str = "Report") -> bytes:
    from openpyxl import Workbook

    header, rows = table(result)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=(title or "Report")[:31].replace("/", "-") or "Report")
    ws.append(header)
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def render(result: dict[str, Any], fmt: str, title: str) -> bytes:
    return to_csv(result) if fmt == "csv" else to_xlsx(result, title)
