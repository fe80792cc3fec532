"""The CSV export of every session and lead, streamed from the database by a separate process.

At 100,000 sessions the export is tens of megabytes of text. Built inside the bot, that Python
work would hold the interpreter's lock and delay everyone's replies, so the bot runs
``python -m storage.export STATE_DB OUT`` as a low-priority child process that reads through its
own read-only connection (WAL lets it read beside the bot) and streams rows straight into the
file: SQLite formats the times and picks the answers out of the stored session. With
PostgreSQL (``--postgres``) the child streams the rows through a server-side cursor instead
(``storage.postgres.export_to``).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from . import csvfile

_ISO = "strftime('%Y-%m-%dT%H:%M:%S+00:00', {}, 'unixepoch')"
SESSIONS_SQL = (
    f"SELECT 'session', {_ISO.format('updated_at')}, chat_id, user_id, coalesce(first_name, ''), "
    "coalesce(source, ''), state, '', coalesce(json_extract(data, '$.a'), '{}'), '', '', "
    "coalesce(json_extract(data, '$.l'), '') "
    "FROM sessions ORDER BY updated_at"
)
LEADS_SQL = (
    f"SELECT 'lead', {_ISO.format('at')}, chat_id, user_id, name, coalesce(source, ''), '', "
    "recommendation, answers, contact, channel, language FROM leads ORDER BY at"
)
#: Lower priority for the export process, so the bot itself is never short of CPU.
NICENESS = 10


def write_rows(out: Path, rows: Iterable[Sequence[object]]) -> int:
    """Write the header and the rows (formulas neutralised) as CSV; return how many rows."""
    count = 0
    with out.open("w", encoding="utf-8", newline="") as file:
        writer = csvfile.csv_writer(file)
        for row in rows:
            writer.writerow(csvfile.cells(row))
            count += 1
    return count


def export_from(db: sqlite3.Connection, out: Path) -> int:
    """Stream every session and lead read through ``db`` into ``out``; return how many rows."""

    def rows() -> Iterable[Sequence[object]]:
        yield from db.execute(SESSIONS_SQL)
        yield from db.execute(LEADS_SQL)

    return write_rows(out, rows())


def export(state_db: Path, out: Path) -> int:
    """Export from the database file at ``state_db`` (read-only, one snapshot)."""
    db = sqlite3.connect(f"file:{state_db}?mode=ro", uri=True, isolation_level=None)
    try:
        db.execute("BEGIN")  # one snapshot for both tables
        return export_from(db, out)
    finally:
        db.close()


def main(argv: Sequence[str]) -> int:
    """``python -m storage.export STATE_DB OUT``, or ``python -m storage.export --postgres OUT``
    with DATABASE_URL (and DATABASE_SCHEMA) in the environment: exit 0 when written."""
    if len(argv) != 2:
        print("usage: python -m storage.export (STATE_DB | --postgres) OUT", file=sys.stderr)
        return 2
    os.nice(NICENESS)
    if argv[0] == "--postgres":
        from .postgres import export_from_environment  # asyncpg only when it is used

        asyncio.run(export_from_environment(Path(argv[1])))
        return 0
    export(Path(argv[0]), Path(argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
