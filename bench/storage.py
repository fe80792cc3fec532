"""Pre-filled state databases and how many bytes a session takes in SQLite.

Sessions are written with the bot's own :class:`storage.sqlite.SqliteStore`, the way the bot
writes them: about half mid-dialog (at a random question, with the answers before it) and half
finished (with every answer, some after a restart, some with a tracked source), each with the
"started" event and, when finished, the "finished" event the bot records for its statistics.

With an ``events`` target, the history of earlier users (whose sessions are gone) is added in
bulk with plain SQL until the table holds that many events: dialogs started, most finished,
some shared and some ending in a lead (with its row in ``leads``), from about twenty tracked
links and direct visits, spread over the last 60 days; those links are registered as ``/link``
would.
"""

from __future__ import annotations

import itertools
import json
import random
import sqlite3
import time
from collections import Counter
from pathlib import Path
from typing import Any

from advisor import Knowledge, recommend
from advisor.session import RESULT, Session, question_state
from storage.base import FINISHED, LEAD, SHARED, STARTED, Stored
from storage.sqlite import SqliteStore

FIRST_USER_ID = 800_000_001
SOURCES = (None, None, None, "ads_spring", "newsletter", "partner_blog")
#: Earlier users, known only from their events (and leads).
FIRST_PAST_USER_ID = 900_000_001
DAY = 86400
#: How far back the bulk history reaches (the statistics look at 7 and 30 days).
HISTORY_DAYS = 60
#: Tracked links of the history, busiest first (weights fall off like 1/rank); plus direct.
HISTORY_LINKS = tuple(
    f"{kind}_{n}"
    for n, kind in enumerate(
        ("ads", "newsletter", "partner", "meetup", "podcast", "slides", "blog") * 3, start=1
    )
)
DIRECT_SHARE = 0.45
#: Of the earlier users' dialogs: how many finished; of those, how many shared, how many leads.
P_FINISHED, P_SHARED, P_LEAD = 0.55, 0.2, 0.06
ROWS_PER_BATCH = 50_000


def user_ids(count: int) -> list[int]:
    """The ids (= private chat ids) of pre-filled users."""
    return [FIRST_USER_ID + i for i in range(count)]


async def prefill(
    path: Path,
    knowledge: Knowledge,
    count: int,
    seed: int = 7,
    *,
    events: int | None = None,
    spread_days: float = 0.0,
) -> dict[str, int]:
    """Write ``count`` realistic sessions (and their events) into a fresh database.

    ``spread_days``: the sessions (and their events) were saved at random moments over that
    many days before now, instead of all now. ``events``: add the history of earlier users
    until the events table holds that many rows (see :func:`add_history`).
    """
    rng = random.Random(seed)
    when = random.Random(seed + 1)  # apart, so that the sessions do not depend on the spread
    now = time.time()
    clock = [now]
    store = await SqliteStore(path, knowledge, clock=lambda: clock[0]).open()
    finished = 0
    written = 0
    live: list[tuple[int, int, int]] = []
    outcomes: list[tuple[str, dict[str, str]]] = []
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
                if spread_days > 0:
                    clock[0] = now - when.uniform(0, spread_days * DAY)
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
                written += 1
                if session.state == RESULT:
                    choice = recommend(knowledge, answers).choice
                    await uow.events.add(user_id, FINISHED, source=source, detail=choice)
                    written += 1
                    if len(outcomes) < 1000:
                        outcomes.append((choice, answers))
                # The message with the live buttons (the question, or the last result message).
                live.append((user_id, user_id, rng.randrange(2, 60)))
        async with store.unit(0) as uow:
            uow.write("INSERT INTO live (chat_id, user_id, message_id) VALUES (?, ?, ?)", *live)
    finally:
        await store.close()
    filled = {"sessions": count, "finished": finished, "mid_dialog": count - finished}
    if events is not None and events > written:
        history = add_history(path, events - written, outcomes, now, random.Random(seed + 2))
        filled.update(history)
    filled["events"] = max(written, events or 0)
    return filled


