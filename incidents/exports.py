"""Exports people open in Excel: incidents, alerts and action items as CSV or XLSX.

The rows come from the same filters as the lists (`incident_conditions`, `alert_conditions`,
`action_item_conditions`) and are read in chunks (`yield_per`: a server-side cursor on
PostgreSQL, the driver's lazy cursor on SQLite) and written as they come, so a year of alerts
is never held in memory. The headers are the JSON API's field names, so a file and the API
name a column alike and a saved pivot table survives a change of the page's language.
"""

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum, StrEnum
from pathlib import Path
from typing import IO, Any

import xlsxwriter
from sqlalchemy import Select, select
from sqlmodel import Session, col

from incidents.action_items import action_item_conditions
from incidents.alerts.models import Alert, Source
from incidents.alerts.service import AlertFilter, alert_conditions
from incidents.calendar import Calendar
from incidents.models import ActionItem, Incident
from incidents.service import IncidentFilter, incident_conditions

# Rows fetched from the database at a time, and CSV bytes handed on at a time.
CHUNK_ROWS = 2_000
CSV_CHUNK_BYTES = 64 * 1024
# Excel's limit per sheet; a longer export goes on into "alerts (2)", "alerts (3)", …
SHEET_ROWS = 1_048_576
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
# Cells Excel would read as a formula (CSV injection): alert titles come from webhooks.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class ExportKind(StrEnum):
    incidents = "incidents"
    alerts = "alerts"
    action_items = "action-items"


class ExportFormat(StrEnum):
    csv = "csv"
    xlsx = "xlsx"


