"""The Bot API client on aiohttp: what python-telegram-bot's own client does, over real HTTP."""

from __future__ import annotations

import io
import os
import socket
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlencode

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from telegram import Bot, InputFile
from telegram.error import NetworkError, TimedOut

from fake_telegram import FakeTelegram
from frontends.telegram.transport import AiohttpRequest, urlencoded

os.environ.setdefault("PTB_TIMEDELTA", "1")
TOKEN = "123456:ABCdef_ghi-jkl"


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TOKEN) as server:
        yield server


def bot_for(url: str, **timeouts: float) -> Bot:
    return Bot(
        TOKEN,
        base_url=f"{url}/bot",
        base_file_url=f"{url}/file/bot",
        request=AiohttpRequest(4, **timeouts),
        get_updates_request=AiohttpRequest(1),
    )


async def test_calls_with_fields_markup_and_files_reach_the_api_as_sent(
    fake: FakeTelegram,
) -> None:
    ann = fake.user("Ann")
    await ann.send_command("start", expect_response=False)
    async with bot_for(fake.root_url) as bot:
        sent = await bot.send_message(ann.chat.id, "<b>hi</b> &amp; bye", parse_mode="HTML")
        document = InputFile(io.BytesIO(b"a,b\n1,2\n"), filename="export.csv")
        await bot.send_document(ann.chat.id, document, caption="your export")
    assert fake.message(ann.chat, sent.message_id) is not None
    assert fake.messages(ann.chat)[0].text == "hi & bye"
    [upload] = fake.uploads
    assert upload.data == b"a,b\n1,2\n" and upload.filename == "export.csv"


async def test_an_answer_slower_than_the_read_timeout_is_timed_out(fake: FakeTelegram) -> None:
    fake.stall_next("getMe", 5)
    bot = bot_for(fake.root_url, read_timeout=0.2)
    await bot.request.initialize()
    try:
        with pytest.raises(TimedOut):
            await bot.get_me()
    finally:
        await bot.request.shutdown()


async def test_a_server_that_cannot_be_reached_is_a_network_error_naming_aiohttp() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens once it is closed
    bot = bot_for(f"http://127.0.0.1:{port}")
    await bot.request.initialize()
    try:
        with pytest.raises(NetworkError, match=r"^aiohttp\.ClientConnectorError: "):
            await bot.get_me()
    finally:
        await bot.request.shutdown()


async def test_the_client_works_again_after_a_shutdown_and_refuses_calls_before_it_starts(
    fake: FakeTelegram,
) -> None:
    request = AiohttpRequest(2)
    with pytest.raises(RuntimeError, match="not initialized"):
        await request.do_request(f"{fake.base_url}{TOKEN}/getMe", "POST")
    for _ in range(2):
        await request.initialize()
        status, body = await request.do_request(f"{fake.base_url}{TOKEN}/getMe", "POST")
        assert status == 200 and b'"ok":true' in body.replace(b" ", b"")
        await request.shutdown()
    await request.shutdown()  # twice is harmless


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(min_size=1), st.text(), max_size=6))
def test_form_bodies_are_written_exactly_as_the_standard_library_writes_them(
    fields: dict[str, str],
) -> None:
    assume(all(_encodable(text) for pair in fields.items() for text in pair))
    assert urlencoded(fields) == urlencode(fields).encode("ascii")


@settings(max_examples=100, deadline=None)
@given(st.text(min_size=60, max_size=1600))
def test_a_long_text_is_written_the_same_way_every_time_it_is_sent(text: str) -> None:
    assume(_encodable(text))
    expected = urlencode({"text": text}).encode("ascii")
    assert urlencoded({"text": text}) == urlencoded({"text": text}) == expected


def test_a_message_in_every_language_reaches_the_api_exactly_as_written() -> None:
    texts = ["<b>Вопрос 3 из 8</b>\nЧто важнее?", "¿Cuánto importa? — 100% & más", "Olá, ação + é"]
    for text in texts:
        body = urlencoded({"text": text, "reply_markup": '{"inline_keyboard":[]}'})
        assert parse_qs(body.decode("ascii")) == {
            "text": [text],
            "reply_markup": ['{"inline_keyboard":[]}'],
        }


def _encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:  # lone surrogates: neither way can send them
        return False
    return True
