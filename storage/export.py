"""The /export file: one row per session, streamed from the database by a separate process.

At 100,000 sessions the export is tens of megabytes of text. Built inside the bot, that Python
work would hold the interpreter's lock and delay everyone's replies, so the bot runs
``python -m storage.export STATE_DB OUT`` as a low-priority child process that reads through its
own read-only connection (WAL lets it read beside the bot) and streams rows straight into the
file. With PostgreSQL (``--postgres``) the child streams the rows through a server-side cursor
instead (:func:`export_postgres`). Both write the same columns through :class:`Sheet`.

The bot hands the child its knowledge (pickled, on standard input), so each finished session's
recommendation and confidence are worked out with the very data and scoring the person was
shown, and every header and answer is written in the words of the admin who asked (their
language, and their spreadsheet's separator: see :mod:`storage.csvfile`).

A lead belongs to the session it came from: it fills that session's lead columns when the
session still holds the answers the lead was made with. A lead whose session is gone (purged,
or started over since) gets a row of its own, built from the answers stored with the lead.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pickle
import sqlite3
import sys
import time
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple

from advisor.model import Knowledge
from advisor.scoring import choose, confidence_of, totals
from advisor.session import AFTER_RESULT, QUESTION_PREFIX, WELCOME

from . import csvfile

#: When the person last started over, up to a moment (the events keep every /start).
_STARTED = (
    "(SELECT max(e.at) FROM events e WHERE e.user_id = {0}.user_id AND e.kind = 'started' "
    "AND e.at <= {0}.{1})"
)
#: The same SQL for SQLite and PostgreSQL: the raw values, turned into words by :class:`Sheet`.
SESSIONS_SQL = (
    f"SELECT s.updated_at, {_STARTED.format('s', 'updated_at')}, s.chat_id, s.user_id, "
    "s.first_name, s.source, s.state, s.data FROM sessions s "
    "ORDER BY s.updated_at, s.chat_id, s.user_id"
)
LEADS_SQL = (
    f"SELECT l.at, {_STARTED.format('l', 'at')}, l.chat_id, l.user_id, l.name, l.source, "
    "l.recommendation, l.answers, l.contact, l.channel, l.language FROM leads l "
    "ORDER BY l.at, l.id"
)
#: Lower priority for the export process, so the bot itself is never short of CPU.
NICENESS = 10
#: How times are written: a spreadsheet reads it as a date and time (the header says UTC).
TIME_FORMAT = "%Y-%m-%d %H:%M"


class StoredSession(NamedTuple):
    """A session as SESSIONS_SQL reads it."""

    updated_at: int
    started: int | None
    chat_id: int
    user_id: int
    name: str | None
    source: str | None
    state: str
    data: str


class StoredLead(NamedTuple):
    """A lead as LEADS_SQL reads it."""

    at: int
    started: int | None
    chat_id: int
    user_id: int
    name: str
    source: str | None
    recommendation: str
    answers: str
    contact: str
    channel: str
    language: str


#: A session's answers as the option ids of the questions in order (None: not answered).
Picked = tuple[str | None, ...]


class Sheet:
    """Stored sessions and leads as the spreadsheet's rows, in one admin's language.

    Every cell that can hold text from outside the data (a name, a contact, a link's name, or a
    stored value this version does not know) goes through :func:`csvfile.cell`, so no
    spreadsheet runs it as a formula; the words from the data are checked once, here."""

    def __init__(self, knowledge: Knowledge, language: str, admins: Collection[int]) -> None:
        cell = csvfile.cell
        self.knowledge = knowledge
        self.k = k = knowledge.speaking(knowledge.language_for(language))
        self.admins = frozenset(admins)
        self.separator = csvfile.separator(k.language)
        self.yes = cell(k.text("admin.export_yes"))
        self.finished = cell(k.text("admin.export_finished"))
        self.question_ids = tuple(q.id for q in k.questions)
        #: Per question: option id → its words (None, not answered: "").
        self.labels: tuple[dict[str | None, object], ...] = tuple(
            {None: "", **{o.id: cell(o.label) for o in q.options}} for q in k.questions
        )
        self.status = {WELCOME: cell(k.text("admin.export_not_started"))}
        for question in k.questions:
            words = k.text("admin.export_stopped", question=question.short or question.prompt)
            self.status[QUESTION_PREFIX + question.id] = cell(words)
        self.status.update(dict.fromkeys(AFTER_RESULT, self.finished))
        self.stacks = {
            key[6:]: cell(text) for key, text in k.texts.items() if key.startswith("stack.")
        }
        self.either = cell(k.text("whatif.outcome.either"))
        self.confidence = {
            key[11:]: cell(text) for key, text in k.texts.items() if key.startswith("confidence.")
        }
        self.languages = {
            code: cell(knowledge.speaking(code).text("language.name"))
            for code in knowledge.languages
        }
        self.languages[""] = ""
        self.channels = {
            key[13:]: cell(text) for key, text in k.texts.items() if key.startswith("lead.channel.")
        }
        self._results: dict[Picked, tuple[object, object]] = {}
        self._times: dict[int, str] = {}

    def header(self) -> list[str]:
        """The column names: the fixed ones, then each question's short name."""
        fixed = [self.k.text(f"admin.export_column.{key}") for key in csvfile.COLUMNS]
        return fixed + [q.short or q.prompt for q in self.k.questions]

    def picked(self, answers: object) -> Picked:
        """Stored answers (a JSON object of question id → option id) as :data:`Picked`."""
        if not isinstance(answers, dict):
            return (None,) * len(self.question_ids)
        found = tuple(map(answers.get, self.question_ids))
        try:
            hash(found)
        except TypeError:  # a list or an object where an option id belongs: no answer
            return tuple(v if isinstance(v, str) else None for v in found)
        return found

    def result(self, picked: Picked) -> tuple[object, object]:
        """The recommendation and the confidence these answers get, in words, as the person
        saw them ("Django", "clear"; for Either, "a close call": the words of
        ``advisor.render.confidence_words``), from the same scoring (``advisor.scoring``)."""
        found = self._results.get(picked)
        if found is None:
            k = self.knowledge
            answers = {q: v for q, v in zip(self.question_ids, picked, strict=True) if v}
            choice, margin = choose(*totals(k, answers), k)
            if choice == "either":
                confidence = self.either
            else:
                confidence = self.confidence[confidence_of(margin, k)]
            found = self._results[picked] = (self.stacks[choice], confidence)
        return found

    def when(self, at: int | None) -> str:
        """A time as a spreadsheet reads it ("2026-12-07 06:48", UTC); "" when not known."""
        if at is None:
            return ""
        minute = at // 60
        found = self._times.get(minute)
        if found is None:
            found = self._times[minute] = time.strftime(TIME_FORMAT, time.gmtime(minute * 60))
        return found

    def session_row(self, stored: StoredSession, lead: StoredLead | None) -> list[object]:
        """A session's row; ``lead`` fills its lead columns."""
        data = _data(stored.data)
        picked = self.picked(data.get("a"))
        if stored.state in AFTER_RESULT:
            recommendation, confidence = self.result(picked)
        else:
            recommendation = confidence = ""
        language = data.get("l")
        if not isinstance(language, str) or not language:
            language = lead.language if lead else ""
        status = self.status.get(stored.state)
        return [
            csvfile.cell(stored.name or (lead.name if lead else "")),
            csvfile.cell(stored.state) if status is None else status,
            recommendation,
            confidence,
            *self._lead_columns(lead),
            self._language(language),
            csvfile.cell(stored.source or ""),
            self.when(stored.started),
            self.when(stored.updated_at),
            self.yes if stored.user_id in self.admins else "",
            stored.user_id,
            stored.chat_id,
            *self._answer_columns(picked),
        ]

    def lead_row(self, lead: StoredLead) -> list[object]:
        """The row of a lead whose session is gone: the session it came from, as stored with
        the lead (its recommendation as the person was shown it)."""
        picked = self.picked(_json(lead.answers))
        _, confidence = self.result(picked)
        recommendation = self.stacks.get(lead.recommendation)
        return [
            csvfile.cell(lead.name),
            self.finished,
            csvfile.cell(lead.recommendation) if recommendation is None else recommendation,
            confidence,
            *self._lead_columns(lead),
            self._language(lead.language),
            csvfile.cell(lead.source or ""),
            self.when(lead.started),
            self.when(lead.at),
            self.yes if lead.user_id in self.admins else "",
            lead.user_id,
            lead.chat_id,
            *self._answer_columns(picked),
        ]

    def _language(self, code: str) -> object:
        """A language in its own name ("Español"); a code this version does not offer, as it is."""
        name = self.languages.get(code)
        return csvfile.cell(code) if name is None else name

    def _lead_columns(self, lead: StoredLead | None) -> list[object]:
        if lead is None:
            return ["", "", "", ""]
        channel = self.channels.get(lead.channel)
        if channel is None:
            channel = csvfile.cell(lead.channel)
        return [self.yes, csvfile.cell(lead.contact), channel, self.when(lead.at)]

    def _answer_columns(self, picked: Picked) -> list[object]:
        return [
            words[v] if v in words else csvfile.cell(v)
            for words, v in zip(self.labels, picked, strict=True)
        ]


