"""Durable sessions in SQLite (WAL mode), one row per user and chat.

Each write commits before the bot replies, so a user never sees a step the store could lose:
WAL with ``synchronous=NORMAL`` survives the process being killed at any moment (only a power
loss can drop the newest transactions, which is the trade-off SQLite documents for WAL).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from advisor import Knowledge
from dialogs.session import Session

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    chat_id     INTEGER NOT NULL,
    user_id     INTEGER NOT NULL,
    data        TEXT    NOT NULL,
    message_id  INTEGER,
    first_name  TEXT,
    last_update INTEGER NOT NULL DEFAULT 0,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (chat_id, user_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sessions_updated ON sessions (updated_at);
CREATE TABLE IF NOT EXISTS events (
    at      INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    source  TEXT,
    kind    TEXT    NOT NULL,
    detail  TEXT
);
CREATE INDEX IF NOT EXISTS events_at ON events (at);
CREATE INDEX IF NOT EXISTS events_user ON events (user_id);
CREATE TABLE IF NOT EXISTS leads (
    at             INTEGER NOT NULL,
    chat_id        INTEGER NOT NULL,
    user_id        INTEGER NOT NULL,
    name           TEXT    NOT NULL,
    contact        TEXT    NOT NULL,
    source         TEXT,
    recommendation TEXT    NOT NULL,
    answers        TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS leads_user ON leads (user_id);
"""

#: Event kinds recorded for the statistics.
STARTED, FINISHED, SHARED, LEAD = "started", "finished", "shared", "lead"


@dataclass(slots=True)
class Record:
    """A stored session with what the Telegram front end needs around it."""

    session: Session
    message_id: int | None = None
    first_name: str | None = None
    last_update: int = 0
    #: When the record was last saved (Unix time; 0 for a new one).
    updated_at: int = 0
    #: True when stored data could not be restored and the session started over.
    restored_fresh: bool = False


