"""Cells for spreadsheets: CSV that Excel opens with its Chinese intact, and never a formula.

One helper for every export (training, briefings, the vault's access log, offboarding, the
privacy evidence pack, the dashboard's exports): a cell a person typed that starts with
= + - @ tab or CR would run as a formula in Excel or LibreOffice (CSV injection), so it gets a
leading quote; the file starts with a byte-order mark, without which Excel reads UTF-8 as Big5.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

#: Excel reads a CSV as UTF-8 only when it starts with this.
BOM = "\ufeff"
#: First characters that make a spreadsheet evaluate a cell.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> str:
    """The text of a cell that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_line(cells: Iterable) -> str:
    """One CSV line (CRLF, as spreadsheets write it) of formula-safe cells."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow([csv_cell(c) for c in cells])
    return out.getvalue()


def csv_stream(header: Iterable, rows: Iterable[Iterable]) -> Iterator[str]:
    """A CSV file piece by piece: the byte-order mark with the header, then a line per row,
    so a year of rows streams without being held in memory."""
    yield BOM + csv_line(header)
    for row in rows:
        yield csv_line(row)
