"""The export writers without HTTP: CSV round trip, XLSX sheets split at the row limit."""

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
from sqlalchemy import select

from incidents.exports import Export, ExportKind, csv_chunks, write_xlsx
from incidents.models import Incident

ROWS = [
    [1, "银联代付接口超时", datetime(2023, 9, 7, 14, 42), True, Decimal("6000000.50")],
    [2, "+86 号段短信失败", None, False, None],
]
HEADER = ("id", "title", "detected_at", "core_system", "loss_cny")


def test_csv_round_trips_chinese_text_through_the_csv_module() -> None:
    body = b"".join(csv_chunks(HEADER, ROWS))
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    assert rows == [
        list(HEADER),
        ["1", "银联代付接口超时", "2023-09-07 14:42:00", "true", "6000000.50"],
        ["2", "'+86 号段短信失败", "", "false", ""],
    ]


def test_xlsx_goes_on_in_a_new_sheet_at_the_row_limit(tmp_path: Path) -> None:
    export = Export(ExportKind.incidents, HEADER, select(Incident.id))
    path = tmp_path / "out.xlsx"
    many = [[n, f"第{n}行", datetime(2023, 9, 7), False, None] for n in range(5)]
    write_xlsx(export, [*many, [5, "最后", date(2023, 9, 9), True, Decimal(1)]], path, sheet_rows=3)
    book = openpyxl.load_workbook(path, read_only=True)
    assert book.sheetnames == ["incidents", "incidents (2)", "incidents (3)"]
    sheets = [list(sheet.iter_rows(values_only=True)) for sheet in book.worksheets]
    assert all(sheet[0] == HEADER for sheet in sheets)
    assert [row[1] for sheet in sheets for row in sheet[1:]] == [f"第{n}行" for n in range(5)] + [
        "最后"
    ]
