"""What the fake Telegram knows (chats, messages, files, queries) and the synchronous methods."""

from __future__ import annotations

import contextlib
import itertools
import json
import mimetypes
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from . import validation as v
from .html import ParsedText, escape
from .models import JSON, StoredFile, StoredMessage, TgChat, TgUser
from .updates import now, update_chat, update_user

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
COMMAND_SCOPES = frozenset(
    {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    }
)
#: What a send needs the right to, and how Telegram names it when the bot lacks it.
SEND_RIGHTS = {
    "text": ("can_send_messages", "text messages"),
    "photo": ("can_send_photos", "photos"),
    "document": ("can_send_documents", "documents"),
}
#: Every right of a restricted member (ChatMemberRestricted has them all), all True by default.
MEMBER_RIGHTS = (
    "can_send_messages",
    "can_send_audios",
    "can_send_documents",
    "can_send_photos",
    "can_send_videos",
    "can_send_video_notes",
    "can_send_voice_notes",
    "can_send_polls",
    "can_send_other_messages",
    "can_add_web_page_previews",
    "can_change_info",
    "can_invite_users",
    "can_pin_messages",
    "can_manage_topics",
    "can_edit_tag",
    "can_react_to_messages",
)
#: Every right of an administrator (ChatMemberAdministrator), the bot's defaults.
ADMIN_RIGHTS = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": True,
    "can_restrict_members": True,
    "can_promote_members": False,
    "can_change_info": True,
    "can_invite_users": True,
    "can_post_stories": False,
    "can_edit_stories": False,
    "can_delete_stories": False,
    "can_pin_messages": True,
    "can_manage_topics": False,
}
CHAT_MEMBER_STATUSES = frozenset(
    {"creator", "administrator", "member", "restricted", "left", "kicked"}
)
MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024

Handler = Callable[[v.Params], Any]


@dataclass
class QueryRecord:
    """A callback or inline query sent to the bot, and the bot's answer to it."""

    query: JSON
    answer: JSON | None = None

    @property
    def answered(self) -> bool:
        """Whether the bot has answered the query."""
        return self.answer is not None


