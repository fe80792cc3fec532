"""The export's CSV: a file Excel and LibreOffice open as they are, and cells a spreadsheet never
runs as a formula.

Spreadsheets open a ``.csv`` with the list separator of the computer's locale: a comma where the
decimal mark is a point (English), a semicolon where it is a comma (Spanish, Portuguese,
Russian). The file is written for the admin who asked, in their language, so it takes that
language's separator. It starts with a byte-order mark (Excel then reads UTF-8, not the local
code page) and ends its rows with CR LF; fields holding the separator, a quote or a line break
are quoted.
"""

from __future__ import annotations

import csv
import pickle
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from babel.numbers import get_decimal_symbol

if TYPE_CHECKING:
    from _csv import Writer

    from advisor import Knowledge

#: UTF-8 with a byte-order mark: Excel reads the file as UTF-8 only with it.
ENCODING = "utf-8-sig"
#: The columns before the answers, in order: each header is ``admin.export_column.<key>`` in
#: the admin's language; then one column per question, headed by its short name.
COLUMNS = (
    "name",
    "status",
    "recommendation",
    "confidence",
    "lead",
    "contact",
    "channel",
    "lead_at",
    "language",
    "link",
    "started",
    "updated",
    "admin",
    "user_id",
    "chat_id",
)
#: Where the export's child process (``python -m storage.export``) runs from.
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def separator(language: str) -> str:
    """The list separator a spreadsheet in this language expects: ";" where the decimal mark is
    a comma (es, pt, ru), else ","."""
    try:
        decimal = get_decimal_symbol(language)
    except (ValueError, LookupError):  # babel raises UnknownLocaleError, a ValueError
        decimal = "."
    return ";" if decimal == "," else ","


def cell(value: object) -> object:
    """Keep spreadsheets from running user-typed text (a name like "=HYPERLINK(…)") as a formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def cells(row: Iterable[object]) -> list[object]:
    """One row's values, formulas neutralised."""
    return [cell(value) for value in row]


def csv_writer(file: TextIO, header: Sequence[str], delimiter: str = ",") -> Writer:
    """A CSV writer on ``file`` (opened with :data:`ENCODING` and ``newline=""``) that has
    written the header: rows end in CR LF, and fields are quoted where they need it."""
    writer = csv.writer(file, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(cells(header))
    return writer


def child_arguments(language: str, admins: Collection[int]) -> list[str]:
    """The options the bot runs ``python -m storage.export`` with: the admin's language, the
    admins' ids, and its knowledge on standard input (:func:`knowledge_input`)."""
    ids = ",".join(str(admin) for admin in sorted(admins))
    return ["--language", language, "--admins", ids, "--knowledge-stdin"]


def knowledge_input(knowledge: Knowledge) -> bytes:
    """What the bot writes to the export's standard input: its knowledge, pickled, so the
    child scores and words every session with the very data the bot runs on."""
    return pickle.dumps(knowledge, protocol=pickle.HIGHEST_PROTOCOL)
