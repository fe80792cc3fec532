"""Fixtures for end-to-end tests: the real Application against the fake Bot API over HTTP."""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from advisor import Knowledge
from bot import load
from fake_telegram import BotUser, FakeTelegram, TgChat
from frontends.telegram import build_application
from settings import Settings, load_settings

# Opt in to python-telegram-bot's next-major behaviour (timedelta retry_after), so its
# deprecation warning does not fire inside the library while tests turn warnings into errors.
os.environ.setdefault("PTB_TIMEDELTA", "1")

TOKEN = "123456789:AAtest-token_for_the_fake_api_000000"
ADMIN_ID = 4242
SALES_CHAT = -1001234


@pytest.fixture(scope="session")
def knowledge() -> Knowledge:
    return load(None)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TOKEN) as server:
        yield server


MakeSettings = Callable[..., Settings]


@pytest.fixture
def make_settings(tmp_path: Path, fake: FakeTelegram) -> MakeSettings:
    def make(**overrides: str) -> Settings:
        environ = {
            "BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": fake.root_url,
            "STATE_DB": str(tmp_path / "state.sqlite3"),
            "RATE_LIMIT": "0",
            **overrides,
        }
        return load_settings(environ)

    return make


@asynccontextmanager
async def running(settings: Settings, knowledge: Knowledge) -> AsyncIterator[object]:
    """Run the real Application by long polling until the block ends."""
    app = build_application(settings, knowledge)
    await app.initialize()
    if app.post_init is not None:
        await app.post_init(app)
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0.0, timeout=1)
    await app.start()
    try:
        yield app
    finally:
        await app.updater.stop()
        await app.stop()
        if app.post_shutdown is not None:
            await app.post_shutdown(app)
        await app.shutdown()


@pytest.fixture
async def bot(
    fake: FakeTelegram, make_settings: MakeSettings, knowledge: Knowledge
) -> AsyncIterator[object]:
    """The bot, running with default settings against the fake."""
    async with running(make_settings(), knowledge) as app:
        yield app


@pytest.fixture
def captured_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


#: Button labels that take a Python fintech through every question to a Django result.
FINTECH = [
    "Python",
    "Yes, payments or money",
    "Large and complex",
    "One application",
    "No live features",
    "Some reports",
    "Somewhat",
    "Built in, ready to use",
    "Normal",
]


def all_text(user: BotUser) -> str:
    """Everything the bot currently shows in the user's chat."""
    return "\n".join(m.text for m in user.messages())


def last_text(user: BotUser) -> str:
    """The newest text message in the user's chat (after /stats, a picture follows the text)."""
    return next(m.text for m in reversed(user.messages()) if m.kind == "text")


async def finish(user: BotUser, labels: list[str] = FINTECH) -> None:
    """Start and answer every question by pressing buttons."""
    await user.send_command("start")
    for label in labels:
        await user.press(label)


@dataclass
class Office:
    """A running bot with an admin, a sales chat and the database path."""

    fake: FakeTelegram
    admin: BotUser
    sales: TgChat
    db: Path

    def sales_texts(self) -> list[str]:
        return [m.visible_text for m in self.fake.messages(self.sales)]

    async def sales_summaries(self, count: int = 1, timeout: float = 10) -> list[str]:  # noqa: ASYNC109
        """The sales chat's messages once there are ``count``: a lead is delivered right after
        the person was thanked, not before."""
        await self.fake.wait_for(
            lambda: len(self.sales_texts()) >= count, timeout, what=f"{count} sales messages"
        )
        return self.sales_texts()

    def rows(self, sql: str, *args: object) -> list[tuple[object, ...]]:
        with sqlite3.connect(self.db) as db:
            return list(db.execute(sql, args))


@pytest.fixture
async def office(
    fake: FakeTelegram, make_settings: MakeSettings, knowledge: Knowledge
) -> AsyncIterator[Office]:
    admin = fake.user("Alice")
    sales = fake.group("Sales")
    settings: Settings = make_settings(ADMIN_IDS=f"{admin.id}, 77", SALES_CHAT_ID=str(sales.id))
    async with running(settings, knowledge):
        yield Office(fake, admin, sales, settings.state_db)