class Leads:
    """Every lead, waiting for the session it came from."""

    def __init__(self, knowledge: Knowledge, leads: Iterable[StoredLead]) -> None:
        self.knowledge = knowledge
        self.all = list(leads)
        self.by_person: dict[tuple[int, int], list[int]] = {}
        for index, lead in enumerate(self.all):
            self.by_person.setdefault((lead.chat_id, lead.user_id), []).append(index)
        self.taken: set[int] = set()

    def take(self, stored: StoredSession) -> StoredLead | None:
        """The latest lead made with this session's answers (None when there is none)."""
        found = self.by_person.get((stored.chat_id, stored.user_id))
        if not found:
            return None
        prune = self.knowledge.prune
        answers = prune(_answers(_data(stored.data).get("a")))
        for index in reversed(found):
            if index not in self.taken and prune(_answers(_json(self.all[index].answers))) == (
                answers
            ):
                self.taken.add(index)
                return self.all[index]
        return None

    def left(self) -> Iterable[StoredLead]:
        """The leads no session took, oldest first."""
        return (lead for index, lead in enumerate(self.all) if index not in self.taken)


class Writing:
    """The file being written: the header at once, a row per session, then the leads whose
    session is gone (:meth:`close`)."""

    def __init__(self, out: Path, sheet: Sheet, leads: Iterable[StoredLead]) -> None:
        self.sheet = sheet
        self.leads = Leads(sheet.knowledge, leads)
        self.file = out.open("w", encoding=csvfile.ENCODING, newline="")
        self.writer = csvfile.csv_writer(self.file, sheet.header(), sheet.separator)
        self.count = 0

    def session(self, stored: StoredSession) -> None:
        self.writer.writerow(self.sheet.session_row(stored, self.leads.take(stored)))
        self.count += 1

    def close(self) -> int:
        """Write the leads no session took, close the file; return how many rows."""
        for lead in self.leads.left():
            self.writer.writerow(self.sheet.lead_row(lead))
            self.count += 1
        self.file.close()
        return self.count

    def __enter__(self) -> Writing:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if not self.file.closed:
            self.file.close()


