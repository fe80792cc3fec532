"""Pre-filled state databases and how many bytes a session takes in SQLite.

Sessions are written with the bot's own :class:`storage.sqlite.SqliteStore`, the way the bot
writes them: about half mid-dialog (at a random question, with the answers before it) and half
finished (with every answer, some after a restart, some with a tracked source), each with the
"started" event and, when finished, the "finished" event the bot records for its statistics.
"""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path
from typing import Any

from advisor import Knowledge, recommend
from dialogs.session import RESULT, Session, question_state
from storage.base import FINISHED, STARTED, Stored
from storage.sqlite import SqliteStore

FIRST_USER_ID = 800_000_001
SOURCES = (None, None, None, "ads_spring", "newsletter", "partner_blog")


def user_ids(count: int) -> list[int]:
    """The ids (= private chat ids) of pre-filled users."""
    return [FIRST_USER_ID + i for i in range(count)]


async def prefill(path: Path, knowledge: Knowledge, count: int, seed: int = 7) -> dict[str, int]:
    """Write ``count`` realistic sessions (and their events) into a fresh database."""
    rng = random.Random(seed)
    store = await SqliteStore(path, knowledge).open()
    finished = 0
    live: list[tuple[int, int, int]] = []
    try:
        async with store.unit(0) as uow:
            for user_id in user_ids(count):
                answers: dict[str, str] = {}
                asked = []
                for question in knowledge.questions:
                    if question.applies(answers):
                        answers[question.id] = rng.choice(question.options).id
                        asked.append(question)
                source = rng.choice(SOURCES)
                round_ = rng.choice((0, 0, 0, 1, 2))
                if rng.random() < 0.5:
                    session = Session(RESULT, answers, round_, source)
                    finished += 1
                else:
                    at = rng.randrange(len(asked))
                    partial = {q.id: answers[q.id] for q in asked[:at]}
                    session = Session(question_state(asked[at].id), partial, round_, source)
                # last_update 0: the fake numbers its updates from 1, which the bot must not
                # mistake for redeliveries of updates it has already handled.
                stored = Stored(session, f"User{user_id % 100_000}", 0)
                await uow.sessions.put(user_id, user_id, stored)
                await uow.events.add(user_id, STARTED, source=source)
                if session.state == RESULT:
                    choice = recommend(knowledge, answers).choice
                    await uow.events.add(user_id, FINISHED, source=source, detail=choice)
                # The message with the live buttons (the question, or the last result message).
                live.append((user_id, user_id, rng.randrange(2, 60)))
        async with store.unit(0) as uow:
            uow.write("INSERT INTO live (chat_id, user_id, message_id) VALUES (?, ?, ?)", *live)
    finally:
        await store.close()
    return {"sessions": count, "finished": finished, "mid_dialog": count - finished}


def measure(path: Path) -> dict[str, Any]:
    """Bytes per stored session, after a checkpoint has moved the WAL into the database."""
    db = sqlite3.connect(str(path))
    try:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        sessions = int(db.execute("SELECT count(*) FROM sessions").fetchone()[0])
        events = int(db.execute("SELECT count(*) FROM events").fetchone()[0])
        data_bytes = db.execute("SELECT coalesce(sum(length(data)), 0) FROM sessions").fetchone()
        page_size = int(db.execute("PRAGMA page_size").fetchone()[0])
        by_table: dict[str, int] = {}
        try:
            for name, size in db.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"):
                by_table[str(name)] = int(size)
        except sqlite3.OperationalError:  # SQLite built without the dbstat table
            pass
    finally:
        db.close()
    files = {p.name: p.stat().st_size for p in _db_files(path)}
    total = sum(files.values())
    session_pages = by_table.get("sessions", 0) + by_table.get("sessions_updated", 0)
    per = (lambda n: round(n / sessions, 1)) if sessions else (lambda n: None)
    return {
        "sessions": sessions,
        "events": events,
        "files": files,
        "file_bytes": total,
        "bytes_per_session": per(total),
        "sessions_table_bytes_per_session": per(session_pages) if by_table else None,
        "json_bytes_per_session": per(int(data_bytes[0])),
        "pages_by_table": by_table,
        "page_size": page_size,
    }


def _db_files(path: Path) -> list[Path]:
    candidates = [path, path.with_name(path.name + "-wal")]
    return [p for p in candidates if p.exists()]
