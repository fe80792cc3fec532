"""A test client that talks to the bot the way a Telegram user does."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import updates as u
from .models import JSON, Call, StoredMessage, TgChat, TgUser

if TYPE_CHECKING:
    from .server import FakeTelegram

# Calls that show the bot is working on something but are not an answer by themselves.
NOT_A_RESPONSE = frozenset({"sendChatAction", "getUpdates", "getChat", "getFile", "getMe"})


@dataclass(frozen=True)
class BotMessage:
    """What a user sees of one bot message."""

    message_id: int
    text: str
    html: str
    buttons: list[list[str]]
    kind: str = "text"
    raw: StoredMessage | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, message: StoredMessage) -> BotMessage:
        """View of a stored bot message."""
        return cls(
            message.message_id,
            message.visible_text,
            message.html or "",
            message.button_labels,
            message.kind,
            message,
        )

    @property
    def labels(self) -> list[str]:
        """All button labels, flattened row by row."""
        return [label for row in self.buttons for label in row]


class BotUser:
    """A user in a chat with the bot; every action waits until the bot has responded."""

    def __init__(
        self,
        fake: FakeTelegram,
        user: TgUser,
        chat: TgChat,
        *,
        timeout: float = 5.0,
        quiet: float = 0.08,
    ) -> None:
        self.fake = fake
        self.user = user
        self.chat = chat
        self.timeout = timeout
        self.quiet = quiet
        self.phone = f"+1555{user.id % 10_000_000:07d}"
        self.sent: list[JSON] = []
        self._last_inline_query_id: str | None = None

    def __repr__(self) -> str:
        """Readable identity for assertion messages."""
        return f"BotUser({self.user.first_name!r}, id={self.user.id}, chat={self.chat.id})"

    @property
    def id(self) -> int:
        """The user's Telegram id."""
        return self.user.id

    # ----------------------------------------------------------------- sending

    async def send_text(self, text: str, *, expect_response: bool = True) -> list[Call]:
        """Send a text message and wait for the bot's response."""
        message = u.text_message(self._next_id(), self.user, self.chat, text)
        return await self._send(message, f"the reply to {text!r}", expect_response)

    async def send_command(
        self,
        command: str,
        payload: str | None = None,
        *,
        mention_bot: bool = False,
        expect_response: bool = True,
    ) -> list[Call]:
        """Send '/command [payload]' (e.g. a deep link '/start payload')."""
        text = f"/{command.removeprefix('/')}"
        if mention_bot:
            text += f"@{self.fake.bot.username}"
        if payload:
            text += f" {payload}"
        return await self.send_text(text, expect_response=expect_response)

    async def send_sticker(self, emoji: str = "👍", *, expect_response: bool = True) -> list[Call]:
        """Send a sticker."""
        message = u.sticker_message(self._next_id(), self.user, self.chat, emoji)
        return await self._send(message, "the reply to a sticker", expect_response)

    async def send_photo(
        self,
        caption: str | None = None,
        *,
        data: bytes = u.TINY_PNG,
        expect_response: bool = True,
    ) -> list[Call]:
        """Send a photo (downloadable by the bot through getFile)."""
        stored = self.fake.state.register_file(
            self.fake.state.new_file("photo", data, "photo.png", "image/png")
        )
        message = u.photo_message(self._next_id(), self.user, self.chat, stored.file_id, caption)
        return await self._send(message, "the reply to a photo", expect_response)

    async def send_voice(self, duration: int = 3, *, expect_response: bool = True) -> list[Call]:
        """Send a voice note."""
        message = u.voice_message(self._next_id(), self.user, self.chat, duration)
        return await self._send(message, "the reply to a voice message", expect_response)

    async def send_location(
        self,
        latitude: float = 52.520008,
        longitude: float = 13.404954,
        *,
        expect_response: bool = True,
    ) -> list[Call]:
        """Share a location."""
        message = u.location_message(self._next_id(), self.user, self.chat, latitude, longitude)
        return await self._send(message, "the reply to a location", expect_response)

    async def share_contact(
        self, phone: str | None = None, *, own: bool = True, expect_response: bool = True
    ) -> list[Call]:
        """Share a contact (by default the user's own phone, as a request_contact button does)."""
        message = u.contact_message(
            self._next_id(), self.user, self.chat, phone or self.phone, own=own
        )
        return await self._send(message, "the reply to a shared contact", expect_response)

    async def send_document(
        self,
        filename: str = "notes.txt",
        data: bytes = b"hello",
        *,
        expect_response: bool = True,
    ) -> list[Call]:
        """Send a file."""
        stored = self.fake.state.register_file(
            self.fake.state.new_file("document", data, filename, "application/octet-stream")
        )
        message = u.document_message(
            self._next_id(), self.user, self.chat, stored.file_id, filename, len(data)
        )
        return await self._send(message, f"the reply to document {filename!r}", expect_response)

    async def edit_message(
        self, text: str, *, message_id: int | None = None, expect_response: bool = True
    ) -> list[Call]:
        """Edit one of this user's text messages (the latest by default)."""
        original = self._own_message(message_id)
        update = u.edited_message_update(original, text)
        return await self._act(update, f"the reply to an edit to {text!r}", expect_response)

    # ----------------------------------------------------------------- buttons

    async def press(
        self, label: str, *, in_message: int | None = None, expect_response: bool = True
    ) -> list[Call]:
        """Press the button with this label (newest bot message with an inline keyboard)."""
        message = self._keyboard_message(in_message)
        if message is None and in_message is None:
            return await self._press_reply_keyboard(label, expect_response)
        assert message is not None
        button = _find_button(message, label)
        if button is None:
            if in_message is None and self._reply_keyboard_has(label):
                return await self._press_reply_keyboard(label, expect_response)
            raise AssertionError(
                f"no button {label!r} in bot message {message.message_id} "
                f"({message.visible_text[:60]!r}); its buttons are {message.button_labels}"
            )
        return await self._press_inline(message, label, button, expect_response)

    async def press_data(
        self, message_id: int, data: str, *, expect_response: bool = True
    ) -> list[Call]:
        """Send a callback query with arbitrary (forged or stale) data on a message."""
        message = self.fake.message_object(self.chat, message_id) or {
            "message_id": message_id,
            "chat": self.chat.to_api(),
            "date": 0,
        }
        query_id = self.fake.new_query_id()
        update = u.callback_query_update(
            query_id, self.user, message, data, chat_instance=f"ci{self.chat.id}"
        )
        what = f"the answer to callback data {data!r} on message {message_id}"

        def related(call: Call) -> bool:
            return call.chat_id == self.chat.id or call.params.get("callback_query_id") == query_id

        def answered(seen: list[Call]) -> bool:
            # Every callback query gets an answer; a bot that answers last is done by then.
            return any(
                c.method == "answerCallbackQuery" and c.params.get("callback_query_id") == query_id
                for c in seen
            )

        return await self._act(update, what, expect_response, related, answered)

    def buttons(self, *, in_message: int | None = None) -> list[list[str]]:
        """Rows of labels of the keyboard press() would use ([] if there is none)."""
        message = self._keyboard_message(in_message)
        if message is not None:
            return message.button_labels
        keyboard = self.fake.reply_keyboard(self.chat) or {}
        return [[_reply_label(b) for b in row] for row in keyboard.get("keyboard", [])]

    async def _press_inline(
        self, message: StoredMessage, label: str, button: JSON, expect_response: bool
    ) -> list[Call]:
        """Act on an inline button the way a Telegram client does."""
        if "callback_data" in button:
            return await self.press_data(
                message.message_id, button["callback_data"], expect_response=expect_response
            )
        if "switch_inline_query_current_chat" in button:
            chat_type = self.chat.type if not self.chat.is_private else "sender"
            return await self.inline_query(
                button["switch_inline_query_current_chat"], chat_type=chat_type
            )
        kind = next((key for key in button if key != "text"), "unknown")
        raise AssertionError(
            f"button {label!r} is a {kind} button ({button[kind]!r}); pressing it does not "
            "send anything to the bot"
        )

    async def _press_reply_keyboard(self, label: str, expect_response: bool) -> list[Call]:
        """Press a reply-keyboard button: it sends its text, contact or location."""
        keyboard = self.fake.reply_keyboard(self.chat)
        rows: list[list[Any]] = keyboard.get("keyboard", []) if keyboard else []
        button = next((b for row in rows for b in row if _reply_label(b) == label), None)
        if button is None:
            shown = [[_reply_label(b) for b in row] for row in rows]
            raise AssertionError(
                f"no button {label!r} in chat {self.chat.id}: no bot message has an inline "
                f"keyboard with it and the reply keyboard is {shown or 'not shown'}"
            )
        if keyboard and keyboard.get("one_time_keyboard"):
            self.fake.state.reply_keyboards.pop(self.chat.id, None)
        if isinstance(button, dict) and button.get("request_contact"):
            return await self.share_contact(expect_response=expect_response)
        if isinstance(button, dict) and button.get("request_location"):
            return await self.send_location(expect_response=expect_response)
        return await self.send_text(label, expect_response=expect_response)

    def _reply_keyboard_has(self, label: str) -> bool:
        """Whether the chat's reply keyboard has a button with this label."""
        keyboard = self.fake.reply_keyboard(self.chat) or {}
        return any(_reply_label(b) == label for row in keyboard.get("keyboard", []) for b in row)

    def _keyboard_message(self, message_id: int | None) -> StoredMessage | None:
        """The given bot message, or the newest one with an inline keyboard."""
        if message_id is not None:
            message = self.fake.message(self.chat, message_id)
            if message is None:
                raise AssertionError(f"there is no bot message {message_id} in chat {self.chat.id}")
            return message
        with_keyboard = [m for m in self.fake.messages(self.chat) if m.inline_keyboard]
        return with_keyboard[-1] if with_keyboard else None

    # ----------------------------------------------------------------- inline mode

    async def inline_query(
        self, query: str, *, offset: str = "", chat_type: str = "sender"
    ) -> list[Call]:
        """Type '@bot query' and wait for answerInlineQuery."""
        query_id = self.fake.new_query_id()
        self._last_inline_query_id = query_id
        update = u.inline_query_update(
            query_id, self.user, query, offset=offset, chat_type=chat_type
        )

        def related(call: Call) -> bool:
            return call.params.get("inline_query_id") == query_id

        return await self._act(update, f"the answer to inline query {query!r}", True, related)

    def inline_results(self) -> list[JSON]:
        """Results of this user's latest answered inline query."""
        if self._last_inline_query_id is None:
            raise AssertionError(f"{self!r} has not made an inline query")
        record = self.fake.inline_query(self._last_inline_query_id)
        if record is None or record.answer is None:
            raise AssertionError("the bot has not answered the latest inline query")
        results = record.answer.get("results")
        return list(results) if isinstance(results, list) else []

    # ----------------------------------------------------------------- reading

    def last_message(self) -> BotMessage:
        """The newest bot message in this chat."""
        messages = self.fake.messages(self.chat)
        if not messages:
            raise AssertionError(f"the bot has not sent any message to chat {self.chat.id}")
        return BotMessage.of(messages[-1])

    def messages(self) -> list[BotMessage]:
        """All current bot messages in this chat, oldest first."""
        return [BotMessage.of(m) for m in self.fake.messages(self.chat)]

    def block_bot(self) -> None:
        """Block the bot: its sends to this user fail with 403 Forbidden."""
        self.fake.block(self.user.id)

    def unblock_bot(self) -> None:
        """Unblock the bot."""
        self.fake.block(self.user.id, blocked=False)

    # ----------------------------------------------------------------- plumbing

    def _next_id(self) -> int:
        """A message_id for a new message from this user."""
        return self.fake.next_message_id(self.chat.id)

    def _own_message(self, message_id: int | None) -> JSON:
        """One of this user's earlier text messages."""
        texts = [m for m in self.sent if "text" in m]
        if message_id is not None:
            texts = [m for m in texts if m["message_id"] == message_id]
        if not texts:
            raise AssertionError(f"{self!r} has no text message {message_id or ''} to edit")
        return texts[-1]

    async def _send(self, message: JSON, what: str, expect_response: bool) -> list[Call]:
        """Deliver a new message from this user."""
        self.sent.append(message)
        return await self._act(u.message_update(message), what, expect_response)

    async def _act(
        self,
        update: JSON,
        what: str,
        expect_response: bool,
        related: Callable[[Call], bool] | None = None,
        finished: Callable[[list[Call]], bool] | None = None,
    ) -> list[Call]:
        """Queue an update, then wait for the bot's response and for the chat to go quiet."""
        start = len(self.fake.calls)
        self.fake.add_update(update)
        return await self._settle(start, related or self._in_chat, what, expect_response, finished)

    def _in_chat(self, call: Call) -> bool:
        """Whether a call is addressed to this chat."""
        return call.chat_id == self.chat.id

    async def _settle(
        self,
        start: int,
        related: Callable[[Call], bool],
        what: str,
        expect_response: bool,
        finished: Callable[[list[Call]], bool] | None = None,
    ) -> list[Call]:
        """Wait for a response call (or ``finished``), then for `quiet` s without related calls."""
        loop = asyncio.get_running_loop()
        began = loop.time()
        deadline = began + self.timeout
        while True:
            seen = [c for c in self.fake.calls[start:] if related(c)]
            if finished is not None and expect_response:
                responded = finished(seen)
            else:
                responded = not expect_response or any(_is_response(c) for c in seen)
            now = loop.time()
            if responded:
                last = max((c.finished_at for c in seen), default=began)
                if now - last >= self.quiet:
                    return seen
                wake_at = last + self.quiet
            else:
                wake_at = deadline
            if now >= deadline:
                raise AssertionError(self._timeout_message(what, seen, responded))
            await self.fake.wait_for_change(min(wake_at, deadline) - now)

    def _timeout_message(self, what: str, seen: list[Call], responded: bool) -> str:
        """Explain what was awaited and what the bot did instead."""
        problem = "kept calling the API" if responded else "did not respond"
        calls = "\n  ".join(str(c) for c in seen) or "(no calls for this chat)"
        errors = "".join(f"\nfake internal error:\n{e}" for e in self.fake.internal_errors)
        return (
            f"{self!r}: the bot {problem} within {self.timeout}s while waiting for {what}; "
            f"calls seen:\n  {calls}{errors}"
        )


def _is_response(call: Call) -> bool:
    """A successful call that answers the user (not just 'typing...')."""
    return call.ok and call.method not in NOT_A_RESPONSE


def _find_button(message: StoredMessage, label: str) -> JSON | None:
    """The inline button with exactly this label."""
    return next((b for row in message.inline_keyboard for b in row if b.get("text") == label), None)


def _reply_label(button: Any) -> str:
    """Label of a reply-keyboard button (a string or a KeyboardButton object)."""
    return str(button.get("text", "")) if isinstance(button, dict) else str(button)
