"""End to end with the real entry point: `python bot.py` as a subprocess against the fake."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fake_telegram import FakeTelegram
from fake_telegram import updates as u
from tests.e2e.conftest import TOKEN, all_text

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class BotProcess:
    """`python bot.py` in its own process, with its stderr collected."""

    def __init__(self, fake: FakeTelegram, tmp_path: Path, **env: str) -> None:
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "PTB_TIMEDELTA": "1",
            "BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": fake.root_url,
            "STATE_DB": str(tmp_path / "state.sqlite3"),
            "LOG_LEVEL": "DEBUG",
            "RATE_LIMIT": "0",
            **env,
        }
        self.env_file = str(tmp_path / "no.env")
        self.stderr = b""
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "bot.py",
            "--env-file",
            self.env_file,
            cwd=ROOT,
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )

    async def stop(self, sig: int = signal.SIGTERM) -> None:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
        try:
            _, err = await asyncio.wait_for(self.proc.communicate(), timeout=15)
        except TimeoutError:
            self.proc.kill()
            _, err = await self.proc.communicate()
        self.stderr += err


@asynccontextmanager
async def bot_process(fake: FakeTelegram, tmp_path: Path, **env: str) -> AsyncIterator[BotProcess]:
    process = BotProcess(fake, tmp_path, **env)
    await process.start()
    try:
        yield process
    finally:
        await process.stop()


async def wait_until_polling(fake: FakeTelegram, since: int) -> None:
    await fake.wait_for_call("getUpdates", since=since, timeout=30)


async def test_the_bot_killed_mid_dialog_resumes_at_the_same_question(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    ann = fake.user("Ann", timeout=20)
    first = BotProcess(fake, tmp_path)
    await first.start()
    try:
        await wait_until_polling(fake, 0)
        await ann.send_command("start")
        for label in ("JavaScript", "Yes, payments or money", "Large and complex"):
            await ann.press(label)
        assert "Question 4 of 9" in ann.messages()[0].text
    finally:
        await first.stop(signal.SIGKILL)
    mark = len(fake.calls)
    async with bot_process(fake, tmp_path):
        await wait_until_polling(fake, mark)
        await ann.press("One application")
        assert "Question 5 of 9" in ann.messages()[0].text
        await ann.press("◀ Back")
        await ann.press("◀ Back")
        assert "✓ Large and complex" in ann.last_message().labels
        await ann.press("◀ Back")
        await ann.press("◀ Back")
        assert "✓ JavaScript" in ann.last_message().labels


async def test_the_token_never_appears_in_the_logs(fake: FakeTelegram, tmp_path: Path) -> None:
    ann = fake.user("Ann", timeout=20)
    async with bot_process(fake, tmp_path) as process:
        await wait_until_polling(fake, 0)
        await ann.send_command("start")
        await ann.press("Python")
        fake.fail_next("editMessageText", status=500)
        await ann.press("Only user accounts")
    log = process.stderr.decode()
    assert "getUpdates" in log or "Application started" in log  # it did log at DEBUG
    assert "delivery failed, will try again" in log
    assert TOKEN not in log
    assert TOKEN.split(":")[1] not in log


async def test_webhook_mode_serves_updates_and_refuses_a_wrong_secret(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram-hook"
    ann = fake.user("Ann", timeout=20)
    async with bot_process(
        fake,
        tmp_path,
        MODE="webhook",
        WEBHOOK_URL=url,
        WEBHOOK_SECRET="s3cret-token",
        LISTEN="127.0.0.1",
        PORT=str(port),
    ):
        await fake.wait_for(lambda: fake.webhook is not None, timeout=30, what="setWebhook")
        assert fake.webhook is not None
        assert fake.webhook.url == url
        await ann.send_command("start")
        await ann.press("Python")
        assert "Question 2 of 9" in all_text(ann)
        message = u.text_message(fake.next_message_id(ann.chat.id), ann.user, ann.chat, "x")
        update = u.message_update(message)
        assert await fake.deliver_to_webhook(update, secret="wrong") == 403
        assert await fake.deliver_to_webhook(update, secret=None) == 403
    assert not fake.internal_errors


def raw_bytes(db: Path) -> bytes:
    """Everything SQLite keeps on disk for this database: the file, its log and shared memory."""
    return b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))


async def test_after_forget_no_copy_of_the_contact_is_left_on_disk_even_after_a_sigkill(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    sales = fake.group("Sales")
    ann = fake.user("Ann", last_name="Qwzxyvuts", timeout=20)
    db = tmp_path / "state.sqlite3"
    process = BotProcess(fake, tmp_path, SALES_CHAT_ID=str(sales.id), LOG_LEVEL="INFO")
    await process.start()
    try:
        await wait_until_polling(fake, 0)
        await ann.send_command("start")
        for label in ("Python", "Nothing sensitive", "Small and simple"):
            await ann.press(label)
        await ann.send_command("restart")
        for _ in range(9):
            await ann.send_text("not sure")
        await ann.press("💬 Talk to an expert")
        await ann.press("Yes, share")
        await ann.send_text("ann.private.mailbox@example.com")
        assert "Thank you" in all_text(ann)
        assert b"ann.private.mailbox" in raw_bytes(db)
        await ann.send_command("forget")
        await ann.press("Yes, delete everything")
        assert "Everything I stored about you is deleted" in ann.last_message().text
    finally:
        await process.stop(signal.SIGKILL)
    leftovers = raw_bytes(db)
    for secret in (b"ann.private.mailbox", b"Qwzxyvuts"):
        assert secret not in leftovers, secret
    async with bot_process(fake, tmp_path, SALES_CHAT_ID=str(sales.id)):
        await wait_until_polling(fake, len(fake.calls))
    assert b"ann.private.mailbox" not in raw_bytes(db)
