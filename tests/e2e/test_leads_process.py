"""End to end with `python bot.py`: leads kept across a SIGKILL while the sales chat fails.

The bot runs with its real retry schedule; the sales chat answers 500 for a while, the bot is
killed with leads still owed, and the restarted bot delivers each lead exactly once.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
from pathlib import Path

from fake_telegram import FakeTelegram
from tests.e2e.test_leads import give_contact, nothing_about_errors
from tests.e2e.test_process import BotProcess, wait_until_polling
from tests.postgres import Postgres


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as connection:
        return list(connection.execute(sql))


async def test_leads_owed_when_the_bot_is_killed_reach_the_sales_chat_once_after_a_restart(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    sales = fake.group("Sales")
    admin = fake.user("Alice", timeout=20)
    env = {"SALES_CHAT_ID": str(sales.id), "ADMIN_IDS": str(admin.id), "LOG_LEVEL": "INFO"}
    fake.fail_next("sendMessage", status=500, times=4, chat_id=sales.id)

    def failed_sends() -> int:
        return sum(1 for c in fake.calls_to("sendMessage") if c.chat_id == sales.id and not c.ok)

    first = BotProcess(fake, tmp_path, **env)
    await first.start()
    people = [fake.user(name, timeout=20) for name in ("Ann", "Bob")]
    try:
        await wait_until_polling(fake, 0)
        for person in people:
            await give_contact(person, f"{person.user.first_name.lower()}@example.com")
        await fake.wait_for(lambda: failed_sends() >= 3, timeout=30, what="failed deliveries")
    finally:
        await first.stop(signal.SIGKILL)
    db = tmp_path / "state.sqlite3"
    assert fake.messages(sales) == []
    assert rows(db, "SELECT status FROM lead_deliveries") == [("pending",), ("pending",)]

    second = BotProcess(fake, tmp_path, **env)
    await second.start()
    try:
        await fake.wait_for(lambda: len(fake.messages(sales)) == 2, timeout=60, what="2 leads")
        await asyncio.sleep(4)  # more rounds of the delivery job: nothing is sent twice
    finally:
        await second.stop()
        print(first.stderr.decode()[-6000:], second.stderr.decode()[-6000:])  # if it fails
    texts = [m.visible_text for m in fake.messages(sales)]
    assert len(texts) == 2
    for person in people:
        contact = f"Contact: {person.user.first_name.lower()}@example.com"
        assert sum(contact in text for text in texts) == 1
        nothing_about_errors(person)
    assert rows(db, "SELECT status FROM lead_deliveries") == [("delivered",), ("delivered",)]
    assert fake.faults_left("sendMessage") == 0
    assert f"SALES_CHAT_ID={sales.id}: leads go to “Sales”" in first.stderr.decode()
    log = second.stderr.decode()
    assert "2 lead deliveries are waiting; trying them now" in log
    assert "Traceback" not in first.stderr.decode() + log


async def test_on_postgresql_leads_owed_when_the_bot_is_killed_arrive_once_after_a_restart(
    fake: FakeTelegram, tmp_path: Path, postgres: Postgres
) -> None:
    sales = fake.group("Sales")
    env = {**postgres.environment(), "SALES_CHAT_ID": str(sales.id), "LOG_LEVEL": "INFO"}
    fake.fail_next("sendMessage", status=500, times=3, chat_id=sales.id)

    async def settled_failures() -> int:
        """Failed attempts recorded, once no delivery is claimed (none is on its way)."""
        connection = await postgres.connect()
        try:
            claimed, attempts = await connection.fetchrow(
                "SELECT count(claim), coalesce(sum(attempts), 0) FROM lead_deliveries"
            )
        finally:
            await connection.close()
        return int(attempts) if claimed == 0 else 0

    first = BotProcess(fake, tmp_path, **env)
    await first.start()
    ann = fake.user("Ann", timeout=20)
    try:
        await wait_until_polling(fake, 0)
        await give_contact(ann, "ann@example.com")
        for _ in range(100):
            if await settled_failures() >= 2:
                break
            await asyncio.sleep(0.1)
    finally:
        await first.stop(signal.SIGKILL)
    assert fake.messages(sales) == []
    second = BotProcess(fake, tmp_path / "elsewhere", **env)
    await second.start()
    try:
        await fake.wait_for(lambda: len(fake.messages(sales)) == 1, timeout=60, what="the lead")
        await asyncio.sleep(4)
    finally:
        await second.stop()
        print(first.stderr.decode()[-4000:], second.stderr.decode()[-4000:])  # if it fails
    [summary] = [m.visible_text for m in fake.messages(sales)]
    assert "Contact: ann@example.com" in summary
    nothing_about_errors(ann)
    assert not (tmp_path / "state.sqlite3").exists(), "SQLite was not used"
