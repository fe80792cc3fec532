"""The /export file as a salesperson opens it in a spreadsheet: one row per session, in words.

Each test runs on every backend (SQLite in a file, which writes through the child process;
SQLite in memory; PostgreSQL through the child process too) and reads the file the way a
spreadsheet does: UTF-8 with its byte-order mark, the separator of the admin's language.
"""

from __future__ import annotations

import asyncio
import csv
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from advisor import Knowledge
from advisor.render import confidence_words
from advisor.scoring import recommend
from advisor.session import Session
from storage import csvfile
from storage.base import MINI_APP_CHANNEL, STARTED, Lead, Store, Stored
from storage.export import Sheet
from storage.sqlite import SqliteStore
from tests.test_storage_contract import ADA, BOB, Clock

CAROL = 303
Complete = Callable[..., dict[str, str]]


# -- helpers -----------------------------------------------------------------------------------


async def put(
    store: Store,
    user_id: int,
    *,
    state: str = "result",
    answers: dict[str, str] | None = None,
    name: str | None = "Ada",
    language: str = "en",
    source: str | None = None,
    started: bool = False,
) -> None:
    """Store a session (and, when ``started``, the /start that began it)."""
    session = Session(state=state, answers=answers or {}, source=source, language=language)
    async with store.unit(user_id) as uow:
        if started:
            await uow.events.add(user_id, STARTED, source=source)
        await uow.sessions.put(user_id, user_id, Stored(session, first_name=name))


async def add_lead(store: Store, lead: Lead) -> None:
    async with store.unit(lead.user_id) as uow:
        await uow.leads.add(lead)


def a_lead(user_id: int, answers: dict[str, str], **changes: object) -> Lead:
    lead = Lead(user_id, user_id, "Ada Lovelace", "ada@example.org", "ads", "django", answers)
    return replace(lead, **changes)


async def exported(
    store: Store, tmp_path: Path, *, language: str = "en", admins: frozenset[int] = frozenset()
) -> tuple[list[str], list[dict[str, str]], str]:
    """The file's header and rows read as a spreadsheet would, and the raw text."""
    out = tmp_path / "export.csv"
    await store.export_csv(out, language=language, admins=admins)
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "Excel reads UTF-8 only after a byte-order mark"
    text = raw.decode("utf-8-sig")
    delimiter = ";" if language in ("es", "pt", "ru") else ","
    with out.open(encoding="utf-8-sig", newline="") as file:
        reader = csv.reader(file, delimiter=delimiter)
        header, *rows = list(reader)
    return header, [dict(zip(header, row, strict=True)) for row in rows], text


def finished(knowledge: Knowledge, complete: Complete, **answers: str) -> dict[str, str]:
    return knowledge.prune(complete(**answers))


# -- the recommendation, the answers, the language ------------------------------------------


@pytest.mark.parametrize("team", ["python", "javascript"])
async def test_a_finished_session_has_the_recommendation_and_confidence_the_person_saw(
    store: Store, tmp_path: Path, knowledge: Knowledge, complete: Complete, team: str
) -> None:
    answers = finished(knowledge, complete, team=team, realtime="core", realtime_kind="chat")
    await put(store, ADA, answers=answers)
    _, [row], _ = await exported(store, tmp_path)
    shown = recommend(knowledge, answers)
    assert row["Status"] == "Finished"
    assert row["Recommendation"] == knowledge.text(f"stack.{shown.choice}") != ""
    assert row["Confidence"] == confidence_words(shown, knowledge) != ""


async def test_the_answers_are_the_options_words_under_each_questions_short_name(
    store: Store, tmp_path: Path, knowledge: Knowledge, complete: Complete
) -> None:
    answers = finished(knowledge, complete, team="python", size="large")
    await put(store, ADA, answers=answers)
    header, [row], _ = await exported(store, tmp_path)
    team, size = knowledge.question("team"), knowledge.question("size")
    assert team is not None and size is not None
    assert team.short in header and size.short in header
    assert row[team.short] == "Python"
    large = size.option("large")
    assert large is not None and row[size.short] == large.label == "Large and complex"
    asked = [q.short for q in knowledge.questions if q.id in answers]
    assert all(row[short] for short in asked), "every answer given is in its column"
    assert "{" not in ",".join(row.values()), "no raw JSON of ids"


