"""Updates read the short way (frontends/telegram/calls.py): a button press parsed without the
message it was pressed under, everything else exactly as python-telegram-bot parses it."""

from __future__ import annotations

import datetime as dtm
from typing import Any

import pytest
from telegram import Bot, MaybeInaccessibleMessage, Message, Update
from telegram.ext import Defaults, ExtBot

from frontends.telegram.calls import to_update

TOKEN = "123456:ABCdef_ghi-jkl"
ANN = {"id": 700000001, "is_bot": False, "first_name": "Ann", "language_code": "es"}
CHAT = {"id": 700000001, "type": "private", "first_name": "Ann"}


def press(**changes: Any) -> dict[str, Any]:
    """A button press as Telegram sends it, under a long message with a keyboard."""
    message = {
        "message_id": 77,
        "date": 1_765_000_000,
        "chat": CHAT,
        "from": {"id": 1, "is_bot": True, "first_name": "Stack Advisor"},
        "text": "Which matters more to you? " * 20,
        "reply_markup": {"inline_keyboard": [[{"text": "Speed", "callback_data": "a:1:2"}]]},
    }
    query: dict[str, Any] = {
        "id": "4382",
        "from": ANN,
        "chat_instance": "-8812",
        "data": "a:1:2",
        "message": message,
    }
    query.update(changes)
    return {"update_id": 901, "callback_query": query}


@pytest.fixture
def bot() -> Bot:
    return Bot(TOKEN)


def test_a_button_press_reads_the_same_as_ptbs_parse_except_the_message_body(bot: Bot) -> None:
    raw = press()
    ours, ptb = to_update(raw, bot), Update.de_json(raw, bot)
    assert ours.update_id == ptb.update_id
    assert ours.callback_query is not None and ptb.callback_query is not None
    for field in ("id", "data", "chat_instance", "from_user", "inline_message_id"):
        assert getattr(ours.callback_query, field) == getattr(ptb.callback_query, field), field
    assert ours.effective_user == ptb.effective_user
    assert ours.effective_chat == ptb.effective_chat
    ours_message, ptb_message = ours.callback_query.message, ptb.callback_query.message
    assert ours_message is not None and ptb_message is not None
    assert ours_message.message_id == ptb_message.message_id == 77
    assert ours_message.chat == ptb_message.chat and ours_message.date == ptb_message.date
    assert ours_message.is_accessible
    assert type(ours_message) is MaybeInaccessibleMessage  # its text was never parsed
    assert ours.callback_query.get_bot() is bot


def test_a_press_keeps_the_time_zone_of_the_bots_defaults() -> None:
    zone = dtm.timezone(dtm.timedelta(hours=3))
    bot = ExtBot(TOKEN, defaults=Defaults(tzinfo=zone))
    ours, ptb = to_update(press(), bot), Update.de_json(press(), bot)
    assert ours.callback_query is not None and ptb.callback_query is not None
    assert ours.callback_query.message is not None and ptb.callback_query.message is not None
    assert ours.callback_query.message.date == ptb.callback_query.message.date
    assert ours.callback_query.message.date.utcoffset() == dtm.timedelta(hours=3)


def test_a_press_under_a_message_telegram_no_longer_shows_is_inaccessible_as_in_ptb(
    bot: Bot,
) -> None:
    raw = press(message={"message_id": 77, "date": 0, "chat": CHAT})
    update = to_update(raw, bot)
    assert update.callback_query is not None and update.callback_query.message is not None
    assert not update.callback_query.message.is_accessible
    assert update == Update.de_json(raw, bot)


@pytest.mark.parametrize(
    ("what", "raw"),
    [
        ("an inline message's button", press(message=None, inline_message_id="AgAAA")),
        ("a field of a newer Bot API", press(future_field={"x": 1})),
    ],
)
def test_presses_this_code_does_not_know_are_parsed_by_ptb_whole(
    bot: Bot, what: str, raw: dict[str, Any]
) -> None:
    raw["callback_query"] = {k: v for k, v in raw["callback_query"].items() if v is not None}
    assert to_update(raw, bot) == Update.de_json(raw, bot), what
    assert to_update(raw, bot).to_dict() == Update.de_json(raw, bot).to_dict(), what


def ptb_reading(raw: dict[str, Any], parse: Any, bot: Bot) -> Any:
    """What parsing gives: the update as a dict, or the kind of error it raised."""
    try:
        return parse(raw, bot).to_dict()
    except Exception as exc:  # the kind of error is what is compared
        return type(exc)


@pytest.mark.parametrize(
    ("what", "raw"),
    [
        ("no sender", press(**{"from": None})),
        ("no chat instance", press(chat_instance=None)),
        ("no id", press(id=None)),
        ("a message with no chat", press(message={"message_id": 77, "date": 1_765_000_000})),
        ("a message with no id", press(message={"date": 1_765_000_000, "chat": CHAT})),
        ("a date that is not a time", press(message={"message_id": 7, "date": "x", "chat": CHAT})),
        ("a chat that is not an object", press(message={"message_id": 7, "date": 9, "chat": 5})),
    ],
)
def test_a_malformed_press_is_read_or_refused_as_ptb_reads_or_refuses_it(
    bot: Bot, what: str, raw: dict[str, Any]
) -> None:
    raw["callback_query"] = {k: v for k, v in raw["callback_query"].items() if v is not None}
    assert ptb_reading(raw, to_update, bot) == ptb_reading(raw, Update.de_json, bot), what


def test_a_typed_message_is_parsed_in_full(bot: Bot) -> None:
    raw = {
        "update_id": 902,
        "message": {
            "message_id": 5,
            "date": 1_765_000_000,
            "chat": CHAT,
            "from": ANN,
            "text": "hi",
        },
    }
    update = to_update(raw, bot)
    assert isinstance(update.message, Message) and update.message.text == "hi"
    assert update == Update.de_json(raw, bot)