MEDIA_TYPES = {
    ExportFormat.csv: "text/csv; charset=utf-8",
    ExportFormat.xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

INCIDENT_COLUMNS = (
    "id",
    "title",
    "system",
    "team",
    "grade",
    "status",
    "occurred_at",
    "detected_at",
    "acknowledged_at",
    "located_at",
    "mitigation_started_at",
    "mitigated_at",
    "recovered_at",
    "resolved_at",
    "detection",
    "source",
    "business_impact",
    "failed_orders",
    "failed_transactions",
    "affected_users",
    "impact_minutes",
    "amount_involved_cny",
    "loss_cny",
    "recovered_cny",
    "core_system",
    "regulatory",
    "report_week",
    "owner",
    "description",
    "impact",
    "root_cause",
    "remediation",
    "created_by",
)
ALERT_COLUMNS = (
    "id",
    "title",
    "status",
    "severity",
    "system",
    "fingerprint",
    "starts_at",
    "received_at",
    "ends_at",
    "resolved_at",
    "repeat_count",
    "acked_at",
    "acked_by",
    "first_follow_up_at",
    "valid",
    "verdict_note",
    "verdict_by",
    "incident_id",
    "url",
)
ACTION_ITEM_COLUMNS = (
    "id",
    "incident_id",
    "title",
    "type",
    "status",
    "owner",
    "verifier",
    "due_date",
    "acceptance_criteria",
    "tracker",
    "not_doing_reason",
    "closed_at",
    "verified_at",
    "verified_by",
    "created_at",
)


@dataclass(frozen=True)
class Export:
    """What one export reads: its name (the file's and the sheet's), header and statement."""

    kind: ExportKind
    header: tuple[str, ...]
    statement: Select[Any]


def incidents_export(criteria: IncidentFilter, calendar: Calendar) -> Export:
    statement = (
        select(*(getattr(Incident, name) for name in INCIDENT_COLUMNS))
        .where(*incident_conditions(criteria, calendar))
        .order_by(col(Incident.detected_at).desc(), col(Incident.id).desc())
    )
    return Export(ExportKind.incidents, INCIDENT_COLUMNS, statement)


def alerts_export(criteria: AlertFilter) -> Export:
    # The source's name beside its alerts; an outer join keeps alerts of a removed source.
    columns = [getattr(Alert, name) for name in ALERT_COLUMNS]
    columns.insert(1, col(Source.name).label("source"))
    statement = (
        select(*columns)
        .select_from(Alert)
        .outerjoin(Source, col(Source.id) == col(Alert.source_id))
        .where(*alert_conditions(criteria))
        .order_by(col(Alert.received_at).desc(), col(Alert.id).desc())
    )
    header = (ALERT_COLUMNS[0], "source", *ALERT_COLUMNS[1:])
    return Export(ExportKind.alerts, header, statement)


def action_items_export(*, owner: str | None = None, overdue_on: date | None = None) -> Export:
    statement = (
        select(*(getattr(ActionItem, name) for name in ACTION_ITEM_COLUMNS))
        .where(*action_item_conditions(owner=owner, overdue_on=overdue_on))
        .order_by(col(ActionItem.due_date), col(ActionItem.id))
    )
    return Export(ExportKind.action_items, ACTION_ITEM_COLUMNS, statement)


def rows(session: Session, export: Export, calendar: Calendar) -> Iterator[list[Any]]:
    """The export's rows, `CHUNK_ROWS` fetched at a time, as cells: times as naive wall-clock
    times of the team's zone (Excel has no zones), enums as their values."""
    result = session.execute(export.statement.execution_options(yield_per=CHUNK_ROWS))
    for row in result:
        yield [_cell(value, calendar) for value in row]


def _cell(value: Any, calendar: Calendar) -> Any:
    if isinstance(value, datetime):
        return calendar.local(value).replace(tzinfo=None)
    if isinstance(value, Enum):
        return value.value
    return value


def _csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime(TIME_FORMAT)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _defused(value)
    return str(value)


def _defused(text: str) -> str:
    """Text Excel would evaluate as a formula, kept as text by a leading apostrophe (OWASP)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_chunks(header: Iterable[str], cells: Iterable[list[Any]]) -> Iterator[bytes]:
    """UTF-8 with a BOM (without it Excel reads the bytes as GBK and garbles Chinese), CRLF
    lines, handed on about `CSV_CHUNK_BYTES` at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(list(header))
    yield ("\ufeff" + buffer.getvalue()).encode()
    buffer.seek(0)
    buffer.truncate()
    for row in cells:
        writer.writerow([_csv_text(value) for value in row])
        if buffer.tell() >= CSV_CHUNK_BYTES:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


def write_csv(header: Iterable[str], cells: Iterable[list[Any]], out: IO[bytes]) -> None:
    for chunk in csv_chunks(header, cells):
        out.write(chunk)


def write_xlsx(
    export: Export, cells: Iterable[list[Any]], path: Path, *, sheet_rows: int = SHEET_ROWS
) -> None:
    """XlsxWriter in `constant_memory` mode: each row goes to the sheet's temporary file as it
    is written and strings are stored inline (no shared-string table), so memory holds one row;
    the zip is then assembled from those files. A sheet holds `sheet_rows` rows, header included."""
    book = xlsxwriter.Workbook(
        str(path),
        {
            "constant_memory": True,
            "tmpdir": tempfile.gettempdir(),
            # Text stays text: no formulas from alert titles, no 65,530-hyperlink limit.
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    time_format = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    date_format = book.add_format({"num_format": "yyyy-mm-dd"})
    bold = book.add_format({"bold": True})

    def new_sheet(number: int) -> Any:
        name = export.kind.value if number == 1 else f"{export.kind.value} ({number})"
        sheet = book.add_worksheet(name)
        sheet.write_row(0, 0, export.header, bold)
        sheet.freeze_panes(1, 0)
        return sheet

    sheets = 1
    sheet = new_sheet(sheets)
    line = 1
    for row in cells:
        if line >= sheet_rows:
            sheets += 1
            sheet = new_sheet(sheets)
            line = 1
        for column, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, bool):
                sheet.write_boolean(line, column, value)
            elif isinstance(value, datetime):
                sheet.write_datetime(line, column, value, time_format)
            elif isinstance(value, date):
                sheet.write_datetime(line, column, value, date_format)
            elif isinstance(value, int | float | Decimal):
                sheet.write_number(line, column, value)
            else:
                sheet.write_string(line, column, str(value))
        line += 1
    book.close()
