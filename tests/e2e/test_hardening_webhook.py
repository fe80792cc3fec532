"""End to end: the webhook server of `python bot.py` checks the secret before reading a body.

Strangers can reach a webhook; they must not be able to make the bot buffer what they send.
"""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp

from fake_telegram import FakeTelegram
from fake_telegram import updates as u
from tests.e2e.test_process import BotProcess, bot_process, free_port

SECRET = "s3cret-token"
HEADER = "X-Telegram-Bot-Api-Secret-Token"
MiB = 1024 * 1024


@asynccontextmanager
async def webhook_bot(
    fake: FakeTelegram, tmp_path: Path, **settings: str
) -> AsyncIterator[tuple[BotProcess, str]]:
    """The bot in webhook mode, registered with the fake; yields it and its webhook URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram-hook"
    async with bot_process(
        fake,
        tmp_path,
        MODE="webhook",
        WEBHOOK_URL=url,
        WEBHOOK_SECRET=SECRET,
        LISTEN="127.0.0.1",
        PORT=str(port),
        LOG_LEVEL="INFO",
        **settings,
    ) as process:
        await fake.wait_for(lambda: fake.webhook is not None, timeout=30, what="setWebhook")
        await accepting(port)
        yield process, url


async def accepting(port: int) -> None:
    """Wait until the port accepts connections (a server may register before it listens)."""
    for _ in range(100):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        writer.close()
        await writer.wait_closed()
        return
    raise AssertionError(f"nothing listens on port {port}")


async def raw_request(url: str, head: str, body: bytes = b"") -> str:
    """Send a request's head (and maybe part of a body) over a socket; the status line back."""
    host, port = url.split("/")[2].split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(head.encode() + b"\r\n" + body)
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), 5)
        return line.decode().strip()
    finally:
        writer.close()


def head(url: str, length: int, secret: str | None) -> str:
    path = "/" + url.split("/", 3)[3]
    lines = [f"POST {path} HTTP/1.1", "Host: localhost", "Content-Type: application/json"]
    lines.append(f"Content-Length: {length}")
    if secret is not None:
        lines.append(f"{HEADER}: {secret}")
    return "\r\n".join(lines) + "\r\n"


def rss_kib(pid: int, field: str) -> int:
    """VmRSS (now) or VmHWM (the peak) of a process, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for process {pid}")


async def test_a_post_without_the_secret_is_refused_before_its_body_is_sent(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    async with webhook_bot(fake, tmp_path) as (_, url):
        # Only the head of a 100 MB request: the answer must not wait for the body.
        assert await raw_request(url, head(url, 100 * MiB, None)) == "HTTP/1.1 403 Forbidden"
        assert await raw_request(url, head(url, 100 * MiB, "wrong")) == "HTTP/1.1 403 Forbidden"


async def test_a_body_over_one_mebibyte_is_refused_with_413_even_with_the_secret(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    async with webhook_bot(fake, tmp_path) as (_, url):
        status = await raw_request(url, head(url, 2 * MiB, SECRET))
        assert status == "HTTP/1.1 413 Request Entity Too Large"

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: chunked encoding
            for _ in range(3):
                yield b" " * MiB

        async with (
            aiohttp.ClientSession() as session,
            session.post(url, data=chunks(), headers={HEADER: SECRET}) as response,
        ):
            assert response.status == 413


async def test_concurrent_large_posts_without_the_secret_do_not_grow_the_bots_memory(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    async with webhook_bot(fake, tmp_path) as (process, url):
        assert process.proc is not None
        pid = process.proc.pid
        before = rss_kib(pid, "VmRSS")
        body = os.urandom(64 * 1024) * (60 * 16)  # 60 MiB

        async with aiohttp.ClientSession() as session:

            async def post() -> int:
                async with session.post(url, data=io.BytesIO(body)) as response:
                    return response.status

            statuses = await asyncio.gather(*(post() for _ in range(6)))
        assert statuses == [403] * 6
        growth_mib = (rss_kib(pid, "VmHWM") - before) / 1024
        assert growth_mib < 50, f"the bot grew by {growth_mib:.0f} MiB"


async def test_the_webhook_answers_after_the_update_was_processed(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    ann = fake.user("Ann", timeout=20)
    async with webhook_bot(fake, tmp_path):
        message = u.text_message(fake.next_message_id(ann.chat.id), ann.user, ann.chat, "/start")
        assert await fake.deliver_to_webhook(u.message_update(message)) == 200
        # No waiting: by the time the 200 arrived, the reply had been sent.
        assert [c for c in fake.calls_to("sendMessage") if c.chat_id == ann.chat.id]


async def test_the_webhook_server_answers_a_health_check(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    async with webhook_bot(fake, tmp_path) as (_, url):
        health = url.rsplit("/", 1)[0] + "/healthz"
        async with aiohttp.ClientSession() as session, session.get(health) as response:
            assert response.status == 200
            assert await response.text() == "ok"


async def test_the_webhook_is_registered_with_the_secret_and_every_update_type(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    async with webhook_bot(fake, tmp_path) as (_, url):
        assert fake.webhook is not None
        assert (fake.webhook.url, fake.webhook.secret_token) == (url, SECRET)
        assert fake.allowed_updates is not None and "callback_query" in fake.allowed_updates


async def test_a_port_already_in_use_stops_the_webhook_bot_with_one_line(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    blocker = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = blocker.sockets[0].getsockname()[1]
    process = BotProcess(
        fake,
        tmp_path,
        MODE="webhook",
        WEBHOOK_URL=f"http://127.0.0.1:{port}/hook",
        WEBHOOK_SECRET=SECRET,
        LISTEN="127.0.0.1",
        PORT=str(port),
        LOG_LEVEL="INFO",
    )
    try:
        await process.start()
        assert process.proc is not None
        _, err = await asyncio.wait_for(process.proc.communicate(), 30)
        lines = err.decode().strip().splitlines()
        assert process.proc.returncode == 2
        assert f"LISTEN/PORT: cannot listen on 127.0.0.1 port {port}" in lines[-1]
        assert not [line for line in lines if line.startswith("Traceback")]
    finally:
        blocker.close()
        await blocker.wait_closed()


async def test_a_client_that_drops_mid_body_is_logged_in_one_line_not_as_an_error(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    async with webhook_bot(fake, tmp_path) as (process, url):
        host, port = url.split("/")[2].split(":")
        _reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(head(url, 1000, SECRET).encode() + b"\r\n" + b'{"update_id": 1')
        await writer.drain()
        writer.transport.abort()  # gone before the rest of the body
        ann = fake.user("Ann", timeout=20)
        await ann.send_command("start")  # the bot serves on
        assert "Question 1 of 9" in ann.last_message().text
    log = process.stderr.decode()
    assert "closed its connection before sending the whole body" in log
    assert "Traceback" not in log and " ERROR " not in log
