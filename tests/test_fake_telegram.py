"""Tests of the fake Telegram Bot API server and its user-like client."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeChatAdministrators,
    BotCommandScopeChatMember,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Message,
    Update,
)
from telegram.error import BadRequest, InvalidToken, NetworkError, RetryAfter
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from fake_telegram import FakeTelegram, HtmlParseError, escape, parse_html, utf16_len

TOKEN = "123:ABC"
REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    """A running fake server."""
    async with FakeTelegram(TOKEN) as server:
        yield server


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    """A PTB Bot pointed at the fake."""
    async with Bot(TOKEN, base_url=fake.base_url, base_file_url=fake.base_file_url) as client:
        yield client


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain HTTP client for raw Bot API requests."""
    async with aiohttp.ClientSession() as session:
        yield session


async def call(
    http: aiohttp.ClientSession, fake: FakeTelegram, method: str, **params: Any
) -> tuple[int, dict[str, Any]]:
    """POST a form-encoded request the way PTB does (non-strings JSON-encoded)."""
    form = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
    async with http.post(f"{fake.base_url}{fake.token}/{method}", data=form) as response:
        return response.status, await response.json()


async def description_of(
    http: aiohttp.ClientSession, fake: FakeTelegram, method: str, **params: Any
) -> str:
    """The error description of a request that must fail with 400."""
    status, body = await call(http, fake, method, **params)
    assert status == 400, body
    return str(body["description"])


def keyboard(*buttons: dict[str, Any]) -> dict[str, Any]:
    """An inline keyboard with one button per row."""
    return {"inline_keyboard": [[button] for button in buttons]}


# --------------------------------------------------------------------------- HTML parse mode


def test_allowed_tags_become_entities_and_disappear_from_the_text() -> None:
    parsed = parse_html('<b>bold</b> <i>it</i> <a href="https://x.org">link</a> <code>c</code>')
    assert parsed.text == "bold it link c"
    assert [(e["type"], e["offset"], e["length"]) for e in parsed.entities] == [
        ("bold", 0, 4),
        ("italic", 5, 2),
        ("text_link", 8, 4),
        ("code", 13, 1),
    ]
    assert parsed.entities[2]["url"] == "https://x.org"


def test_entity_offsets_are_counted_in_utf16_code_units() -> None:
    parsed = parse_html("😀 <b>é😀</b>")
    assert parsed.entities == [{"type": "bold", "offset": 3, "length": 3}]
    assert utf16_len("😀") == 2


def test_every_supported_tag_is_accepted() -> None:
    text = (
        "<strong>a</strong><em>b</em><u>c</u><ins>d</ins><s>e</s><strike>f</strike><del>g</del>"
        '<span class="tg-spoiler">h</span><tg-spoiler>i</tg-spoiler>'
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>'
        "<pre>j</pre><blockquote>k</blockquote><blockquote expandable>l</blockquote>"
    )
    types = [e["type"] for e in parse_html(text).entities]
    assert types == [
        "bold",
        "italic",
        "underline",
        "underline",
        "strikethrough",
        "strikethrough",
        "strikethrough",
        "spoiler",
        "spoiler",
        "custom_emoji",
        "pre",
        "blockquote",
        "expandable_blockquote",
    ]


def test_pre_with_a_language_code_block_becomes_one_pre_entity_with_that_language() -> None:
    parsed = parse_html('<pre><code class="language-python">print(1)</code></pre>')
    assert parsed.entities == [{"type": "pre", "offset": 0, "length": 8, "language": "python"}]


def test_an_unsupported_tag_is_rejected_with_its_byte_offset() -> None:
    with pytest.raises(HtmlParseError) as error:
        parse_html("Привет <div>x</div>")
    assert str(error.value) == 'Unsupported start tag "div" at byte offset 13'
    assert error.value.description.startswith("Bad Request: can't parse entities: ")