async def test_an_unfinished_session_says_where_it_stopped_and_has_no_recommendation(
    store: Store, tmp_path: Path
) -> None:
    await put(store, ADA, state="q_size", answers={"team": "python", "security": "nothing"})
    await put(store, BOB, state="welcome")
    _, rows, _ = await exported(store, tmp_path)
    by_id = {row["User ID"]: row for row in rows}
    assert by_id[str(ADA)]["Status"] == "Stopped at: App size"
    assert by_id[str(ADA)]["Recommendation"] == by_id[str(ADA)]["Confidence"] == ""
    assert by_id[str(ADA)]["Team's language"] == "Python"
    assert by_id[str(BOB)]["Status"] == "Not started yet"


async def test_every_session_has_its_language_and_its_link(
    store: Store, tmp_path: Path, clock: Clock
) -> None:
    await put(store, ADA, state="q_team", language="es", source="spring_fair")
    clock.advance(seconds=1)
    await put(store, BOB, state="q_team", language="ru")
    clock.advance(seconds=1)
    await put(store, CAROL, state="welcome", language="")
    _, rows, _ = await exported(store, tmp_path)
    assert [(r["Language"], r["Link"]) for r in rows] == [
        ("Español", "spring_fair"),
        ("Русский", ""),
        ("", ""),
    ]


async def test_an_admins_own_session_is_flagged(store: Store, tmp_path: Path, clock: Clock) -> None:
    await put(store, ADA, state="q_team")
    clock.advance(seconds=1)
    await put(store, BOB, state="q_team")
    _, rows, _ = await exported(store, tmp_path, admins=frozenset({BOB}))
    assert [(r["User ID"], r["Admin"]) for r in rows] == [(str(ADA), ""), (str(BOB), "yes")]


async def test_times_are_utc_minutes_from_the_start_to_the_last_step(
    store: Store, tmp_path: Path, clock: Clock
) -> None:
    clock.now = 1_800_000_000.0  # 2027-01-15 08:00:00 UTC
    await put(store, ADA, state="q_team", started=True)
    clock.advance(seconds=5 * 60 + 30)
    await put(store, ADA, state="q_security", answers={"team": "python"})
    header, [row], _ = await exported(store, tmp_path)
    assert "Started (UTC)" in header and "Last active (UTC)" in header
    assert (row["Started (UTC)"], row["Last active (UTC)"]) == (
        "2027-01-15 08:00",
        "2027-01-15 08:05",
    )


# -- leads ---------------------------------------------------------------------------------------


async def test_a_lead_fills_the_lead_columns_of_the_session_it_came_from(
    store: Store, tmp_path: Path, knowledge: Knowledge, complete: Complete, clock: Clock
) -> None:
    answers = finished(knowledge, complete, team="python")
    await put(store, ADA, state="result", answers=answers, language="pt")
    clock.advance(seconds=60)
    await add_lead(store, a_lead(ADA, answers, channel=MINI_APP_CHANNEL, language="pt"))
    clock.advance(seconds=1)
    await put(store, BOB, state="q_team")
    _, rows, _ = await exported(store, tmp_path)
    assert len(rows) == 2, "one row per session: the lead is on its session's row"
    ada, bob = rows
    assert (ada["Lead"], ada["Contact"], ada["Lead came through"]) == (
        "yes",
        "ada@example.org",
        "Telegram Mini App",
    )
    assert ada["Lead date (UTC)"] != "" and ada["Recommendation"] == "Django"
    assert (bob["Lead"], bob["Contact"], bob["Lead came through"]) == ("", "", "")


async def test_a_lead_whose_session_is_gone_keeps_a_row_with_its_answers(
    store: Store, tmp_path: Path, knowledge: Knowledge, complete: Complete, clock: Clock
) -> None:
    answers = finished(
        knowledge, complete, team="javascript", realtime="core", realtime_kind="chat"
    )
    await add_lead(store, a_lead(ADA, answers, recommendation="nodejs", language="ru"))
    clock.advance(seconds=1)
    await put(store, ADA, state="q_team")  # started over since: a session of its own
    _, rows, _ = await exported(store, tmp_path, admins=frozenset({ADA}))
    [lead] = [r for r in rows if r["Lead"] == "yes"]
    [session] = [r for r in rows if r["Lead"] == ""]
    assert (lead["Name"], lead["Contact"], lead["Status"]) == (
        "Ada Lovelace",
        "ada@example.org",
        "Finished",
    )
    assert lead["Recommendation"] == "Node.js" and lead["Confidence"] != ""
    assert lead["Team's language"] == "JavaScript" and lead["Language"] == "Русский"
    assert lead["Link"] == "ads" and lead["Admin"] == session["Admin"] == "yes"
    assert session["Status"] == "Stopped at: Team's language"


# -- what a spreadsheet needs ------------------------------------------------------------------