def export_from(db: sqlite3.Connection, out: Path, sheet: Sheet) -> int:
    """Stream every session (and every lead) read through ``db`` into ``out``; return how
    many rows."""
    leads = [StoredLead(*row) for row in db.execute(LEADS_SQL)]
    with Writing(out, sheet, leads) as writing:
        for row in db.execute(SESSIONS_SQL):
            writing.session(StoredSession(*row))
        return writing.close()


async def export_postgres(out: Path, sheet: Sheet) -> int:
    """Stream every session (and lead) from PostgreSQL (DATABASE_URL) into ``out`` from one
    snapshot, the sessions through a server-side cursor; return how many rows."""
    from .postgres import EXPORT_PREFETCH, connect_from_environment  # asyncpg only if used

    connection = await connect_from_environment()
    try:
        async with connection.transaction(isolation="repeatable_read", readonly=True):
            leads = [StoredLead(*row) for row in await connection.fetch(LEADS_SQL)]
            with Writing(out, sheet, leads) as writing:
                async for row in connection.cursor(SESSIONS_SQL, prefetch=EXPORT_PREFETCH):
                    writing.session(StoredSession(*row))
                return writing.close()
    finally:
        await connection.close()


def export(state_db: Path, out: Path, sheet: Sheet) -> int:
    """Export from the database file at ``state_db`` (read-only, one snapshot)."""
    db = sqlite3.connect(f"file:{state_db}?mode=ro", uri=True, isolation_level=None)
    try:
        db.execute("BEGIN")  # one snapshot for both tables
        return export_from(db, out, sheet)
    finally:
        db.close()


def _data(raw: str) -> dict[str, Any]:
    found = _json(raw)
    return found if isinstance(found, dict) else {}


def _json(raw: str) -> object:
    try:
        return json.loads(raw)
    except (ValueError, TypeError):
        return None


def _answers(found: object) -> dict[str, str]:
    if not isinstance(found, dict):
        return {}
    return {k: v for k, v in found.items() if isinstance(k, str) and isinstance(v, str)}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m storage.export",
        description="Write every session (and lead) as a spreadsheet-ready CSV file.",
    )
    parser.add_argument("paths", nargs="+", metavar="STATE_DB OUT | OUT", help="where from, to")
    parser.add_argument("--postgres", action="store_true", help="read DATABASE_URL instead")
    parser.add_argument("--language", default="en", help="headers' and answers' language")
    parser.add_argument("--admins", default="", help="comma-separated admin ids, flagged")
    parser.add_argument(
        "--knowledge-stdin", action="store_true", help="read the bot's knowledge from stdin"
    )
    parser.add_argument("--data", type=Path, default=None, help="the data folder otherwise")
    return parser


def main(argv: Sequence[str]) -> int:
    """``python -m storage.export [options] STATE_DB OUT``, or ``… --postgres OUT`` with
    DATABASE_URL (and DATABASE_SCHEMA) in the environment: exit 0 when written."""
    parser = _parser()
    args = parser.parse_args(argv)
    if len(args.paths) != (1 if args.postgres else 2):
        parser.print_usage(sys.stderr)
        return 2
    os.nice(NICENESS)
    if args.knowledge_stdin:
        knowledge = pickle.loads(sys.stdin.buffer.read())
        if not isinstance(knowledge, Knowledge):
            print("error: standard input holds no knowledge", file=sys.stderr)
            return 2
    else:
        from advisor import load_knowledge

        knowledge = load_knowledge(args.data)
    admins = {int(part) for part in args.admins.replace(" ", "").split(",") if part}
    sheet = Sheet(knowledge, args.language, admins)
    if args.postgres:
        asyncio.run(export_postgres(Path(args.paths[0]), sheet))
        return 0
    export(Path(args.paths[0]), Path(args.paths[1]), sheet)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