def add_history(
    path: Path,
    count: int,
    outcomes: list[tuple[str, dict[str, str]]],
    now: float,
    rng: random.Random,
) -> dict[str, int]:
    """Append ``count`` events of earlier users (and their leads) with plain SQL, in batches.

    Each earlier user started a dialog from a tracked link or directly; most finished (with a
    recommendation drawn from ``outcomes``, the pre-filled sessions' own), some of those shared
    it and some asked for an expert (a "lead" event and a row in ``leads``).
    """
    outcomes = outcomes or [("django", {}), ("node", {})]
    weights = [1 / rank for rank in range(1, len(HISTORY_LINKS) + 1)]
    scale = (1 - DIRECT_SHARE) / sum(weights)
    sources: list[str | None] = [None, *HISTORY_LINKS]
    source_weights = [DIRECT_SHARE, *(w * scale for w in weights)]
    users = itertools.count(FIRST_PAST_USER_ID)
    kinds: Counter[str] = Counter()
    leads = 0
    db = sqlite3.connect(str(path), isolation_level=None)
    try:
        db.execute("PRAGMA synchronous=OFF")
        db.execute("BEGIN IMMEDIATE")
        db.executemany(
            "INSERT OR IGNORE INTO links (name, created_at) VALUES (?, ?)",
            [(name, int(now - HISTORY_DAYS * DAY)) for name in HISTORY_LINKS],
        )
        left = count
        while left > 0:
            rows: list[tuple[int, int, str | None, str, str | None]] = []
            lead_rows: list[tuple[object, ...]] = []
            while len(rows) < min(left, ROWS_PER_BATCH):
                user_id = next(users)
                source = rng.choices(sources, source_weights)[0]
                at = int(now - rng.uniform(0, HISTORY_DAYS * DAY))
                rows.append((at, user_id, source, STARTED, None))
                if rng.random() >= P_FINISHED:
                    continue
                choice, answers = rng.choice(outcomes)
                at += rng.randint(30, 900)
                rows.append((at, user_id, source, FINISHED, choice))
                if rng.random() < P_SHARED:
                    rows.append(
                        (at + rng.randint(5, 600), user_id, source, SHARED, f"s{user_id:x}")
                    )
                if rng.random() < P_LEAD:
                    at += rng.randint(20, 300)
                    rows.append((at, user_id, source, LEAD, choice))
                    name, contact = f"Lead{user_id % 100_000}", f"+1555{user_id % 10**7:07d}"
                    answers_json = json.dumps(answers, separators=(",", ":"))
                    key = f"{rng.getrandbits(128):032x}"  # each lead's unique key
                    lead_rows.append(
                        (at, user_id, user_id, name, contact, source, choice, answers_json, key)
                    )
            rows = rows[:left]
            kept = {(r[0], r[1]) for r in rows if r[3] == LEAD}
            lead_rows = [r for r in lead_rows if (r[0], r[1]) in kept]
            db.executemany(
                "INSERT INTO events (at, user_id, source, kind, detail) VALUES (?, ?, ?, ?, ?)",
                rows,
            )
            db.executemany(
                "INSERT INTO leads (at, chat_id, user_id, name, contact, source, "
                "recommendation, answers, key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                lead_rows,
            )
            kinds.update(r[3] for r in rows)
            leads += len(lead_rows)
            left -= len(rows)
        # The bot keeps daily totals beside the events as it records them; bulk SQL must too.
        db.execute("DELETE FROM event_days")
        db.execute(
            "INSERT INTO event_days (day, source, kind, detail, count) "
            "SELECT at / 86400, coalesce(source, ''), kind, "
            "CASE WHEN kind = 'finished' THEN coalesce(detail, '') ELSE '' END, count(*) "
            "FROM events GROUP BY 1, 2, 3, 4"
        )
        db.execute("COMMIT")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()
    return {
        "history_events": count,
        "history_users": next(users) - FIRST_PAST_USER_ID,
        "history_leads": leads,
        **{f"history_{kind}": n for kind, n in sorted(kinds.items())},
    }


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
