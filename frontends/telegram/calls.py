"""The Bot API calls on the bot's hot path, made without turning answers into objects nobody reads.

python-telegram-bot's typed methods parse every answer into frozen objects: a sent or edited
message comes back as a :class:`~telegram.Message` with its chat, sender, entities and every
button of its keyboard, though the bot reads only the message id; a poll comes back as every
update it holds, though most were fetched before and are skipped. Profiled in the closed loop
(docs/performance.md, issue 26), that parsing took a third of the bot's CPU per update.

:meth:`telegram.Bot.do_api_request` is PTB's public way to make a call and keep the answer as it
came: the same request object, rate limiter and errors as the typed methods. Through it:

- :func:`send_text` and :func:`edit_text` read the message id from the answer, and
  :func:`answer` stops a button's spinner;
- :func:`get_updates` returns the updates as they came, so polling skips those it has already
  by their id, and :func:`to_update` parses only the new ones (webhook updates too), keeping of
  the message a button was pressed under only which message it is, where and when: the bot
  wrote it, never reads it back, and it is most of what a button press holds.
"""

from __future__ import annotations

import datetime as dtm
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from telegram import Bot, CallbackQuery, Chat, MaybeInaccessibleMessage, Update, User
from telegram.constants import ParseMode
from telegram.error import EndPointNotFound, InvalidToken
from telegram.request import BaseRequest
from telegram.warnings import PTBUserWarning

JSON = dict[str, Any]
# do_api_request suggests the typed method for a method PTB knows: here that is the point.
warnings.filterwarnings(
    "ignore",
    message=r"Please use 'Bot\.(sendMessage|editMessageText|answerCallbackQuery|getUpdates)'",
    category=PTBUserWarning,
)


async def send_text(
    bot: Bot, chat_id: int, text: str, *, html: bool = True, markup: Mapping[str, Any] | None = None
) -> int:
    """sendMessage; the new message's id."""
    data: JSON = {"chat_id": chat_id, "text": text}
    if html:
        data["parse_mode"] = ParseMode.HTML.value
    if markup is not None:
        data["reply_markup"] = markup
    sent = await _request(bot, "sendMessage", data)
    return int(sent["message_id"])


async def edit_text(
    bot: Bot, chat_id: int, message_id: int, text: str, markup: Mapping[str, Any] | None
) -> None:
    """editMessageText as HTML (the keyboard too, or none)."""
    data: JSON = {
        "chat_id": chat_id,
        "message_id": message_id,
        "text": text,
        "parse_mode": ParseMode.HTML.value,
    }
    if markup is not None:
        data["reply_markup"] = markup
    await _request(bot, "editMessageText", data)


async def answer(bot: Bot, query_id: str, text: str | None) -> None:
    """answerCallbackQuery: the button's spinner stops (with a short notice, if any)."""
    data: JSON = {"callback_query_id": query_id}
    if text is not None:
        data["text"] = text
    await _request(bot, "answerCallbackQuery", data)


async def get_updates(
    bot: Bot,
    *,
    offset: int | None,
    wait: int,
    read_timeout: float,
    allowed_updates: Sequence[str] = Update.ALL_TYPES,
) -> list[JSON]:
    """getUpdates, a long poll of ``wait`` seconds; the updates as they came (each a dict with
    its ``update_id``). ``read_timeout`` is added to the wait, as PTB's get_updates does."""
    data: JSON = {"timeout": wait, "allowed_updates": list(allowed_updates)}
    if offset is not None:
        data["offset"] = offset
    result = await _request(bot, "getUpdates", data, read_timeout=read_timeout + wait)
    return list(result) if result else []


async def _request(bot: Bot, endpoint: str, data: JSON, read_timeout: float | None = None) -> Any:
    """The call through PTB; its answer as it came. do_api_request takes Telegram's "not found"
    for a method it does not know, but these methods exist: it means the token was refused, as
    the typed methods say."""
    timeout: Any = BaseRequest.DEFAULT_NONE if read_timeout is None else read_timeout
    try:
        return await bot.do_api_request(endpoint, data, read_timeout=timeout)
    except EndPointNotFound as exc:
        raise InvalidToken(str(exc)) from exc


#: The fields of a CallbackQuery in the Bot API. A press with any other field (a newer API's)
#: is parsed by PTB as a whole, which keeps the unknown ones in ``api_kwargs``.
QUERY_FIELDS = frozenset(
    {"id", "from", "message", "inline_message_id", "chat_instance", "data", "game_short_name"}
)


def to_update(raw: JSON, bot: Bot) -> Update:
    """An update parsed as PTB parses it, except the message a button was pressed under: of it
    only which message it is, where and when, as a :class:`~telegram.MaybeInaccessibleMessage`
    (what the Bot API types ``CallbackQuery.message`` as). The bot wrote that message and keeps
    what it needs of it in the session; turning its text, sender and keyboard into a
    :class:`~telegram.Message` made parsing a button press take 90 µs instead of 35."""
    query = raw.get("callback_query")
    if query is not None and len(raw) == 2:
        pressed = _pressed(query, bot)
        if pressed is not None:
            update = Update(update_id=raw["update_id"], callback_query=pressed)
            update.set_bot(bot)
            return update
    return Update.de_json(raw, bot)


def _pressed(query: JSON, bot: Bot) -> CallbackQuery | None:
    """A button press built with PTB's own classes, or None when PTB should parse it: no
    message (an inline message's button), a message Telegram says is no longer accessible
    (date 0: PTB makes it an :class:`~telegram.InaccessibleMessage`), a field this code does not
    know, or anything malformed (PTB's parsing then says what is wrong)."""
    message = query.get("message")
    if not isinstance(message, dict) or not message.get("date") or query.keys() - QUERY_FIELDS:
        return None
    try:
        chat = Chat.de_json(message["chat"], bot)
        where = MaybeInaccessibleMessage(
            chat=chat, message_id=message["message_id"], date=_moment(message["date"], bot)
        )
        where.set_bot(bot)
        pressed = CallbackQuery(
            id=query["id"],
            from_user=User.de_json(query["from"], bot),
            chat_instance=query["chat_instance"],
            message=where,
            data=query.get("data"),
            inline_message_id=query.get("inline_message_id"),
            game_short_name=query.get("game_short_name"),
        )
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        return None
    pressed.set_bot(bot)
    return pressed


def _moment(timestamp: int, bot: Bot) -> dtm.datetime:
    """A Unix time as PTB gives dates: aware, in the time zone of the bot's defaults (UTC)."""
    defaults = getattr(bot, "defaults", None)
    zone = defaults.tzinfo if defaults is not None else dtm.UTC
    return dtm.datetime.fromtimestamp(timestamp, tz=zone)
