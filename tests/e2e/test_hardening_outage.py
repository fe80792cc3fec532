"""End to end: nothing is lost when the database goes away or stops answering (issue 21).

The real Application serves a webhook (or polls) against the strict fake Bot API, with its
PostgreSQL reached through a proxy the test takes down or stalls (``tests/e2e/dbproxy.py``).
An update whose turn did not commit is never acknowledged: the webhook answers 503 and
Telegram (the fake) sends it again, so the answer is applied once the database is back. Each
step waits for a condition (a delivery refused, a message arriving), never for a fixed time.
"""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from advisor import Knowledge
from fake_telegram import FakeTelegram
from frontends.telegram.app import build_application
from frontends.telegram.run import _register_webhook, _serve_webhook
from settings import Settings
from tests.e2e.conftest import MakeSettings, all_text
from tests.e2e.dbproxy import database_proxy
from tests.e2e.test_process import bot_process, wait_until_polling
from tests.postgres import Postgres

SECRET = "outage-secret"
WAIT = "One moment, please"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@asynccontextmanager
async def serving_webhook(settings: Settings, knowledge: Knowledge) -> AsyncIterator[object]:
    """The real Application behind its own webhook server, registered with the fake."""
    app = build_application(settings, knowledge)
    await app.initialize()
    if app.post_init is not None:
        await app.post_init(app)
    await app.start()
    server = await _serve_webhook(app, settings)
    await _register_webhook(app, settings)
    try:
        yield app
    finally:
        await server.stop()
        await app.stop()
        if app.post_shutdown is not None:
            await app.post_shutdown(app)
        await app.shutdown()


def webhook_settings(
    make_settings: MakeSettings, database_url: str, pg: Postgres, **more: str
) -> Settings:
    """A webhook bot on a free port of this machine, on ``pg``'s schema at ``database_url``."""
    port = free_port()
    return make_settings(
        MODE="webhook",
        WEBHOOK_URL=f"http://127.0.0.1:{port}/hook",
        WEBHOOK_SECRET=SECRET,
        LISTEN="127.0.0.1",
        PORT=str(port),
        DATABASE_URL=database_url,
        DATABASE_SCHEMA=pg.schema,
        **more,
    )


def refused(fake: FakeTelegram) -> int:
    """How many deliveries the bot's webhook refused with 503 (to be sent again)."""
    return sum(1 for d in fake.webhook_deliveries if d.status == 503)


@pytest.fixture
def patient_fake(fake: FakeTelegram) -> FakeTelegram:
    """Telegram keeps sending a refused update for a long while; so does the fake here."""
    fake.webhook_max_attempts = 1000
    fake.webhook_retry_delay = 0.05
    return fake


async def test_an_answer_sent_while_the_database_is_down_is_applied_once_it_is_back(
    patient_fake: FakeTelegram,
    make_settings: MakeSettings,
    knowledge: Knowledge,
    postgres: Postgres,
) -> None:
    fake = patient_fake
    async with database_proxy(postgres.url) as proxy:
        settings = webhook_settings(make_settings, proxy.proxied_url, postgres)
        async with serving_webhook(settings, knowledge):
            ann = fake.user("Ann", timeout=30)
            await ann.send_command("start")
            await ann.press("Python")
            await proxy.down()
            await ann.press("Yes, payments or money")  # answered: "one moment"
            await fake.wait_for(lambda: refused(fake) >= 2, timeout=30, what="two refusals")
            assert WAIT in all_text(ann)
            assert "Question 3 of 9" not in all_text(ann)
            await proxy.up()
            await fake.wait_for(
                lambda: "Question 3 of 9" in all_text(ann), timeout=30, what="the answer applied"
            )
            assert all_text(ann).count(WAIT) == 1, "said once, however often it was refused"
            assert "something went wrong" not in all_text(ann)
            await ann.press("Large and complex")
            assert "Question 4 of 9" in ann.messages()[0].text


