"""The export's CSV: its columns, and cells a spreadsheet never runs as a formula."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from _csv import Writer

#: The CSV's header: stable English identifiers, whatever language the bot speaks.
EXPORT_COLUMNS = (
    "type",
    "at",
    "chat_id",
    "user_id",
    "name",
    "source",
    "state",
    "recommendation",
    "answers",
    "contact",
    "channel",
    "language",
)
#: Where the export's child process (``python -m storage.export``) runs from.
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def cell(value: object) -> object:
    """Keep spreadsheets from running user-typed text (a name like "=HYPERLINK(…)") as a formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def cells(row: Iterable[object]) -> list[object]:
    """One row's values, formulas neutralised."""
    return [cell(value) for value in row]


def csv_writer(file: TextIO) -> Writer:
    """A CSV writer on ``file`` that has written the header."""
    writer = csv.writer(file)
    writer.writerow(EXPORT_COLUMNS)
    return writer