class SessionStore:
    """Loads and saves sessions; one connection, used from the event loop's thread."""

    def __init__(
        self, path: Path | str, knowledge: Knowledge, clock: Callable[[], float] = time.time
    ) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.knowledge = knowledge
        self.clock = clock
        self.db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA busy_timeout=5000")
        self.db.execute("PRAGMA secure_delete=ON")  # what /forget deletes is overwritten
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def load(self, chat_id: int, user_id: int) -> Record | None:
        """The stored record, or None for a new user. Corrupt data gives a fresh session."""
        row = self.db.execute(
            "SELECT data, message_id, first_name, last_update, updated_at FROM sessions "
            "WHERE chat_id = ? AND user_id = ?",
            (chat_id, user_id),
        ).fetchone()
        if row is None:
            return None
        data, message_id, first_name, last_update, updated_at = row
        try:
            session = Session.from_dict(json.loads(data), self.knowledge)
        except ValueError:
            session = None
        if session is None:
            return Record(Session(), None, first_name, last_update, updated_at, restored_fresh=True)
        return Record(session, message_id, first_name, last_update, updated_at)

    def save(self, chat_id: int, user_id: int, record: Record) -> None:
        """Write the record now (committed before the caller replies)."""
        data = json.dumps(record.session.to_dict(), separators=(",", ":"))
        self.db.execute(
            "INSERT INTO sessions "
            "(chat_id, user_id, data, message_id, first_name, last_update, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (chat_id, user_id) DO UPDATE SET data = excluded.data, "
            "message_id = excluded.message_id, first_name = excluded.first_name, "
            "last_update = excluded.last_update, updated_at = excluded.updated_at",
            (
                chat_id,
                user_id,
                data,
                record.message_id,
                record.first_name,
                record.last_update,
                int(self.clock()),
            ),
        )

    def purge_idle(self, ttl_days: int) -> int:
        """Delete sessions idle for longer than ``ttl_days``; return how many."""
        cutoff = int(self.clock() - ttl_days * 86400)
        cursor = self.db.execute("DELETE FROM sessions WHERE updated_at < ?", (cutoff,))
        return cursor.rowcount

    def count(self) -> int:
        """How many sessions are stored."""
        return int(self.db.execute("SELECT count(*) FROM sessions").fetchone()[0])

    # -- events, leads and privacy ------------------------------------------------------------

    def record_event(
        self, user_id: int, kind: str, *, source: str | None = None, detail: str | None = None
    ) -> None:
        """Append one event for the statistics (a single small insert)."""
        self.db.execute(
            "INSERT INTO events (at, user_id, source, kind, detail) VALUES (?, ?, ?, ?, ?)",
            (int(self.clock()), user_id, source, kind, detail),
        )

    def finished_since_start(self, user_id: int) -> bool:
        """Whether the user's latest dialog already counted as finished."""
        row = self.db.execute(
            "SELECT kind FROM events WHERE user_id = ? AND kind IN (?, ?) "
            "ORDER BY rowid DESC LIMIT 1",
            (user_id, STARTED, FINISHED),
        ).fetchone()
        return row is not None and row[0] == FINISHED

    def has_event(self, user_id: int, kind: str, detail: str) -> bool:
        """Whether this user already has an event of this kind and detail."""
        row = self.db.execute(
            "SELECT 1 FROM events WHERE user_id = ? AND kind = ? AND detail = ? LIMIT 1",
            (user_id, kind, detail),
        ).fetchone()
        return row is not None

    def add_lead(self, lead: Lead) -> None:
        """Store a lead handed to the sales team."""
        self.db.execute(
            "INSERT INTO leads (at, chat_id, user_id, name, contact, source, recommendation, "
            "answers) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                int(self.clock()),
                lead.chat_id,
                lead.user_id,
                lead.name,
                lead.contact,
                lead.source,
                lead.recommendation,
                json.dumps(lead.answers, separators=(",", ":")),
            ),
        )

    def forget_user(self, user_id: int) -> int:
        """Delete every row about this user in every table; return how many."""
        removed = 0
        self.db.execute("BEGIN")
        try:
            for table in ("sessions", "events", "leads"):
                removed += self.db.execute(
                    f"DELETE FROM {table} WHERE user_id = ?", (user_id,)
                ).rowcount
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return removed

    def rows_about(self, user_id: int) -> int:
        """How many rows in all tables mention this user (for checks)."""
        return sum(
            int(
                self.db.execute(
                    f"SELECT count(*) FROM {t} WHERE user_id = ?", (user_id,)
                ).fetchone()[0]
            )
            for t in ("sessions", "events", "leads")
        )

    def events_since(self, since: int) -> list[tuple[int, str | None, str, str | None]]:
        """(user, source, kind, detail) of the events at or after ``since``."""
        return list(
            self.db.execute(
                "SELECT user_id, source, kind, detail FROM events WHERE at >= ?", (since,)
            )
        )

    def unfinished_since(self, since: int) -> list[tuple[str | None, str]]:
        """(source, question state) of sessions updated since ``since`` and still at a question."""
        rows = self.db.execute(
            "SELECT data FROM sessions WHERE updated_at >= ?", (since,)
        ).fetchall()
        found = []
        for (data,) in rows:
            try:
                session = Session.from_dict(json.loads(data), self.knowledge)
            except ValueError:
                continue
            if session is not None and session.question_id is not None:
                found.append((session.source, session.question_id))
        return found

    def export_rows(self) -> list[dict[str, object]]:
        """Every session and lead as flat rows for a CSV export."""
        rows: list[dict[str, object]] = []
        for chat_id, user_id, data, first_name, updated_at in self.db.execute(
            "SELECT chat_id, user_id, data, first_name, updated_at FROM sessions "
            "ORDER BY updated_at"
        ):
            try:
                stored = json.loads(data)
            except ValueError:
                stored = {}
            rows.append(
                {
                    "type": "session",
                    "at": updated_at,
                    "chat_id": chat_id,
                    "user_id": user_id,
                    "name": first_name or "",
                    "source": stored.get("src", ""),
                    "state": stored.get("s", ""),
                    "recommendation": "",
                    "answers": json.dumps(stored.get("a", {}), separators=(",", ":")),
                    "contact": "",
                }
            )
        for at, chat_id, user_id, name, contact, source, recommendation, answers in self.db.execute(
            "SELECT at, chat_id, user_id, name, contact, source, recommendation, answers "
            "FROM leads ORDER BY at"
        ):
            rows.append(
                {
                    "type": "lead",
                    "at": at,
                    "chat_id": chat_id,
                    "user_id": user_id,
                    "name": name,
                    "source": source or "",
                    "state": "",
                    "recommendation": recommendation,
                    "answers": answers,
                    "contact": contact,
                }
            )
        return rows


@dataclass(frozen=True, slots=True)
class Lead:
    """A prospect who asked to talk to an expert, with their consent."""

    chat_id: int
    user_id: int
    name: str
    contact: str
    source: str | None
    recommendation: str
    answers: dict[str, str]