async def test_a_spanish_admin_gets_spanish_headers_and_semicolons(
    store: Store, tmp_path: Path, knowledge: Knowledge, complete: Complete
) -> None:
    answers = finished(knowledge, complete, team="python")
    await put(store, ADA, answers=answers, name="Ana; María")
    header, [row], text = await exported(store, tmp_path, language="es", admins=frozenset({ADA}))
    assert header[:4] == ["Nombre", "Estado", "Recomendación", "Ventaja"]
    assert "Lenguaje del equipo" in header and "Pidió un experto" in header
    assert text.splitlines()[0].count(";") == len(header) - 1
    assert '"Ana; María"' in text, "a cell holding the separator is quoted"
    assert row["Nombre"] == "Ana; María" and row["Estado"] == "Terminada"
    assert row["Lenguaje del equipo"] == "Python" and row["Administrador"] == "sí"


async def test_an_english_admin_gets_commas_and_every_row_ends_in_crlf(
    store: Store, tmp_path: Path, clock: Clock
) -> None:
    await put(store, ADA, state="q_team", name="Ada, Countess")
    clock.advance(seconds=1)
    await put(store, BOB, state="q_team", name="Bob")
    out = tmp_path / "export.csv"
    await store.export_csv(out, language="en")
    raw = out.read_bytes()
    assert raw.count(b"\r\n") == 3 and raw.replace(b"\r\n", b"").count(b"\n") == 0
    header = raw.decode("utf-8-sig").split("\r\n")[0]
    assert header.startswith("Name,Status,Recommendation,Confidence,")
    assert b'"Ada, Countess"' in raw


@pytest.mark.parametrize(
    "name",
    ['=HYPERLINK("http://x","click")', "+1+1", "-2+3", "@SUM(A1)", "\tTab", "\rReturn"],
)
async def test_a_formula_in_a_name_is_neutralised(
    store: Store, tmp_path: Path, knowledge: Knowledge, complete: Complete, name: str
) -> None:
    answers = finished(knowledge, complete)
    await put(store, ADA, state="q_team", name=name)
    await add_lead(store, a_lead(BOB, answers, name=name, contact=name))
    _, rows, _ = await exported(store, tmp_path)
    assert [r["Name"] for r in rows] == ["'" + name] * 2
    assert rows[1]["Contact"] == "'" + name


def test_the_separator_follows_the_languages_decimal_mark() -> None:
    assert [csvfile.separator(code) for code in ("en", "es", "pt", "ru")] == [",", ";", ";", ";"]
    assert csvfile.separator("xx-nowhere") == ","


def test_every_language_has_a_header_for_every_column(knowledge: Knowledge) -> None:
    for code in knowledge.languages:
        header = Sheet(knowledge, code, ()).header()
        assert len(header) == len(set(header)) == len(csvfile.COLUMNS) + len(knowledge.questions)


# -- the child process -------------------------------------------------------------------------


async def test_the_export_runs_on_its_own_from_the_command_line(
    tmp_path: Path, knowledge: Knowledge, clock: Clock
) -> None:
    """An operator may run it by hand: it loads the data itself when no bot hands it over."""
    path = tmp_path / "state.sqlite3"
    store = await SqliteStore(path, knowledge, clock).open()
    try:
        await put(store, ADA, state="q_team", name="Ada")
    finally:
        await store.close()
    out = tmp_path / "by-hand.csv"
    code, _ = await _run("--language", "ru", str(path), str(out))
    assert code == 0
    with out.open(encoding="utf-8-sig", newline="") as file:
        [header, row] = list(csv.reader(file, delimiter=";"))
    assert header[0] == "Имя" and row[0] == "Ada"
    code, err = await _run(str(out))
    assert code == 2 and b"usage" in err


async def _run(*args: str) -> tuple[int | None, bytes]:
    """``python -m storage.export ARGS``: its exit status and what it wrote to stderr."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "storage.export",
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        cwd=csvfile.PROJECT_ROOT,
    )
    _, err = await asyncio.wait_for(child.communicate(), timeout=60)
    return child.returncode, err


async def test_a_thousand_sessions_export_in_one_pass(
    store: Store, tmp_path: Path, knowledge: Knowledge, complete: Complete
) -> None:
    answers = finished(knowledge, complete, team="python")
    for user_id in range(1, 1001):
        if user_id % 2:
            await put(store, user_id, answers=answers, name=f"U{user_id}")
        else:
            await put(store, user_id, state="q_team", name=f"U{user_id}")
    _, rows, _ = await exported(store, tmp_path)
    assert len(rows) == 1000
    assert sum(1 for r in rows if r["Recommendation"] == "Django") == 500