@dataclass
class BotState:
    """Everything the fake Bot API server remembers, plus the methods that only touch it."""

    bot: TgUser
    strict_ampersand: bool = True
    chats: dict[int, TgChat] = field(default_factory=dict)
    users: dict[int, TgUser] = field(default_factory=dict)
    blocked: set[int] = field(default_factory=set)
    #: The bot's ChatMember in chats where it is not simply a member (see ``bot_member``).
    bot_members: dict[int, JSON] = field(default_factory=dict)
    #: Users seen in each chat (they sent something there): members, for getChatMember.
    chat_users: dict[int, set[int]] = field(default_factory=dict)
    bot_messages: dict[int, dict[int, StoredMessage]] = field(default_factory=dict)
    user_messages: dict[int, dict[int, JSON]] = field(default_factory=dict)
    reply_keyboards: dict[int, JSON] = field(default_factory=dict)
    files: dict[str, StoredFile] = field(default_factory=dict)
    uploads: list[StoredFile] = field(default_factory=list)
    callback_queries: dict[str, QueryRecord] = field(default_factory=dict)
    inline_queries: dict[str, QueryRecord] = field(default_factory=dict)
    commands: dict[tuple[str, str], list[JSON]] = field(default_factory=dict)
    descriptions: dict[tuple[str, str], str] = field(default_factory=dict)
    menu_buttons: dict[int | None, JSON] = field(default_factory=dict)
    _message_ids: dict[int, int] = field(default_factory=dict)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    # ----------------------------------------------------------------- bookkeeping

    def handlers(self) -> dict[str, Handler]:
        """Canonical Bot API method name -> synchronous implementation."""
        return {
            "getMe": self.get_me,
            "sendMessage": self.send_message,
            "editMessageText": self.edit_message_text,
            "editMessageCaption": self.edit_message_caption,
            "editMessageReplyMarkup": self.edit_message_reply_markup,
            "deleteMessage": self.delete_message,
            "deleteMessages": self.delete_messages,
            "answerCallbackQuery": self.answer_callback_query,
            "answerInlineQuery": self.answer_inline_query,
            "setMyCommands": self.set_my_commands,
            "getMyCommands": self.get_my_commands,
            "deleteMyCommands": self.delete_my_commands,
            "setMyDescription": self.set_my_description,
            "getMyDescription": self.get_my_description,
            "setMyShortDescription": self.set_my_short_description,
            "getMyShortDescription": self.get_my_short_description,
            "setChatMenuButton": self.set_chat_menu_button,
            "getChatMenuButton": self.get_chat_menu_button,
            "sendChatAction": self.send_chat_action,
            "sendPhoto": self.send_photo,
            "sendDocument": self.send_document,
            "getFile": self.get_file,
            "getChat": self.get_chat,
            "getChatMember": self.get_chat_member,
            "close": lambda p: True,
            "logOut": lambda p: True,
        }

    def unique_id(self, prefix: str) -> str:
        """A fresh identifier for files and queries."""
        return f"{prefix}{next(self._ids)}"

    def next_message_id(self, chat_id: int) -> int:
        """Allocate the next message_id in a chat (users and the bot share the sequence)."""
        self._message_ids[chat_id] = self._message_ids.get(chat_id, 0) + 1
        return self._message_ids[chat_id]

    def add_chat(self, chat: TgChat) -> None:
        """Make a chat known so the bot may send to it."""
        self.chats[chat.id] = chat

    def register_update(self, update: JSON) -> None:
        """Learn users, chats, messages and queries from an update sent to the bot."""
        user, chat = update_user(update), update_chat(update)
        if user is not None and "id" in user:
            self.users.setdefault(user["id"], _user_from_api(user))
        if chat is not None and "id" in chat:
            self.chats.setdefault(chat["id"], _chat_from_api(chat))
            if user is not None and "id" in user:
                self.chat_users.setdefault(chat["id"], set()).add(user["id"])
        for kind in ("message", "edited_message"):
            message = update.get(kind)
            if isinstance(message, dict) and chat is not None:
                self._remember_user_message(chat["id"], message)
        if isinstance(update.get("callback_query"), dict):
            query = update["callback_query"]
            self.callback_queries[str(query["id"])] = QueryRecord(query)
        if isinstance(update.get("inline_query"), dict):
            query = update["inline_query"]
            self.inline_queries[str(query["id"])] = QueryRecord(query)

    def _remember_user_message(self, chat_id: int, message: JSON) -> None:
        """Track an incoming message and keep the chat's message_id sequence ahead of it."""
        message_id = int(message["message_id"])
        self.user_messages.setdefault(chat_id, {})[message_id] = message
        self._message_ids[chat_id] = max(self._message_ids.get(chat_id, 0), message_id)

    def messages_in(self, chat_id: int) -> list[StoredMessage]:
        """The bot's (non-deleted) messages in a chat, oldest first."""
        return sorted(self.bot_messages.get(chat_id, {}).values(), key=lambda m: m.message_id)

    def find_file(self, file_id: str) -> StoredFile | None:
        """A known file by file_id (thumbnail ids resolve to their photo)."""
        return self.files.get(file_id) or self.files.get(file_id.removesuffix("-thumb"))

    def file_by_path(self, path: str) -> StoredFile | None:
        """A known file by the file_path getFile returned."""
        return next((f for f in self.files.values() if f.file_path == path), None)

    def register_file(self, stored: StoredFile) -> StoredFile:
        """Make a file downloadable and re-sendable by file_id."""
        self.files[stored.file_id] = stored
        return stored

    # ----------------------------------------------------------------- helpers

    def _chat(self, p: v.Params, *, sending: bool = True) -> TgChat:
        """The chat named by chat_id; errors like Telegram for unknown or blocked chats."""
        raw = p.values.get("chat_id")
        if raw is None or raw == "":
            raise v.bad_request("chat_id is empty")
        chat = self.chats.get(raw) if isinstance(raw, int) else self._chat_by_username(str(raw))
        if chat is None and raw in self.users:
            raise v.ApiError("Forbidden: bot can't initiate conversation with a user", 403)
        if chat is None:
            raise v.bad_request("chat not found")
        if sending and chat.id in self.blocked:
            raise v.ApiError("Forbidden: bot was blocked by the user", 403)
        self._check_access(chat)
        return chat

    # ----------------------------------------------------------------- the bot's membership

    def bot_member(self, chat: TgChat) -> JSON:
        """The bot's ChatMember in a chat: by default a member of groups and an administrator
        (allowed to post) of channels, unless a test changed it with ``set_bot_member``."""
        member = self.bot_members.get(chat.id)
        if member is not None:
            return member
        if chat.type == "channel":
            return {
                "status": "administrator",
                "user": self.bot.to_api(),
                **ADMIN_RIGHTS,
                "can_post_messages": True,
                "can_edit_messages": True,
            }
        return {"status": "member", "user": self.bot.to_api()}

    def set_bot_member(self, chat: TgChat, status: str, **rights: bool) -> tuple[JSON, JSON]:
        """Change the bot's status in a group or channel; the old and new ChatMember."""
        if status not in CHAT_MEMBER_STATUSES:
            raise ValueError(f"unknown chat member status {status!r}")
        if chat.is_private:
            raise ValueError("the bot's status can change only in groups and channels")
        self.add_chat(chat)
        old = self.bot_member(chat)
        new: JSON = {"status": status, "user": self.bot.to_api()}
        if status == "administrator":
            new.update(ADMIN_RIGHTS)
            if chat.type == "channel":
                new.update(can_post_messages=True, can_edit_messages=True)
        elif status == "restricted":
            new.update(dict.fromkeys(MEMBER_RIGHTS, True))
            new.update(is_member=True, until_date=0)
        elif status == "kicked":
            new["until_date"] = 0
        elif status == "creator":
            new["is_anonymous"] = False
        unknown = set(rights) - set(new) - {"is_member"}
        if unknown:
            raise ValueError(f"{status} has no rights named {sorted(unknown)}")
        new.update(rights)
        self.bot_members[chat.id] = new
        return old, new

    def _check_access(self, chat: TgChat) -> None:
        """Telegram's answers when the bot is not in a group or channel (any more): a basic
        group it is not in does not exist for it; otherwise 403 saying why."""
        if chat.is_private:
            return
        member = self.bot_member(chat)
        status = member["status"]
        gone = status == "left" or (status == "restricted" and not member.get("is_member"))
        if status == "kicked":
            raise v.ApiError(f"Forbidden: bot was kicked from the {chat.type} chat", 403)
        if gone and chat.type == "group":
            raise v.bad_request("chat not found")
        if gone:
            raise v.ApiError(f"Forbidden: bot is not a member of the {chat.type} chat", 403)

    def _check_send_right(self, chat: TgChat, kind: str) -> None:
        """Sending needs the right to: only administrators post in channels, and a restricted
        bot only what its rights allow."""
        member = self.bot_member(chat)
        status = member["status"]
        if chat.type == "channel":
            if status == "creator" or (
                status == "administrator" and member.get("can_post_messages")
            ):
                return
            raise v.bad_request("need administrator rights in the channel chat")
        right, what = SEND_RIGHTS[kind]
        if status == "restricted" and not member.get(right):
            raise v.bad_request(f"not enough rights to send {what} to the chat")

    def _chat_by_username(self, name: str) -> TgChat | None:
        """A chat addressed as '@username'."""
        wanted = name.removeprefix("@").lower()
        return next(
            (c for c in self.chats.values() if c.username and c.username.lower() == wanted), None
        )

    def _message_api(self, message: StoredMessage) -> JSON:
        """Bot API Message for a stored bot message, with reply_to_message when known."""
        chat = self.chats[message.chat_id]
        data = message.to_api(self.bot, chat)
        if message.reply_to_message_id is not None:
            replied = self.any_message(message.chat_id, message.reply_to_message_id)
            if replied is not None:
                data["reply_to_message"] = replied
        return data

    def any_message(self, chat_id: int, message_id: int) -> JSON | None:
        """A bot or user message in a chat, as a Bot API Message."""
        bot_message = self.bot_messages.get(chat_id, {}).get(message_id)
        if bot_message is not None:
            return bot_message.to_api(self.bot, self.chats[chat_id])
        return self.user_messages.get(chat_id, {}).get(message_id)

    def _reply_to(self, p: v.Params, chat: TgChat) -> int | None:
        """Validate reply_parameters / reply_to_message_id."""
        params = p.obj("reply_parameters", "reply parameters JSON object")
        if isinstance(params, dict):
            target, allow = (
                params.get("message_id"),
                bool(params.get("allow_sending_without_reply")),
            )
        else:
            target = p.integer("reply_to_message_id")
            allow = p.flag("allow_sending_without_reply")
        if not isinstance(target, int):
            return None
        if self.any_message(chat.id, target) is not None:
            return target
        if allow:
            return None
        raise v.bad_request("message to be replied not found")

    def _html(self, p: v.Params, name: str, parsed: ParsedText) -> str:
        """The message as HTML: what the bot sent in HTML mode, else its escaped text."""
        source = p.text(name) or ""
        if (p.text("parse_mode") or "").lower() == "html" and not p.has("entities"):
            return source.strip()
        return escape(parsed.text)

    def _store(self, message: StoredMessage) -> JSON:
        """Remember a new bot message and any reply keyboard it sets or removes."""
        self.bot_messages.setdefault(message.chat_id, {})[message.message_id] = message
        markup = message.reply_markup or {}
        if "keyboard" in markup:
            self.reply_keyboards[message.chat_id] = markup
        elif markup.get("remove_keyboard"):
            self.reply_keyboards.pop(message.chat_id, None)
        return self._message_api(message)

    def _new_message(self, p: v.Params, chat: TgChat) -> StoredMessage:
        """A bot message with the fields common to every send method."""
        markup = v.reply_markup(p.obj("reply_markup", "reply keyboard markup JSON object"))
        v.private_only(markup, chat.type)
        return StoredMessage(
            message_id=0,
            chat_id=chat.id,
            date=now(),
            parse_mode=p.text("parse_mode"),
            reply_markup=markup,
            reply_to_message_id=self._reply_to(p, chat),
        )

    def _edit_target(self, p: v.Params) -> StoredMessage | None:
        """The bot message an edit refers to (None for inline messages)."""
        if p.has("inline_message_id") and not p.has("chat_id"):
            return None
        chat = self._chat(p, sending=False)
        message_id = p.integer("message_id", required=True)
        assert message_id is not None
        message = self.bot_messages.get(chat.id, {}).get(message_id)
        if message is not None:
            return message
        if message_id in self.user_messages.get(chat.id, {}):
            raise v.bad_request("message can't be edited")
        raise v.bad_request("message to edit not found")

    def _parse_text(self, p: v.Params) -> ParsedText:
        """The validated 'text' parameter."""
        return v.message_text(
            p.text("text"),
            p.text("parse_mode"),
            p.obj("entities", "entities JSON object"),
            strict_ampersand=self.strict_ampersand,
        )

    def _parse_caption(self, p: v.Params) -> ParsedText:
        """The validated 'caption' parameter."""
        return v.caption_text(
            p.text("caption"),
            p.text("parse_mode"),
            p.obj("caption_entities", "caption entities JSON object"),
            strict_ampersand=self.strict_ampersand,
        )

    def _scope_key(self, p: v.Params) -> tuple[str, str]:
        """Key for per-scope, per-language bot settings. Like Telegram: only the scopes it
        has; the chat scopes need a chat the bot knows (by id or @username), the
        administrators' and a member's scope a group, a member's scope a user in it."""
        scope = p.obj("scope", "BotCommandScope JSON object") or {"type": "default"}
        if not isinstance(scope, dict) or scope.get("type") not in COMMAND_SCOPES:
            raise v.bad_request("can't parse BotCommandScope JSON object")
        kind = scope["type"]
        key: JSON = {"type": kind}
        if kind in ("chat", "chat_administrators", "chat_member"):
            key["chat_id"] = self._scope_chat(scope).id
        if kind == "chat_member":
            user_id = scope.get("user_id")
            if isinstance(user_id, bool) or not isinstance(user_id, int):
                raise v.bad_request("can't parse BotCommandScope JSON object")
            if user_id not in self.users:
                raise v.bad_request("user not found")
            key["user_id"] = user_id
        return json.dumps(key, sort_keys=True), p.text("language_code") or ""

    def _scope_chat(self, scope: JSON) -> TgChat:
        """The chat a chat scope names; unknown chats and private chats where a group is
        needed are refused."""
        raw = scope.get("chat_id")
        if isinstance(raw, bool) or not isinstance(raw, int | str) or raw == "":
            raise v.bad_request("can't parse BotCommandScope JSON object")
        if isinstance(raw, str) and not raw.startswith("@"):
            try:
                raw = int(raw)
            except ValueError:
                raise v.bad_request("chat not found") from None
        chat = self.chats.get(raw) if isinstance(raw, int) else self._chat_by_username(raw)
        if chat is None:
            raise v.bad_request("chat not found")
        if scope["type"] != "chat" and chat.type not in ("group", "supergroup"):
            raise v.bad_request("chat not found")
        return chat

    # ----------------------------------------------------------------- methods

    def get_me(self, p: v.Params) -> JSON:
        """getMe."""
        return {
            **self.bot.to_api(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def send_message(self, p: v.Params) -> JSON:
        """sendMessage."""
        chat = self._chat(p)
        self._check_send_right(chat, "text")
        parsed = self._parse_text(p)
        message = self._new_message(p, chat)
        message.text, message.entities = parsed.text, parsed.entities
        message.html = self._html(p, "text", parsed)
        message.message_id = self.next_message_id(chat.id)
        return self._store(message)

    def edit_message_text(self, p: v.Params) -> JSON | bool:
        """editMessageText."""
        message = self._edit_target(p)
        parsed = self._parse_text(p)
        markup = v.reply_markup(p.obj("reply_markup"), inline_only=True)
        if message is None:
            return True
        if message.text is None:
            raise v.bad_request("there is no text in the message to edit")
        old = (message.text, _sorted(message.entities), _keyboard(message.reply_markup))
        if old == (parsed.text, _sorted(parsed.entities), _keyboard(markup)):
            raise v.bad_request(NOT_MODIFIED)
        message.text, message.entities = parsed.text, parsed.entities
        message.html = self._html(p, "text", parsed)
        message.parse_mode = p.text("parse_mode")
        _replace_inline_markup(message, markup)
        message.edit_date = now()
        return self._message_api(message)

    def edit_message_caption(self, p: v.Params) -> JSON | bool:
        """editMessageCaption."""
        message = self._edit_target(p)
        parsed = self._parse_caption(p)
        markup = v.reply_markup(p.obj("reply_markup"), inline_only=True)
        if message is None:
            return True
        if message.kind == "text":
            raise v.bad_request("there is no caption in the message to edit")
        old = (message.caption or "", _sorted(message.caption_entities))
        new = (parsed.text, _sorted(parsed.entities))
        if old == new and _keyboard(message.reply_markup) == _keyboard(markup):
            raise v.bad_request(NOT_MODIFIED)
        message.caption, message.caption_entities = parsed.text or None, parsed.entities
        message.html = self._html(p, "caption", parsed) if parsed.text else None
        _replace_inline_markup(message, markup)
        message.edit_date = now()
        return self._message_api(message)

    def edit_message_reply_markup(self, p: v.Params) -> JSON | bool:
        """editMessageReplyMarkup."""
        message = self._edit_target(p)
        markup = v.reply_markup(p.obj("reply_markup"), inline_only=True)
        if message is None:
            return True
        if _keyboard(message.reply_markup) == _keyboard(markup):
            raise v.bad_request(NOT_MODIFIED)
        _replace_inline_markup(message, markup)
        message.edit_date = now()
        return self._message_api(message)

    def delete_message(self, p: v.Params) -> bool:
        """deleteMessage (bots may delete incoming messages only in private chats here)."""
        chat = self._chat(p, sending=False)
        message_id = p.integer("message_id", required=True)
        assert message_id is not None
        if self.bot_messages.get(chat.id, {}).pop(message_id, None) is not None:
            return True
        if message_id in self.user_messages.get(chat.id, {}):
            if not chat.is_private:
                raise v.bad_request("message can't be deleted")
            del self.user_messages[chat.id][message_id]
            return True
        raise v.bad_request("message to delete not found")

    def delete_messages(self, p: v.Params) -> bool:
        """deleteMessages: 1-100 ids; ids that cannot be deleted are skipped."""
        ids = p.obj("message_ids", "message identifiers JSON array")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise v.bad_request("message identifiers are not specified")
        chat = self._chat(p, sending=False)
        for message_id in ids:
            with contextlib.suppress(v.ApiError):
                self.delete_message(v.Params({"chat_id": chat.id, "message_id": message_id}))
        return True

    def answer_callback_query(self, p: v.Params) -> bool:
        """answerCallbackQuery: each query may be answered once."""
        query_id = p.text("callback_query_id", required=True)
        record = self.callback_queries.get(query_id or "")
        if record is None or record.answered:
            raise v.bad_request(QUERY_TOO_OLD)
        v.callback_answer_text(p.text("text"))
        record.answer = dict(p.values)
        return True

    def answer_inline_query(self, p: v.Params) -> bool:
        """answerInlineQuery: each query may be answered once, results are validated."""
        query_id = p.text("inline_query_id", required=True)
        record = self.inline_queries.get(query_id or "")
        if record is None or record.answered:
            raise v.bad_request(QUERY_TOO_OLD)
        v.inline_results(
            p.obj("results", "inline query results JSON object"),
            strict_ampersand=self.strict_ampersand,
        )
        record.answer = dict(p.values)
        return True

    def set_my_commands(self, p: v.Params) -> bool:
        """setMyCommands."""
        commands = v.bot_commands(p.obj("commands", "commands JSON object"))
        self.commands[self._scope_key(p)] = commands
        return True

    def get_my_commands(self, p: v.Params) -> list[JSON]:
        """getMyCommands."""
        return list(self.commands.get(self._scope_key(p), []))

    def delete_my_commands(self, p: v.Params) -> bool:
        """deleteMyCommands."""
        self.commands.pop(self._scope_key(p), None)
        return True

    def set_my_description(self, p: v.Params) -> bool:
        """setMyDescription (at most 512 characters)."""
        return self._set_description(p, "description", 512)

    def get_my_description(self, p: v.Params) -> JSON:
        """getMyDescription."""
        key = ("description", p.text("language_code") or "")
        return {"description": self.descriptions.get(key, "")}

    def set_my_short_description(self, p: v.Params) -> bool:
        """setMyShortDescription (at most 120 characters)."""
        return self._set_description(p, "short_description", 120)

    def get_my_short_description(self, p: v.Params) -> JSON:
        """getMyShortDescription."""
        key = ("short_description", p.text("language_code") or "")
        return {"short_description": self.descriptions.get(key, "")}

    def _set_description(self, p: v.Params, name: str, limit: int) -> bool:
        """Store a bot description of some kind."""
        text = p.text(name) or ""
        if len(text) > limit:
            raise v.bad_request(f"{name.replace('_', ' ')} is too long")
        self.descriptions[(name, p.text("language_code") or "")] = text
        return True

    def set_chat_menu_button(self, p: v.Params) -> bool:
        """setChatMenuButton."""
        button = p.obj("menu_button", "menu button JSON object") or {"type": "default"}
        self.menu_buttons[p.integer("chat_id")] = button
        return True

    def get_chat_menu_button(self, p: v.Params) -> JSON:
        """getChatMenuButton."""
        return self.menu_buttons.get(p.integer("chat_id"), {"type": "commands"})

    def send_chat_action(self, p: v.Params) -> bool:
        """sendChatAction."""
        self._chat(p)
        if p.text("action") not in CHAT_ACTIONS:
            raise v.bad_request("wrong parameter action in request")
        return True

    def send_photo(self, p: v.Params) -> JSON:
        """sendPhoto (upload, file_id or URL)."""
        chat = self._chat(p)
        self._check_send_right(chat, "photo")
        photo = self._input_file(p, "photo")
        parsed = self._parse_caption(p)
        message = self._new_message(p, chat)
        message.photo = photo
        self._set_caption(message, p, parsed)
        message.message_id = self.next_message_id(chat.id)
        return self._store(message)

    def send_document(self, p: v.Params) -> JSON:
        """sendDocument (upload, file_id or URL)."""
        chat = self._chat(p)
        self._check_send_right(chat, "document")
        document = self._input_file(p, "document")
        parsed = self._parse_caption(p)
        message = self._new_message(p, chat)
        message.document = document
        self._set_caption(message, p, parsed)
        message.message_id = self.next_message_id(chat.id)
        return self._store(message)

    def _set_caption(self, message: StoredMessage, p: v.Params, parsed: ParsedText) -> None:
        """Copy a parsed caption onto a media message."""
        if parsed.text:
            message.caption, message.caption_entities = parsed.text, parsed.entities
            message.html = self._html(p, "caption", parsed)

    def _input_file(self, p: v.Params, name: str) -> StoredFile:
        """Resolve an InputFile parameter: an upload, a known file_id or a URL."""
        value = p.values.get(name)
        upload = p.files.get(name)
        if upload is None and isinstance(value, str) and value.startswith("attach://"):
            upload = p.files.get(value.removeprefix("attach://"))
        if upload is not None:
            return self._store_upload(name, upload.data, upload.filename, upload.content_type)
        if not isinstance(value, str) or not value:
            raise v.bad_request(f"there is no {name} in the request")
        if value.startswith(("http://", "https://")):
            filename = value.rsplit("/", 1)[-1] or None
            return self.register_file(self.new_file(name, None, filename, None))
        known = self.find_file(value)
        if known is None:
            raise v.bad_request("wrong file identifier/HTTP URL specified")
        if known.kind != name:
            raise v.bad_request(f"can't use file of type {known.kind.title()} as {name.title()}")
        return known

    def _store_upload(
        self, kind: str, data: bytes, filename: str | None, content_type: str | None
    ) -> StoredFile:
        """Validate and keep an uploaded file."""
        if not data:
            raise v.bad_request("file must be non-empty")
        limit = MAX_PHOTO_BYTES if kind == "photo" else MAX_DOCUMENT_BYTES
        if len(data) > limit:
            raise v.ApiError("Request Entity Too Large", 413)
        size = image_size(data) if kind == "photo" else None
        if kind == "photo" and size is None:
            raise v.bad_request("IMAGE_PROCESS_FAILED")
        mime = content_type if content_type not in (None, "application/octet-stream") else None
        if mime is None and filename:
            mime = mimetypes.guess_type(filename)[0]
        stored = self.new_file(kind, data, filename, mime or "application/octet-stream")
        if size is not None:
            stored.width, stored.height = size
        self.uploads.append(stored)
        return self.register_file(stored)

    def new_file(
        self, kind: str, data: bytes | None, filename: str | None, mime: str | None
    ) -> StoredFile:
        """A StoredFile with fresh identifiers."""
        unique = self.unique_id("u")
        return StoredFile(f"{kind}-{unique}", unique, kind, data, filename, mime)

    def get_file(self, p: v.Params) -> JSON:
        """getFile."""
        stored = self.find_file(p.text("file_id", required=True) or "")
        if stored is None:
            raise v.bad_request("invalid file_id")
        return stored.to_api()

    def get_chat(self, p: v.Params) -> JSON:
        """getChat (a ChatFullInfo PTB can parse)."""
        chat = self._chat(p, sending=False)
        gifts = {
            "unlimited_gifts": True,
            "limited_gifts": True,
            "unique_gifts": True,
            "premium_subscription": True,
            "gifts_from_channels": True,
        }
        info = {
            **chat.to_api(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": gifts,
        }
        if chat.type in ("group", "supergroup"):  # what members may do by default
            info["permissions"] = dict.fromkeys(MEMBER_RIGHTS, True)
        return info

    def get_chat_member(self, p: v.Params) -> JSON:
        """getChatMember: the bot itself in any chat it is in; a user of a private chat; in a
        group, users seen there are members and other known users have left."""
        chat = self._chat(p, sending=False)
        user_id = p.integer("user_id", required=True)
        if user_id == self.bot.id:
            return self.bot_member(chat)
        user = self.users.get(user_id or 0)
        if user is None:
            raise v.bad_request("user not found")
        if chat.is_private:
            if user_id != chat.id:
                raise v.bad_request("user not found")
            return {"status": "member", "user": user.to_api()}
        status = "member" if user_id in self.chat_users.get(chat.id, set()) else "left"
        return {"status": status, "user": user.to_api()}


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG, GIF or JPEG image; (0, 0) for WebP/BMP; None if no image."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if data.startswith(b"\xff\xd8\xff"):
        return _jpeg_size(data) or (0, 0)
    if (data[:4] == b"RIFF" and data[8:12] == b"WEBP") or data[:2] == b"BM":
        return (0, 0)
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """Dimensions from a JPEG's SOFn marker."""
    pos = 2
    while pos + 9 < len(data):
        if data[pos] != 0xFF:
            return None
        marker, length = data[pos + 1], struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return int(width), int(height)
        pos += 2 + length
    return None


def _sorted(entities: list[JSON]) -> list[JSON]:
    """Entities in Telegram's canonical order, for comparisons."""
    return sorted(entities, key=lambda e: (e["offset"], -e["length"], str(e.get("type"))))


def _keyboard(markup: JSON | None) -> list[Any]:
    """The inline keyboard of a markup ([] when there is none), for comparisons."""
    return list((markup or {}).get("inline_keyboard") or [])


def _replace_inline_markup(message: StoredMessage, markup: JSON | None) -> None:
    """Edits replace (or, when omitted, remove) the inline keyboard, never a reply keyboard."""
    if (
        markup is not None
        or message.reply_markup is None
        or "inline_keyboard" in message.reply_markup
    ):
        message.reply_markup = markup


def _user_from_api(data: JSON) -> TgUser:
    """TgUser from a Bot API User object."""
    return TgUser(
        int(data["id"]),
        str(data.get("first_name", "")),
        data.get("last_name"),
        data.get("username"),
        data.get("language_code"),
        bool(data.get("is_bot", False)),
    )


def _chat_from_api(data: JSON) -> TgChat:
    """TgChat from a Bot API Chat object."""
    return TgChat(
        int(data["id"]),
        str(data.get("type", "private")),
        data.get("title"),
        data.get("first_name"),
        data.get("last_name"),
        data.get("username"),
    )
