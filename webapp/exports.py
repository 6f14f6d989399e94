"""Tables as downloads: CSV (UTF-8 with a BOM, so spreadsheet programs read Chinese text) and .xlsx.

A cell is written as the text it holds: in .xlsx a value starting with ``=`` stays a string, never a formula;
in CSV such a value (and one starting with ``+``, ``-``, ``@``, a tab or a carriage return) is prefixed with an
apostrophe, so that a spreadsheet opening the file does not run it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

from flask import Response, stream_with_context

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return "" if value is None else value


def csv_response(header: Sequence[str], rows: Iterable[Sequence[Any]], filename: str) -> Response:
    def generate() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        buffer.write("\ufeff")
        writer.writerow(header)
        for row in rows:
            writer.writerow([_csv_cell(v) for v in row])
            if buffer.tell() > 65536:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return Response(
        stream_with_context(generate()),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename={filename}"},
    )


def xlsx_response(header: Sequence[str], rows: Iterable[Sequence[Any]], filename: str, sheet: str) -> Response:
    """One sheet written in openpyxl's write-only mode (rows are not all held as cells)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    worksheet = workbook.create_sheet(sheet)
    worksheet.append(list(header))
    for row in rows:
        cells = []
        for value in row:
            cell = WriteOnlyCell(worksheet, value=_xlsx_value(value))
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text, never a formula
            cells.append(cell)
        worksheet.append(cells)
    output = io.BytesIO()
    workbook.save(output)
    return Response(
        output.getvalue(),
        mimetype=XLSX_MIMETYPE,
        headers={"Content-Disposition": f"attachment; filename={filename}"},
    )


def _xlsx_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value) if value == value.quantize(Decimal("0.01")) else str(value)
    if isinstance(value, dt.date | int | float | str) or value is None:
        return value
    return str(value)


def kept_file_response(content: bytes, content_type: str) -> Response:
    """A file the app checked when it arrived (a ticket's photo, an application's paper), served with the content
    type it was kept under and never sniffed as anything else."""
    response = Response(content, mimetype=content_type)
    response.headers["Cache-Control"] = "private, max-age=3600"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
