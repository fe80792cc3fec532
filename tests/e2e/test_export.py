"""End to end: /export as an admin gets a file a spreadsheet opens, a row per session, in words."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from advisor import Knowledge
from dialogs.admin import Admin
from fake_telegram import BotUser, FakeTelegram
from storage import csvfile
from tests.e2e.conftest import FINTECH, MakeSettings, Office, all_text, finish, running


def export_rows(admin: BotUser, delimiter: str = ",") -> tuple[str, list[dict[str, str]]]:
    """The caption and the rows of the document the admin was just sent, read as a
    spreadsheet reads it (UTF-8 after its byte-order mark)."""
    message = admin.last_message().raw
    assert message is not None and message.document is not None
    assert message.document.filename == "stack-advisor-export.csv"
    data = message.document.data
    assert data is not None and data.startswith(b"\xef\xbb\xbf")
    with io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="") as file:
        rows = list(csv.DictReader(file, delimiter=delimiter))
    return message.caption or "", rows


async def test_an_admin_gets_one_row_per_session_with_the_result_and_the_answers_in_words(
    office: Office,
) -> None:
    await office.admin.send_command("link", "ads")
    await finish(office.admin)  # the admin trying the bot: flagged as their own
    ann, bob = office.fake.user("Ann"), office.fake.user("Bob")
    await finish(ann)
    await ann.press("💬 Talk to an expert")
    await ann.press("Yes, share")
    await ann.send_text("ann@example.com")
    await bob.send_command("start", "ads")
    await office.admin.send_command("export")
    caption, rows = export_rows(office.admin)
    assert "One row per session" in caption and "UTC" in caption
    by_user = {int(row["User ID"]): row for row in rows}
    assert sorted(by_user) == sorted([office.admin.id, ann.id, bob.id]), "one row per session"
    shown = all_text(ann)
    row = by_user[ann.id]
    assert row["Status"] == "Finished" and row["Recommendation"] == "Django"
    assert f"Recommendation: {row['Recommendation']}" in shown
    [sales] = await office.sales_summaries()
    assert f"Recommendation: {row['Recommendation']} ({row['Confidence']})" in sales
    assert (row["Lead"], row["Contact"], row["Lead came through"]) == (
        "yes",
        "ann@example.com",
        "Telegram bot",
    )
    assert [row[q] for q in ("Team's language", "App size", "Deadline")] == [
        FINTECH[0],
        FINTECH[2],
        FINTECH[-1],
    ]
    assert row["Language"] == "English" and row["Name"] == "Ann"
    assert by_user[bob.id]["Link"] == "ads" and by_user[bob.id]["Recommendation"] == ""
    assert by_user[bob.id]["Status"] == "Stopped at: Team's language"
    assert [by_user[u]["Admin"] for u in (office.admin.id, ann.id, bob.id)] == ["yes", "", ""]
    assert by_user[office.admin.id]["Recommendation"] == "Django"


@pytest.fixture
async def spanish_office(
    fake: FakeTelegram, make_settings: MakeSettings, knowledge: Knowledge
) -> AsyncIterator[BotUser]:
    """A bot whose admin's Telegram is in Spanish."""
    admin = fake.user("Alicia", language_code="es")
    async with running(make_settings(ADMIN_IDS=str(admin.id)), knowledge):
        yield admin


async def test_a_spanish_admin_gets_the_file_in_spanish_with_semicolons(
    fake: FakeTelegram, spanish_office: BotUser
) -> None:
    ann = fake.user("Ann")
    await finish(ann)
    await spanish_office.send_command("export")
    caption, [row] = export_rows(spanish_office, delimiter=";")
    assert caption.startswith("Una fila por sesión")
    assert (row["Nombre"], row["Estado"], row["Recomendación"]) == ("Ann", "Terminada", "Django")
    assert row["Lenguaje del equipo"] == "Python" and row["Tamaño de la app"] == "Grande y compleja"
    assert row["Idioma"] == "English" and row["Administrador"] == ""


async def test_people_are_answered_while_an_export_is_being_made(
    office: Office, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A big export takes seconds: it is made beside the chats, not in the way of them (the
    /export turn ends at once, so polling moves past it: bench/reports.py measures that)."""
    release = asyncio.Event()
    made = Admin.export

    async def slow(self: Admin, out: Path, **options: Any) -> float:
        await release.wait()
        return await made(self, out, **options)

    monkeypatch.setattr(Admin, "export", slow)
    await office.admin.send_command("export", expect_response=False)
    people = [office.fake.user(name) for name in ("Ann", "Bob", "Cleo")]
    for person in people:
        await person.send_command("start")
        assert "Question 1 of 9" in all_text(person)
    assert office.admin.messages() == [], "the export is still being made"
    release.set()
    await office.fake.wait_for(
        lambda: any(m.raw and m.raw.document for m in office.admin.messages()),
        what="the export",
    )
    _, rows = export_rows(office.admin)
    assert {int(row["User ID"]) for row in rows} == {person.id for person in people}


async def test_an_export_that_cannot_be_made_tells_the_admin_to_try_again(
    office: Office, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csvfile, "child_arguments", lambda *_: ["--no-such-option"])
    await office.admin.send_command("export")
    assert "send /export again in a minute" in office.admin.last_message().text
    assert [f for f in office.fake.uploads if f.kind == "document"] == []