@pytest.mark.parametrize(
    ("html", "message"),
    [
        ("<b>never closed", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b", "Unclosed start tag at byte offset 0"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("<a>x</a>", 'Tag "a" must have a non-empty attribute "href" at byte offset 0'),
        ("<br>", 'Unsupported start tag "br" at byte offset 0'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("Q&A", 'Character "&" must be escaped as "&amp;" at byte offset 1'),
        ("&nbsp;", 'Character "&" must be escaped as "&amp;" at byte offset 0'),
    ],
)
def test_invalid_html_is_rejected_with_telegrams_wording(html: str, message: str) -> None:
    with pytest.raises(HtmlParseError) as error:
        parse_html(html)
    assert str(error.value) == message


def test_named_and_numeric_entities_are_decoded() -> None:
    assert parse_html("&lt;&gt;&amp;&quot;&#39;&#x1F600;").text == "<>&\"'😀"


def test_a_bare_ampersand_is_accepted_when_strictness_is_relaxed_like_real_telegram() -> None:
    assert parse_html("Q&A", strict_ampersand=False).text == "Q&A"


@given(st.text())
def test_any_escaped_text_parses_back_to_itself(text: str) -> None:
    assert parse_html(escape(text)).text == text


# --------------------------------------------------------------------------- transport


async def test_a_wrong_token_is_unauthorized_and_a_malformed_one_not_found(
    fake: FakeTelegram, http: aiohttp.ClientSession
) -> None:
    async with http.post(f"{fake.root_url}/bot123:WRONG/getMe") as response:
        assert (response.status, (await response.json())["description"]) == (401, "Unauthorized")
    async with http.post(f"{fake.root_url}/botnonsense/getMe") as response:
        assert response.status == 404


async def test_an_unknown_method_is_not_found(
    fake: FakeTelegram, http: aiohttp.ClientSession
) -> None:
    status, body = await call(http, fake, "sendTelepathy", chat_id=1)
    assert (status, body["description"]) == (404, "Not Found")


async def test_method_names_are_case_insensitive(
    fake: FakeTelegram, http: aiohttp.ClientSession
) -> None:
    status, body = await call(http, fake, "GETME")
    assert status == 200 and body["result"]["username"] == "stack_advisor_test_bot"
    assert fake.calls[-1].method == "getMe"


async def test_json_bodies_are_accepted_like_form_data(
    fake: FakeTelegram, http: aiohttp.ClientSession
) -> None:
    ann = fake.user("Ann")
    payload = {
        "chat_id": ann.chat.id,
        "text": "hi",
        "reply_markup": keyboard({"text": "A", "callback_data": "a"}),
    }
    async with http.post(f"{fake.base_url}{fake.token}/sendMessage", json=payload) as response:
        assert response.status == 200
    assert ann.last_message().buttons == [["A"]]


async def test_calls_are_recorded_with_decoded_parameters(
    fake: FakeTelegram, http: aiohttp.ClientSession
) -> None:
    ann = fake.user("Ann")
    markup = keyboard({"text": "A", "callback_data": "a"})
    await call(http, fake, "sendMessage", chat_id=ann.chat.id, text="hi", reply_markup=markup)
    recorded = fake.calls_to("sendMessage")[-1]
    assert recorded.params == {"chat_id": ann.chat.id, "text": "hi", "reply_markup": markup}
    assert recorded.ok and recorded.result["message_id"] == 1


# --------------------------------------------------------------------------- limits


async def test_a_message_that_is_empty_after_entity_parsing_is_rejected(
    fake: FakeTelegram, http: aiohttp.ClientSession
) -> None:
    chat_id = fake.user().chat.id
    for text in ("", "   ", "<b> </b>"):
        description = await description_of(
            http, fake, "sendMessage", chat_id=chat_id, text=text, parse_mode="HTML"
        )
        assert description == "Bad Request: message text is empty"


async def test_message_length_is_limited_to_4096_utf16_units_of_visible_text(
    fake: FakeTelegram, http: aiohttp.ClientSession
) -> None:
    chat_id = fake.user().chat.id
    fits = "<b>" + "a" * 4096 + "</b>"
    status, _ = await call(http, fake, "sendMessage", chat_id=chat_id, text=fits, parse_mode="HTML")
    assert status == 200
    too_long = "😀" * 2049
    description = await description_of(http, fake, "sendMessage", chat_id=chat_id, text=too_long)
    assert description == "Bad Request: message is too long"


async def test_invalid_html_in_a_message_is_a_bad_request(
    fake: FakeTelegram, http: aiohttp.ClientSession
) -> None:
    chat_id = fake.user().chat.id
    description = await description_of(
        http, fake, "sendMessage", chat_id=chat_id, text="<div>x</div>", parse_mode="HTML"
    )
    assert description.startswith("Bad Request: can't parse entities: Unsupported start tag")


async def test_a_caption_longer_than_1024_characters_is_rejected(
    fake: FakeTelegram, http: aiohttp.ClientSession
) -> None:
    chat_id = fake.user().chat.id
    data = aiohttp.FormData()
    data.add_field("chat_id", str(chat_id))
    data.add_field("caption", "c" * 1025)
    data.add_field("document", b"x", filename="x.txt")
    async with http.post(f"{fake.base_url}{fake.token}/sendDocument", data=data) as response:
        body = await response.json()
    assert body["description"] == "Bad Request: message caption is too long"


async def test_callback_data_must_be_1_to_64_bytes(
    fake: FakeTelegram, http: aiohttp.ClientSession
) -> None:
    chat_id = fake.user().chat.id
    ok = keyboard({"text": "ok", "callback_data": "я" * 32})
    status, _ = await call(http, fake, "sendMessage", chat_id=chat_id, text="t", reply_markup=ok)
    assert status == 200
    for data in ("я" * 33, ""):
        markup = keyboard({"text": "bad", "callback_data": data})
        description = await description_of(
            http, fake, "sendMessage", chat_id=chat_id, text="t", reply_markup=markup
        )
        assert description == "Bad Request: BUTTON_DATA_INVALID"


async def test_a_mini_app_button_needs_an_https_page_and_a_private_chat(
    fake: FakeTelegram, http: aiohttp.ClientSession
) -> None:
    private, group = fake.user().chat.id, fake.group().id
    app = keyboard({"text": "Open", "web_app": {"url": "https://advisor.example/app"}})
    status, body = await call(
        http, fake, "sendMessage", chat_id=private, text="t", reply_markup=app
    )
    assert status == 200, body
    plain = keyboard({"text": "Open", "web_app": {"url": "http://advisor.example/app"}})
    refused = await description_of(
        http, fake, "sendMessage", chat_id=private, text="t", reply_markup=plain
    )
    assert refused == "Bad Request: BUTTON_URL_INVALID"
    in_group = await description_of(
        http, fake, "sendMessage", chat_id=group, text="t", reply_markup=app
    )
    assert in_group == "Bad Request: BUTTON_TYPE_INVALID"


@pytest.mark.parametrize(
    ("button", "expected"),
    [
        ({"text": "x"}, "Text buttons are unallowed in the inline keyboard"),
        ({"text": "x", "url": "https://a.io", "callback_data": "a"}, "exactly one action field"),
        ({"text": "x", "url": "not a url"}, "inline keyboard button URL 'not a url' is invalid"),
        ({"text": "", "callback_data": "a"}, "BUTTON_TEXT_INVALID"),
        ({"callback_data": "a"}, 'Can\'t find field "text"'),
    ],
)
async def test_invalid_inline_buttons_are_rejected(
    fake: FakeTelegram, http: aiohttp.ClientSession, button: dict[str, Any], expected: str
) -> None:
    chat_id = fake.user().chat.id
    description = await description_of(
        http, fake, "sendMessage", chat_id=chat_id, text="t", reply_markup=keyboard(button)
    )
    assert expected in description


async def test_url_buttons_accept_http_and_tg_links(
    fake: FakeTelegram, http: aiohttp.ClientSession
) -> None:
    chat_id = fake.user().chat.id
    markup = keyboard(
        {"text": "site", "url": "https://www.djangoproject.com/start/"},
        {"text": "bot", "url": "https://t.me/stack_advisor_test_bot?start=abc"},
        {"text": "user", "url": "tg://user?id=1"},
    )
    status, body = await call(
        http, fake, "sendMessage", chat_id=chat_id, text="t", reply_markup=markup
    )
    assert status == 200, body


async def test_a_callback_answer_longer_than_200_characters_is_rejected(
    fake: FakeTelegram, http: aiohttp.ClientSession
) -> None:
    query = fake.add_update(
        {
            "callback_query": {
                "id": "q1",
                "from": {"id": 1, "is_bot": False, "first_name": "A"},
                "chat_instance": "c",
                "data": "d",
            }
        }
    )
    assert query["update_id"] == 1
    description = await description_of(
        http, fake, "answerCallbackQuery", callback_query_id="q1", text="x" * 201
    )
    assert description == "Bad Request: MESSAGE_TOO_LONG"


async def test_sending_to_an_unknown_chat_is_rejected(
    fake: FakeTelegram, http: aiohttp.ClientSession
) -> None:
    description = await description_of(http, fake, "sendMessage", chat_id=42, text="hi")
    assert description == "Bad Request: chat not found"


async def test_sending_to_a_user_who_blocked_the_bot_is_forbidden(
    fake: FakeTelegram, http: aiohttp.ClientSession
) -> None:
    ann = fake.user("Ann")
    ann.block_bot()
    status, body = await call(http, fake, "sendMessage", chat_id=ann.chat.id, text="hi")
    assert (status, body["description"]) == (403, "Forbidden: bot was blocked by the user")


# --------------------------------------------------------------------------- edits and queries


async def test_editing_a_message_to_the_same_text_is_rejected_as_not_modified(
    fake: FakeTelegram, http: aiohttp.ClientSession
) -> None:
    chat_id = fake.user().chat.id
    markup = keyboard({"text": "A", "callback_data": "a"})
    sent = {"chat_id": chat_id, "text": "<b>Hi</b>", "parse_mode": "HTML", "reply_markup": markup}
    await call(http, fake, "sendMessage", **sent)
    same = {**sent, "text": "<strong>Hi</strong>"}
    description = await description_of(http, fake, "editMessageText", message_id=1, **same)
    assert description.startswith("Bad Request: message is not modified: specified new message")


async def test_editing_only_the_keyboard_or_the_formatting_is_a_modification(
    fake: FakeTelegram, http: aiohttp.ClientSession
) -> None:
    chat_id = fake.user().chat.id
    await call(http, fake, "sendMessage", chat_id=chat_id, text="Hi")
    markup = keyboard({"text": "A", "callback_data": "a"})
    status, _ = await call(
        http, fake, "editMessageText", chat_id=chat_id, message_id=1, text="Hi", reply_markup=markup
    )
    assert status == 200
    status, _ = await call(
        http,
        fake,
        "editMessageText",
        chat_id=chat_id,
        message_id=1,
        text="<b>Hi</b>",
        parse_mode="HTML",
    )
    assert status == 200
    assert fake.messages(chat_id)[0].reply_markup is None, "an edit without markup removes it"


async def test_editing_a_message_that_does_not_exist_is_rejected(
    fake: FakeTelegram, http: aiohttp.ClientSession
) -> None:
    chat_id = fake.user().chat.id
    description = await description_of(
        http, fake, "editMessageText", chat_id=chat_id, message_id=7, text="x"
    )
    assert description == "Bad Request: message to edit not found"


async def test_editing_the_keyboard_to_the_same_keyboard_is_not_modified(
    fake: FakeTelegram, http: aiohttp.ClientSession
) -> None:
    chat_id = fake.user().chat.id
    markup = keyboard({"text": "A", "callback_data": "a"})
    await call(http, fake, "sendMessage", chat_id=chat_id, text="Hi", reply_markup=markup)
    description = await description_of(
        http, fake, "editMessageReplyMarkup", chat_id=chat_id, message_id=1, reply_markup=markup
    )
    assert description.startswith("Bad Request: message is not modified")


async def test_deleted_messages_disappear_and_cannot_be_deleted_twice(
    fake: FakeTelegram, http: aiohttp.ClientSession
) -> None:
    chat_id = fake.user().chat.id
    await call(http, fake, "sendMessage", chat_id=chat_id, text="one")
    await call(http, fake, "sendMessage", chat_id=chat_id, text="two")
    status, _ = await call(http, fake, "deleteMessage", chat_id=chat_id, message_id=1)
    assert status == 200
    assert [m.text for m in fake.messages(chat_id)] == ["two"]
    description = await description_of(http, fake, "deleteMessage", chat_id=chat_id, message_id=1)
    assert description == "Bad Request: message to delete not found"


async def test_delete_messages_skips_ids_that_cannot_be_deleted(
    fake: FakeTelegram, http: aiohttp.ClientSession
) -> None:
    chat_id = fake.user().chat.id
    for text in ("one", "two", "three"):
        await call(http, fake, "sendMessage", chat_id=chat_id, text=text)
    status, _ = await call(http, fake, "deleteMessages", chat_id=chat_id, message_ids=[1, 3, 99])
    assert status == 200
    assert [m.text for m in fake.messages(chat_id)] == ["two"]


async def test_answering_a_callback_query_twice_is_rejected_as_too_old(
    fake: FakeTelegram, http: aiohttp.ClientSession
) -> None:
    chat_id = fake.user().chat.id
    await call(
        http,
        fake,
        "sendMessage",
        chat_id=chat_id,
        text="t",
        reply_markup=keyboard({"text": "A", "callback_data": "a"}),
    )
    ann_update = fake.add_update(
        {
            "callback_query": {
                "id": "77",
                "from": {"id": chat_id, "is_bot": False, "first_name": "Ann"},
                "message": fake.message_object(chat_id, 1),
                "chat_instance": "x",
                "data": "a",
            }
        }
    )
    assert [q["id"] for q in fake.unanswered_callback_queries()] == [
        ann_update["callback_query"]["id"]
    ]
    status, _ = await call(http, fake, "answerCallbackQuery", callback_query_id="77")
    assert status == 200 and fake.unanswered_callback_queries() == []
    for query_id in ("77", "does-not-exist"):
        description = await description_of(
            http, fake, "answerCallbackQuery", callback_query_id=query_id
        )
        assert description == (
            "Bad Request: query is too old and response timeout expired or query ID is invalid"
        )


def article(result_id: str, text: str = "hi", **extra: Any) -> dict[str, Any]:
    """An inline article result."""
    content = {"message_text": text, "parse_mode": "HTML"}
    return {
        "type": "article",
        "id": result_id,
        "title": "T",
        "input_message_content": content,
        **extra,
    }


@pytest.mark.parametrize(
    ("results", "expected"),
    [
        ([article("1"), article("1")], "Bad Request: RESULT_ID_DUPLICATE"),
        ([article("x" * 65)], "Bad Request: RESULT_ID_INVALID"),
        ([article(str(i)) for i in range(51)], "Bad Request: RESULTS_TOO_MUCH"),
        (
            [{"type": "article", "id": "1", "input_message_content": {"message_text": "x"}}],
            'Can\'t find field "title"',
        ),
        (
            [{"type": "article", "id": "1", "title": "T"}],
            'Can\'t find field "input_message_content"',
        ),
        ([article("1", "<div>x</div>")], "Bad Request: can't parse entities"),
        ([article("1", "x" * 4097)], "Bad Request: message is too long"),
    ],
)
async def test_inline_query_results_are_validated(
    fake: FakeTelegram, http: aiohttp.ClientSession, results: list[Any], expected: str
) -> None:
    ann = fake.user("Ann")
    fake.add_update(
        {"inline_query": {"id": "iq", "from": ann.user.to_api(), "query": "", "offset": ""}}
    )
    description = await description_of(
        http, fake, "answerInlineQuery", inline_query_id="iq", results=results
    )
    assert expected in description


# --------------------------------------------------------------------------- getUpdates


async def test_get_updates_returns_updates_until_an_offset_confirms_them(
    fake: FakeTelegram, http: aiohttp.ClientSession
) -> None:
    for text in ("one", "two", "three"):
        fake.add_update(
            {
                "message": {
                    "message_id": 1,
                    "date": 0,
                    "chat": {"id": 5, "type": "private"},
                    "text": text,
                }
            }
        )
    _, body = await call(http, fake, "getUpdates")
    assert [u["update_id"] for u in body["result"]] == [1, 2, 3]
    _, body = await call(http, fake, "getUpdates", offset=3, limit=5)
    assert [u["update_id"] for u in body["result"]] == [3]
    _, body = await call(http, fake, "getUpdates", offset=4)
    assert body["result"] == []


async def test_get_updates_honours_limit_negative_offset_and_allowed_updates(
    fake: FakeTelegram, http: aiohttp.ClientSession
) -> None:
    chat = {"id": 5, "type": "private"}
    for index in range(4):
        fake.add_update({"message": {"message_id": index, "date": 0, "chat": chat, "text": "x"}})
    fake.add_update(
        {
            "inline_query": {
                "id": "q",
                "from": {"id": 5, "is_bot": False, "first_name": "A"},
                "query": "",
                "offset": "",
            }
        }
    )
    _, body = await call(http, fake, "getUpdates", limit=2)
    assert [u["update_id"] for u in body["result"]] == [1, 2]
    _, body = await call(http, fake, "getUpdates", offset=-2)
    assert [u["update_id"] for u in body["result"]] == [4, 5]
    _, body = await call(http, fake, "getUpdates", allowed_updates=["inline_query"])
    assert [u["update_id"] for u in body["result"]] == [5]


async def test_a_long_poll_returns_as_soon_as_an_update_arrives(
    fake: FakeTelegram, http: aiohttp.ClientSession
) -> None:
    poll = asyncio.create_task(call(http, fake, "getUpdates", timeout=5))
    await asyncio.sleep(0.05)
    assert not poll.done()
    fake.add_update(
        {"message": {"message_id": 1, "date": 0, "chat": {"id": 5, "type": "private"}, "text": "x"}}
    )
    _, body = await asyncio.wait_for(poll, 1)
    assert [u["update_id"] for u in body["result"]] == [1]


async def test_a_long_poll_without_updates_returns_an_empty_list_after_its_timeout(
    fake: FakeTelegram, http: aiohttp.ClientSession
) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    status, body = await call(http, fake, "getUpdates", timeout=0.2)
    assert (status, body["result"]) == (200, [])
    assert 0.15 <= loop.time() - started < 1


async def test_a_second_get_updates_terminates_the_first_with_a_conflict(
    fake: FakeTelegram, http: aiohttp.ClientSession
) -> None:
    first = asyncio.create_task(call(http, fake, "getUpdates", timeout=5))
    await asyncio.sleep(0.05)
    await call(http, fake, "getUpdates")
    status, body = await asyncio.wait_for(first, 1)
    assert status == 409 and "terminated by other getUpdates request" in body["description"]


async def test_stopping_the_server_ends_a_long_poll_promptly(http: aiohttp.ClientSession) -> None:
    server = FakeTelegram(TOKEN)
    await server.start()
    poll = asyncio.create_task(call(http, server, "getUpdates", timeout=30))
    await asyncio.sleep(0.05)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await server.stop()
    assert loop.time() - started < 1.5
    assert (await poll)[1]["result"] == []


# --------------------------------------------------------------------------- faults


async def test_an_injected_429_carries_retry_after_and_then_the_method_works(
    fake: FakeTelegram, bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without this opt-in PTB 22 warns (an error here) whenever it builds a RetryAfter.
    monkeypatch.setenv("PTB_TIMEDELTA", "1")
    chat_id = fake.user().chat.id
    fake.fail_next("sendMessage", status=429, retry_after=3, times=2)
    for _ in range(2):
        with pytest.raises(RetryAfter) as error:
            await bot.send_message(chat_id, "hi")
        assert error.value.retry_after == dt.timedelta(seconds=3)
    await bot.send_message(chat_id, "hi")
    assert [c.status for c in fake.calls_to("sendMessage")] == [429, 429, 200]


async def test_an_injected_500_is_a_network_error_for_ptb(fake: FakeTelegram, bot: Bot) -> None:
    fake.fail_next("getMe", status=500)
    with pytest.raises(NetworkError):
        await bot.get_me()
    assert (await bot.get_me()).username == "stack_advisor_test_bot"


async def test_a_stalled_method_answers_late(fake: FakeTelegram, bot: Bot) -> None:
    fake.stall_next("getMe", 0.2)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await bot.get_me()
    assert loop.time() - started >= 0.2
    call = fake.calls_to("getMe")[-1]
    assert call.finished_at - call.time >= 0.2


def test_faults_for_methods_the_fake_lacks_are_refused() -> None:
    with pytest.raises(ValueError, match="does not implement"):
        FakeTelegram().fail_next("sendTelepathy")


# --------------------------------------------------------------------------- webhooks


@asynccontextmanager
async def webhook_receiver(secret: str | None) -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """A tiny webhook endpoint that checks the secret header like PTB's does."""
    received: list[dict[str, Any]] = []

    async def handle(request: web.Request) -> web.Response:
        if secret is not None and request.headers.get("X-Telegram-Bot-Api-Secret-Token") != secret:
            return web.Response(status=403)
        received.append(await request.json())
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/hook", received
    finally:
        await runner.cleanup()


def message_update(text: str) -> dict[str, Any]:
    """A minimal message update."""
    return {
        "message": {"message_id": 1, "date": 0, "chat": {"id": 5, "type": "private"}, "text": text}
    }


async def test_a_webhook_receives_new_updates_with_the_secret_header(
    fake: FakeTelegram, bot: Bot
) -> None:
    async with webhook_receiver("s3cret") as (url, received):
        assert await bot.set_webhook(url, secret_token="s3cret")
        fake.add_update(message_update("hi"))
        await fake.wait_for(lambda: len(received) == 1, timeout=2)
        assert received[0]["message"]["text"] == "hi"
        assert (await bot.get_webhook_info()).pending_update_count == 0
        assert await fake.deliver_to_webhook(message_update("x"), secret="wrong") == 403
        assert await fake.deliver_to_webhook(message_update("x"), secret=None) == 403
        assert await fake.deliver_to_webhook(message_update("x")) == 200


async def test_get_updates_is_a_conflict_while_a_webhook_is_set(
    fake: FakeTelegram, bot: Bot, http: aiohttp.ClientSession
) -> None:
    await bot.set_webhook("http://127.0.0.1:9/hook")
    status, body = await call(http, fake, "getUpdates")
    assert status == 409 and "webhook is active" in body["description"]


async def test_updates_go_back_to_get_updates_after_the_webhook_is_deleted(
    fake: FakeTelegram, bot: Bot
) -> None:
    async with webhook_receiver(None) as (url, received):
        await bot.set_webhook(url)
        await bot.delete_webhook()
        fake.add_update(message_update("hi"))
        updates = await bot.get_updates(timeout=1)
        assert [u.message.text for u in updates if u.message] == ["hi"]
        assert received == []


async def test_failed_webhook_deliveries_are_retried_and_reported() -> None:
    async with (
        FakeTelegram(TOKEN, webhook_retry_delay=0.02) as server,
        Bot(TOKEN, base_url=server.base_url) as client,
        webhook_receiver("right") as (url, received),
    ):
        await client.set_webhook(url, secret_token="wrong")
        server.add_update(message_update("hi"))
        await server.wait_for(lambda: len(server.webhook_deliveries) >= 2, timeout=2)
        info = await client.get_webhook_info()
        assert info.pending_update_count == 1
        assert info.last_error_message == "Wrong response from the webhook: 403 Forbidden"
        await client.set_webhook(url, secret_token="right")
        await server.wait_for(lambda: len(received) == 1, timeout=2)


@asynccontextmanager
async def instances(
    count: int, answer: Any = None
) -> AsyncIterator[tuple[list[str], list[list[int]]]]:
    """``count`` webhook endpoints behind one balancer; each records the update ids it got.

    ``answer(index, update_id)`` (async) may delay and returns the HTTP status (200 if None).
    """
    got: list[list[int]] = [[] for _ in range(count)]
    runners: list[web.AppRunner] = []
    urls: list[str] = []
    for index in range(count):

        async def handle(request: web.Request, index: int = index) -> web.Response:
            update_id = (await request.json())["update_id"]
            status = 200 if answer is None else await answer(index, update_id)
            if status == 200:
                got[index].append(update_id)
            return web.Response(status=status)

        app = web.Application()
        app.router.add_post("/hook", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        runners.append(runner)
        urls.append(f"http://127.0.0.1:{runner.addresses[0][1]}/hook")
    try:
        yield urls, got
    finally:
        for runner in runners:
            await runner.cleanup()


def refused_url() -> str:
    """A URL nothing listens on (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"


async def test_a_balanced_webhook_sends_updates_round_robin_to_every_instance(
    fake: FakeTelegram, bot: Bot
) -> None:
    async with instances(3) as (urls, got):
        await bot.set_webhook("http://balancer.example:8443/hook")
        fake.balance_webhook(urls)
        for n in range(6):
            fake.add_update(message_update(f"m{n}"))
        await fake.wait_for(lambda: sum(map(len, got)) == 6, timeout=5)
        assert [len(ids) for ids in got] == [2, 2, 2]
        assert sorted(i for ids in got for i in ids) == list(range(1, 7))
        assert (await bot.get_webhook_info()).pending_update_count == 0


async def test_a_balanced_webhook_has_at_most_max_connections_deliveries_in_flight(
    fake: FakeTelegram, bot: Bot
) -> None:
    in_flight, most = 0, 0
    release = asyncio.Event()

    async def slow(index: int, update_id: int) -> int:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await release.wait()
        in_flight -= 1
        return 200

    async with instances(2, slow) as (urls, got):
        await bot.set_webhook("http://balancer.example:8443/hook", max_connections=3)
        fake.balance_webhook(urls)
        for n in range(10):
            fake.add_update(message_update(f"m{n}"))
        await fake.wait_for(lambda: in_flight == 3, timeout=5)
        await asyncio.sleep(0.2)
        assert (in_flight, most) == (3, 3)  # concurrent, and never more than allowed
        release.set()
        await fake.wait_for(lambda: sum(map(len, got)) == 10, timeout=5)
        assert most == 3


async def test_an_update_a_balanced_instance_failed_is_delivered_again_to_the_next() -> None:
    failed: list[int] = []

    async def error_once(index: int, update_id: int) -> int:
        if index == 0 and update_id not in failed:
            failed.append(update_id)
            return 500
        return 200

    async with (
        FakeTelegram(TOKEN, webhook_retry_delay=0.05) as server,
        Bot(TOKEN, base_url=server.base_url) as client,
        instances(2, error_once) as ([erring, healthy], got),
    ):
        await client.set_webhook("http://balancer.example:8443/hook", secret_token="s")
        server.balance_webhook([erring, refused_url(), healthy])
        for n in range(6):
            server.add_update(message_update(f"m{n}"))
        await server.wait_for(lambda: sum(map(len, got)) == 6, timeout=10)
        delivered = sorted(i for ids in got for i in ids)
        assert delivered == list(range(1, 7))  # each acknowledged exactly once
        errors = {d.error for d in server.webhook_deliveries if d.error}
        assert errors == {
            "Wrong response from the webhook: 500 Internal Server Error",
            "Connection failed: ClientConnectorError",
        }
        retried = [d for d in server.webhook_deliveries if d.update_id == failed[0]]
        assert [d.status for d in retried][:1] == [500]
        assert retried[-1].status == 200
        assert retried[-1].time - retried[0].time >= 0.05  # after the retry delay
        assert (await client.get_webhook_info()).pending_update_count == 0


async def test_an_empty_balance_goes_back_to_the_webhooks_own_url(
    fake: FakeTelegram, bot: Bot
) -> None:
    async with instances(1) as ([other], got), webhook_receiver(None) as (url, received):
        await bot.set_webhook(url)
        fake.balance_webhook([other])
        fake.add_update(message_update("balanced"))
        await fake.wait_for(lambda: len(got[0]) == 1, timeout=5)
        fake.balance_webhook([])
        fake.add_update(message_update("direct"))
        await fake.wait_for(lambda: len(received) == 1, timeout=5)
        assert received[0]["message"]["text"] == "direct"


# --------------------------------------------------------------------------- PTB round trips


async def test_ptb_round_trip_of_get_me_send_message_and_edit(fake: FakeTelegram, bot: Bot) -> None:
    chat_id = fake.user("Ann").chat.id
    me = await bot.get_me()
    assert me.is_bot and me.username == "stack_advisor_test_bot" and me.supports_inline_queries
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Django", callback_data="pick:django")]])
    sent = await bot.send_message(
        chat_id, "<b>Pick</b> one", parse_mode="HTML", reply_markup=markup
    )
    assert sent.text == "Pick one" and sent.reply_markup == markup
    assert sent.entities[0].type == "bold"
    edited = await bot.edit_message_text(
        "Picked <i>Django</i>", chat_id, sent.message_id, parse_mode="HTML"
    )
    assert isinstance(edited, Message)
    assert edited.text == "Picked Django" and edited.edit_date is not None
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text(
            "Picked <i>Django</i>", chat_id, sent.message_id, parse_mode="HTML"
        )
    stored = fake.messages(chat_id)[0]
    assert (stored.html, stored.reply_markup) == ("Picked <i>Django</i>", None)


async def test_ptb_raises_invalid_token_for_a_wrong_token(fake: FakeTelegram) -> None:
    with pytest.raises(InvalidToken):
        async with Bot("123:WRONG", base_url=fake.base_url):
            pass


async def test_uploaded_files_are_stored_and_downloadable(fake: FakeTelegram, bot: Bot) -> None:
    from fake_telegram.updates import make_png

    chat_id = fake.user().chat.id
    sent = await bot.send_document(chat_id, b"report", filename="report.txt", caption="Report")
    document = sent.document
    assert document is not None
    photo = await bot.send_photo(chat_id, make_png(40, 30))
    assert next((f.kind, f.filename, f.data) for f in fake.uploads) == (
        "document",
        "report.txt",
        b"report",
    )
    assert photo.photo[-1].width == 40 and photo.photo[-1].height == 30
    assert bytes(await (await document.get_file()).download_as_bytearray()) == b"report"
    with pytest.raises(BadRequest, match="Image_process_failed"):
        await bot.send_photo(chat_id, b"not an image")
    again = await bot.send_document(chat_id, document.file_id)
    assert again.document is not None and again.document.file_id == document.file_id


async def test_commands_round_trip_per_scope(fake: FakeTelegram, bot: Bot) -> None:
    await bot.set_my_commands([BotCommand("start", "Start over"), BotCommand("help", "Help")])
    assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
    assert fake.commands() == [
        {"command": "start", "description": "Start over"},
        {"command": "help", "description": "Help"},
    ]
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Start", "Uppercase is invalid")])
    await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()


async def test_a_chat_scope_keeps_its_own_commands_apart_from_the_default(
    fake: FakeTelegram, bot: Bot
) -> None:
    ann = fake.user("Ann")
    await bot.set_my_commands([BotCommand("start", "Start")])
    scope = BotCommandScopeChat(ann.user.id)
    await bot.set_my_commands(
        [BotCommand("start", "Start"), BotCommand("stats", "Stats")], scope=scope
    )
    assert [c.command for c in await bot.get_my_commands(scope=scope)] == ["start", "stats"]
    assert [c["command"] for c in fake.commands({"type": "chat", "chat_id": ann.user.id})] == [
        "start",
        "stats",
    ]
    assert [c.command for c in await bot.get_my_commands()] == ["start"]
    await bot.set_my_commands([BotCommand("help", "Ayuda")], scope=scope, language_code="es")
    assert fake.commands({"type": "chat", "chat_id": ann.user.id}, "es") == [
        {"command": "help", "description": "Ayuda"}
    ]


async def test_a_chat_scope_for_a_chat_the_bot_does_not_know_is_refused(
    fake: FakeTelegram, bot: Bot
) -> None:
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.set_my_commands([BotCommand("start", "Start")], scope=BotCommandScopeChat(999))
    private = fake.user("Ann").chat.id
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.set_my_commands(
            [BotCommand("start", "Start")], scope=BotCommandScopeChatAdministrators(private)
        )
    with pytest.raises(BadRequest, match="parse botcommandscope json"):
        await bot.set_my_commands(
            [BotCommand("start", "Start")], api_kwargs={"scope": {"type": "chat"}}
        )
    with pytest.raises(BadRequest, match="parse botcommandscope json"):
        await bot.set_my_commands(
            [BotCommand("start", "Start")], api_kwargs={"scope": {"type": "everyone"}}
        )
    assert fake.commands({"type": "chat", "chat_id": 999}) == []


async def test_a_group_members_scope_needs_a_known_user(fake: FakeTelegram, bot: Bot) -> None:
    group = fake.group("Team")
    ann = fake.user("Ann", chat=group)
    await bot.set_my_commands(
        [BotCommand("start", "Start")], scope=BotCommandScopeChatMember(group.id, ann.user.id)
    )
    assert fake.commands({"type": "chat_member", "chat_id": group.id, "user_id": ann.user.id})
    with pytest.raises(BadRequest, match="User not found"):
        await bot.set_my_commands(
            [BotCommand("start", "Start")], scope=BotCommandScopeChatMember(group.id, 5)
        )


async def test_get_chat_returns_full_info_ptb_can_parse(fake: FakeTelegram, bot: Bot) -> None:
    group = fake.group("Team")
    chat = await bot.get_chat(group.id)
    assert (chat.type, chat.title) == ("group", "Team")


# --------------------------------------------------------------------------- BotUser


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start [payload]: greet with two buttons."""
    assert update.effective_message is not None
    payload = " ".join(context.args or [])
    markup = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("Python", callback_data="lang:python")],
            [InlineKeyboardButton("Docs", url="https://docs.python.org")],
        ]
    )
    await update.effective_message.reply_html(
        f"Hi! <b>{escape(payload or 'no payload')}</b>", reply_markup=markup
    )


async def choose(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A language button: answer and edit the message."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    if query.data.startswith("lang:"):
        await query.edit_message_text(f"You picked {query.data.removeprefix('lang:')}")
    else:
        await query.edit_message_text("That button is stale")


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Echo text; ignore 'silence'."""
    assert update.effective_message is not None and update.effective_message.text is not None
    if update.effective_message.text != "silence":
        await update.effective_chat.send_action("typing")  # type: ignore[union-attr]
        await update.effective_message.reply_text(update.effective_message.text.upper())


async def sticker(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Reply to non-text messages with their kind."""
    message = update.effective_message
    assert message is not None
    kind = "contact" if message.contact else "location" if message.location else "other"
    await message.reply_text(f"got {kind}")


async def edited(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Acknowledge an edited message."""
    message = update.edited_message
    assert message is not None
    await message.reply_text(f"You edited it to {message.text}")


async def inline(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer inline queries with one article."""
    assert update.inline_query is not None
    text = update.inline_query.query or "empty"
    result = InlineQueryResultArticle("1", text, InputTextMessageContent(text))
    await update.inline_query.answer([result])


@asynccontextmanager
async def running_bot(
    fake: FakeTelegram,
) -> AsyncIterator[Application[Any, Any, Any, Any, Any, Any]]:
    """A small PTB application polling the fake."""
    app = (
        Application.builder()
        .token(fake.token)
        .base_url(fake.base_url)
        .base_file_url(fake.base_file_url)
        .build()
    )
    app.add_handler(MessageHandler(filters.UpdateType.EDITED_MESSAGE, edited))
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(choose))
    app.add_handler(InlineQueryHandler(inline))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    app.add_handler(MessageHandler(~filters.TEXT, sticker))
    async with app:
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        await app.start()
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()


async def test_a_user_sends_a_deep_link_start_and_reads_the_reply(fake: FakeTelegram) -> None:
    async with running_bot(fake):
        ann = fake.user("Ann")
        calls = await ann.send_command("start", payload="from_site")
        reply = ann.last_message()
    assert [c.method for c in calls] == ["sendMessage"]
    assert reply.text == "Hi! from_site"
    assert reply.html == "Hi! <b>from_site</b>"
    assert reply.buttons == [["Python"], ["Docs"]]


async def test_a_user_presses_a_button_and_the_bot_answers_and_edits(fake: FakeTelegram) -> None:
    async with running_bot(fake):
        ann = fake.user("Ann")
        await ann.send_command("start")
        calls = await ann.press("Python")
        assert sorted(c.method for c in calls) == ["answerCallbackQuery", "editMessageText"]
        assert ann.last_message().text == "You picked python"
        await ann.press_data(ann.last_message().message_id, "forged")
        assert ann.last_message().text == "That button is stale"
    assert fake.unanswered_callback_queries() == []


async def test_pressing_a_missing_button_fails_listing_the_labels_there(fake: FakeTelegram) -> None:
    async with running_bot(fake):
        ann = fake.user("Ann")
        await ann.send_command("start")
        with pytest.raises(AssertionError, match=r"no button 'Rust'.*\[\['Python'\], \['Docs'\]\]"):
            await ann.press("Rust")
        with pytest.raises(AssertionError, match="is a url button"):
            await ann.press("Docs")


async def test_waiting_for_a_silent_bot_fails_naming_what_was_awaited(fake: FakeTelegram) -> None:
    async with running_bot(fake):
        ann = fake.user("Ann", timeout=0.2)
        with pytest.raises(AssertionError, match=r"did not respond .* the reply to 'silence'"):
            await ann.send_text("silence")
        assert await ann.send_text("silence", expect_response=False) == []


async def test_typing_alone_is_not_a_response_but_is_returned_with_it(fake: FakeTelegram) -> None:
    async with running_bot(fake):
        ann = fake.user("Ann")
        calls = await ann.send_text("python")
    assert [c.method for c in calls] == ["sendChatAction", "sendMessage"]
    assert ann.last_message().text == "PYTHON"


async def test_users_share_contacts_and_locations(fake: FakeTelegram) -> None:
    async with running_bot(fake):
        ann = fake.user("Ann")
        await ann.share_contact("+491234")
        assert ann.last_message().text == "got contact"
        await ann.send_location()
        assert ann.last_message().text == "got location"
        await ann.send_sticker()
        await ann.send_voice()
        await ann.send_photo(caption="look")
        assert [m.text for m in ann.messages()][-3:] == ["got other"] * 3


async def test_a_user_edits_a_message_and_the_bot_sees_the_edit(fake: FakeTelegram) -> None:
    async with running_bot(fake):
        ann = fake.user("Ann")
        await ann.send_text("pyton")
        await ann.edit_message("python")
        assert ann.last_message().text == "You edited it to python"


async def test_an_inline_query_is_answered_with_results(fake: FakeTelegram) -> None:
    async with running_bot(fake):
        ann = fake.user("Ann")
        calls = await ann.inline_query("django")
    assert [c.method for c in calls] == ["answerInlineQuery"]
    assert [r["title"] for r in ann.inline_results()] == ["django"]


async def test_users_in_a_group_see_the_same_bot_messages(fake: FakeTelegram) -> None:
    async with running_bot(fake):
        team = fake.group("Team")
        ann, bob = fake.user("Ann", chat=team), fake.user("Bob", chat=team)
        await ann.send_command("start", mention_bot=True)
        await bob.press("Python")
        assert ann.last_message().text == "You picked python"
        query = fake.calls_to("answerCallbackQuery")[-1]
        record = fake.callback_query(query.params["callback_query_id"])
        assert record is not None and record.query["from"]["first_name"] == "Bob"


async def test_ptbs_own_webhook_server_receives_updates_and_rejects_a_wrong_secret(
    fake: FakeTelegram,
) -> None:
    port = free_port()
    app = Application.builder().token(fake.token).base_url(fake.base_url).build()
    app.add_handler(CommandHandler("start", start))
    async with app:
        assert app.updater is not None
        await app.updater.start_webhook(
            listen="127.0.0.1",
            port=port,
            url_path="hook",
            webhook_url=f"http://127.0.0.1:{port}/hook",
            secret_token="s3cret",
        )
        await app.start()
        try:
            assert fake.webhook is not None and fake.webhook.secret_token == "s3cret"
            ann = fake.user("Ann")
            await ann.send_command("start")
            assert ann.last_message().text == "Hi! no payload"
            assert await fake.deliver_to_webhook(message_update("x"), secret="wrong") == 403
        finally:
            await app.updater.stop()
            await app.stop()


def free_port() -> int:
    """A TCP port that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --------------------------------------------------------------------------- standalone


async def test_the_control_api_queues_updates_and_lists_calls(
    fake: FakeTelegram, http: aiohttp.ClientSession
) -> None:
    async with http.post(f"{fake.root_url}/_fake/updates", json=[message_update("a")]) as r:
        assert (await r.json())["result"] == [1]
    await call(http, fake, "sendMessage", chat_id=5, text="hello")
    async with http.get(f"{fake.root_url}/_fake/calls", params={"since": "0"}) as r:
        calls = (await r.json())["result"]
    assert [(c["method"], c["status"]) for c in calls] == [("sendMessage", 200)]
    async with http.get(f"{fake.root_url}/_fake/messages", params={"chat_id": "5"}) as r:
        assert [m["text"] for m in (await r.json())["result"]] == ["hello"]


def test_the_server_runs_standalone_and_prints_its_port() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "fake_telegram", "--port", "0", "--token", TOKEN],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("listening on http://127.0.0.1:")
        url = line.removeprefix("listening on ")

        async def get_me() -> dict[str, Any]:
            async with (
                aiohttp.ClientSession() as session,
                session.post(f"{url}/bot{TOKEN}/getMe") as response,
            ):
                return dict(await response.json())

        assert asyncio.run(get_me())["result"]["is_bot"] is True
    finally:
        process.terminate()
        process.wait(timeout=5)
        if process.stdout is not None:
            process.stdout.close()
    assert process.returncode == 0
