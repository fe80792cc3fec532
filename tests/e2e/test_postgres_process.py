"""End to end on PostgreSQL: `python bot.py` with DATABASE_URL, against the fake Bot API."""

from __future__ import annotations

import signal
from pathlib import Path

from fake_telegram import FakeTelegram
from tests.e2e.test_process import BotProcess, bot_process, wait_until_polling
from tests.postgres import Postgres

PASSWORD = "not-needed-with-trust-auth"


def with_password(url: str) -> str:
    """The URL with a password in it (the test server accepts any: trust auth)."""
    scheme, rest = url.split("://", 1)
    user, host = rest.split("@", 1) if "@" in rest else ("postgres", rest)
    return f"{scheme}://{user.split(':', 1)[0]}:{PASSWORD}@{host}"


async def test_a_bot_on_postgresql_killed_mid_dialog_resumes_at_the_same_question(
    fake: FakeTelegram, tmp_path: Path, postgres: Postgres
) -> None:
    env = {**postgres.environment(), "DATABASE_URL": with_password(postgres.url)}
    ann = fake.user("Ann", timeout=20)
    first = BotProcess(fake, tmp_path, **env)
    await first.start()
    try:
        await wait_until_polling(fake, 0)
        await ann.send_command("start")
        for label in ("JavaScript", "Yes, payments or money"):
            await ann.press(label)
        assert "Question 3 of 9" in ann.messages()[0].text
    finally:
        await first.stop(signal.SIGKILL)
    mark = len(fake.calls)
    async with bot_process(fake, tmp_path / "elsewhere", **env) as second:
        await wait_until_polling(fake, mark)
        await ann.press("Large and complex")
        assert "Question 4 of 9" in ann.messages()[0].text
        await ann.press("◀ Back")
        assert "✓ Large and complex" in ann.last_message().labels
    assert not (tmp_path / "state.sqlite3").exists(), "SQLite was not used"
    log = first.stderr.decode() + second.stderr.decode()
    assert "storage schema upgraded to version 1" in log
    assert PASSWORD not in log