async def test_a_stalled_database_gets_one_moment_and_the_answer_is_applied_later(
    patient_fake: FakeTelegram,
    make_settings: MakeSettings,
    knowledge: Knowledge,
    postgres: Postgres,
) -> None:
    fake = patient_fake
    async with database_proxy(postgres.url) as proxy:
        # A statement may take 2 s here, not 15: the test need not wait that long to see it.
        settings = webhook_settings(
            make_settings, proxy.proxied_url, postgres, DATABASE_TIMEOUT="2"
        )
        async with serving_webhook(settings, knowledge):
            ann = fake.user("Ann", timeout=60)
            await ann.send_command("start")
            proxy.stall()
            await ann.press("JavaScript")  # nothing comes back from the database: "one moment"
            await fake.wait_for(lambda: WAIT in all_text(ann), timeout=30, what="one moment")
            await fake.wait_for(lambda: refused(fake) >= 1, timeout=60, what="a refusal")
            await proxy.up()
            await fake.wait_for(
                lambda: "Question 2 of 9" in all_text(ann), timeout=60, what="the answer applied"
            )
            assert all_text(ann).count(WAIT) == 1
            await ann.press("Nothing sensitive")
            assert "Question 3 of 9" in ann.messages()[0].text


async def test_while_another_program_locks_the_sqlite_file_help_is_answered_and_the_answer_waits(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    """Polling, SQLite: a turn that finds the file locked does not hold up the event loop
    (someone else's /help sent after it is answered first), and its update is not confirmed:
    once the lock is gone the answer is applied."""
    ann, bob = fake.user("Ann", timeout=30), fake.user("Bob", timeout=30)
    async with bot_process(fake, tmp_path, LOG_LEVEL="INFO") as process:
        await wait_until_polling(fake, 0)
        await ann.send_command("start")
        await ann.press("Python")
        holder = sqlite3.connect(tmp_path / "state.sqlite3", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another program writes, and takes its time
        try:
            mark = len(fake.calls)
            await ann.press("Yes, payments or money", expect_response=False)
            await bob.send_command("help")  # needs no database: answered while Ann's turn waits
            assert "/restart" in bob.last_message().text
            await fake.wait_for(lambda: WAIT in all_text(ann), timeout=30, what="one moment")
            # The tap is answered once the turn has given up (it is left to come again).
            await fake.wait_for(
                lambda: any(c.method == "answerCallbackQuery" for c in fake.calls[mark:]),
                timeout=60,
                what="the turn given up",
            )
            assert "Question 3 of 9" not in all_text(ann)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        await fake.wait_for(
            lambda: "Question 3 of 9" in all_text(ann), timeout=60, what="the answer applied"
        )
        assert all_text(ann).count(WAIT) == 1
        assert "something went wrong" not in all_text(ann)
    log = process.stderr.decode()
    assert "Traceback" not in log, log[log.find("Traceback") - 300 :][:3000]


async def test_an_answer_behind_a_hung_instances_lock_is_sent_again_and_applied_never_lost(
    patient_fake: FakeTelegram,
    make_settings: MakeSettings,
    knowledge: Knowledge,
    postgres: Postgres,
) -> None:
    """Another instance stopped (SIGSTOP) in the middle of Ann's turn holds her lock. Her next
    answer waits for it, and when the waits run out it is refused (503), not acknowledged:
    once the lock is free, Telegram's next try applies it."""
    fake = patient_fake
    # lock waits of 2 s: the test need not wait 30 s
    settings = webhook_settings(make_settings, postgres.url, postgres, DATABASE_TIMEOUT="3")
    async with serving_webhook(settings, knowledge):
        ann = fake.user("Ann", timeout=60)
        await ann.send_command("start")
        await ann.press("Python")
        hung = await postgres.connect()
        await hung.execute(f"BEGIN; SELECT pg_advisory_xact_lock({ann.id})")
        try:
            await ann.press("Yes, payments or money", expect_response=False)
            await fake.wait_for(lambda: refused(fake) >= 1, timeout=60, what="a refusal")
            assert "Question 3 of 9" not in all_text(ann)
        finally:
            await hung.close()  # the server ends its transaction: the lock is free
        await fake.wait_for(
            lambda: "Question 3 of 9" in all_text(ann), timeout=60, what="the answer applied"
        )
        assert "something went wrong" not in all_text(ann)


def test_a_turns_lock_waits_outlast_the_lock_of_a_hung_instance() -> None:
    """With the default settings, the conversation's tries of a turn wait for a user's lock
    longer than the server lets a hung instance keep it (idle in its transaction)."""
    from dialogs.conversation import BUSY_ATTEMPTS
    from storage.postgres import IDLE_IN_TRANSACTION_SECONDS, connection_settings

    lock_ms = int(connection_settings(None)["lock_timeout"].removesuffix("ms"))
    assert BUSY_ATTEMPTS * lock_ms / 1000 > IDLE_IN_TRANSACTION_SECONDS
