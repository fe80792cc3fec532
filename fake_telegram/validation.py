"""Request decoding and the Bot API's validation rules, with Telegram's error wording."""

from __future__ import annotations

import json
import re
from typing import Any

from .html import HtmlParseError, ParsedText, parse_html, utf16_len
from .models import JSON, UploadedFile

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_ANSWER_LENGTH = 200
MAX_CALLBACK_DATA_BYTES = 64
MAX_INLINE_RESULTS = 50
MAX_BUTTONS = 100

# Parameters whose form-encoded value is a JSON document (PTB json.dumps()es every non-str).
JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "allowed_updates",
        "results",
        "commands",
        "scope",
        "reply_parameters",
        "link_preview_options",
        "button",
        "media",
        "menu_button",
        "message_ids",
    }
)
INT_FIELDS = frozenset(
    {
        "message_id",
        "offset",
        "limit",
        "timeout",
        "cache_time",
        "max_connections",
        "reply_to_message_id",
        "message_thread_id",
        "user_id",
        "duration",
        "width",
        "height",
    }
)
BOOL_FIELDS = frozenset(
    {
        "show_alert",
        "drop_pending_updates",
        "disable_notification",
        "protect_content",
        "is_personal",
        "disable_web_page_preview",
        "allow_sending_without_reply",
        "has_spoiler",
        "disable_content_type_detection",
        "show_caption_above_media",
        "allow_paid_broadcast",
    }
)
_INT_RE = re.compile(r"-?\d+")
_HOST_RE = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z][A-Za-z0-9-]*"
    r"|\d{1,3}(?:\.\d{1,3}){3}|localhost"
)
_HTTP_URL_RE = re.compile(r"https?://(?P<host>[^/:?#\s]+)(?::(?P<port>\d{1,5}))?(?:[/?#]\S*)?")
_TG_URL_RE = re.compile(r"tg://[A-Za-z0-9_]+(?:[/?]\S*)?")
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
INLINE_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
INLINE_RESULT_TYPES = frozenset(
    {
        "article",
        "photo",
        "gif",
        "mpeg4_gif",
        "video",
        "audio",
        "voice",
        "document",
        "location",
        "venue",
        "contact",
        "game",
        "sticker",
    }
)
_TRIMMED = frozenset("\u200b\u200c\u200d\u2060\ufeff")


class ApiError(Exception):
    """A Bot API error response."""

    def __init__(self, description: str, status: int = 400, retry_after: int | None = None):
        super().__init__(description)
        self.description = description
        self.status = status
        self.retry_after = retry_after

    def payload(self) -> JSON:
        """The JSON body Telegram sends for this error."""
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(message: str) -> ApiError:
    """A 400 error whose description starts with 'Bad Request: '."""
    return ApiError(f"Bad Request: {message}")


def decode_params(raw: dict[str, Any]) -> JSON:
    """Decode form values into JSON types: nested objects, ints and booleans."""
    return {name: _decode_value(name, value) for name, value in raw.items()}


def _decode_value(name: str, value: Any) -> Any:
    """Decode one parameter; undecodable values are kept verbatim for validation to reject."""
    if not isinstance(value, str):
        return value
    if name in JSON_FIELDS:
        try:
            return json.loads(value)
        except ValueError:
            return value
    if (name in INT_FIELDS or name == "chat_id") and _INT_RE.fullmatch(value):
        return int(value)
    if name in BOOL_FIELDS and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    return value


class Params:
    """Typed access to a request's decoded parameters, raising Telegram-style errors."""

    def __init__(self, values: JSON, files: dict[str, UploadedFile] | None = None) -> None:
        self.values = values
        self.files = files or {}

    def has(self, name: str) -> bool:
        """Whether the parameter (or a file part of that name) is present."""
        return name in self.values or name in self.files

    def text(self, name: str, *, required: bool = False) -> str | None:
        """A string parameter (numbers are accepted and stringified, as Telegram does)."""
        value = self.values.get(name)
        if value is None:
            if required:
                raise bad_request(f'parameter "{name}" is required')
            return None
        if isinstance(value, dict | list):
            raise bad_request(f'field "{name}" must be of type String')
        return str(value) if not isinstance(value, bool) else str(value).lower()

    def integer(self, name: str, *, required: bool = False) -> int | None:
        """An integer parameter."""
        value = self.values.get(name)
        if value is None:
            if required:
                raise bad_request(f"{name} is empty" if name != "message_id" else _NO_MSG_ID)
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, str) and _INT_RE.fullmatch(value):
                return int(value)
            raise bad_request(f'field "{name}" must be of type Integer')
        return value

    def flag(self, name: str) -> bool:
        """A boolean parameter (absent means false)."""
        value = self.values.get(name)
        if value is None:
            return False
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
            return value.lower() in ("true", "1")
        raise bad_request(f'field "{name}" must be of type Boolean')

    def obj(self, name: str, what: str = "JSON object") -> Any:
        """A JSON-encoded parameter (object or array), already decoded."""
        value = self.values.get(name)
        if isinstance(value, str):
            raise bad_request(f"can't parse {what}")
        return value


_NO_MSG_ID = "message identifier is not specified"


def message_text(
    text: str | None, parse_mode: str | None, entities: Any, *, strict_ampersand: bool
) -> ParsedText:
    """Parse and validate a message text (1..4096 UTF-16 units after entity parsing)."""
    if text is None:
        raise bad_request("message text is empty")
    parsed = trim(formatted_text(text, parse_mode, entities, strict_ampersand=strict_ampersand))
    if not parsed.text:
        raise bad_request("message text is empty")
    if utf16_len(parsed.text) > MAX_TEXT_LENGTH:
        raise bad_request("message is too long")
    return parsed


def caption_text(
    caption: str | None, parse_mode: str | None, entities: Any, *, strict_ampersand: bool
) -> ParsedText:
    """Parse and validate a media caption (0..1024 UTF-16 units after entity parsing)."""
    if not caption:
        return ParsedText("")
    parsed = trim(formatted_text(caption, parse_mode, entities, strict_ampersand=strict_ampersand))
    if utf16_len(parsed.text) > MAX_CAPTION_LENGTH:
        raise bad_request("message caption is too long")
    return parsed


def formatted_text(
    text: str, parse_mode: str | None, entities: Any, *, strict_ampersand: bool
) -> ParsedText:
    """Apply parse_mode (or explicit entities) to text."""
    if entities is not None:
        return ParsedText(text, _checked_entities(entities, text))
    mode = (parse_mode or "").strip().lower()
    if mode == "html":
        try:
            return parse_html(text, strict_ampersand=strict_ampersand)
        except HtmlParseError as exc:
            raise ApiError(exc.description) from None
    if mode in ("markdown", "markdownv2"):
        raise bad_request(f"parse_mode {parse_mode} is not supported by the fake (use HTML)")
    if mode:
        raise bad_request("unsupported parse_mode")
    return ParsedText(text)


def _checked_entities(entities: Any, text: str) -> list[JSON]:
    """Validate an explicit entities array against the text length."""
    if not isinstance(entities, list) or not all(isinstance(e, dict) for e in entities):
        raise bad_request("can't parse entities JSON object")
    size = utf16_len(text)
    for entity in entities:
        offset, length = entity.get("offset"), entity.get("length")
        if not isinstance(offset, int) or not isinstance(length, int) or "type" not in entity:
            raise bad_request("can't parse MessageEntity")
        if offset < 0 or length <= 0 or offset + length > size:
            raise bad_request("entity beginning/end is out of the text bounds")
    return [dict(e) for e in entities]


def trim(parsed: ParsedText) -> ParsedText:
    """Strip leading/trailing whitespace as Telegram does, shifting entities accordingly."""
    text = parsed.text
    start, end = 0, len(text)
    while start < end and (text[start].isspace() or text[start] in _TRIMMED):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in _TRIMMED):
        end -= 1
    if (start, end) == (0, len(text)):
        return parsed
    shift, new_text = utf16_len(text[:start]), text[start:end]
    size = utf16_len(new_text)
    entities = []
    for entity in parsed.entities:
        begin = max(entity["offset"] - shift, 0)
        finish = min(entity["offset"] + entity["length"] - shift, size)
        if finish > begin:
            entities.append({**entity, "offset": begin, "length": finish - begin})
    return ParsedText(new_text, entities)


def is_valid_url(url: str) -> bool:
    """Whether a URL looks like one Telegram accepts on a button (http(s) or tg://)."""
    if _TG_URL_RE.fullmatch(url):
        return True
    match = _HTTP_URL_RE.fullmatch(url)
    if not match or not _HOST_RE.fullmatch(match["host"]):
        return False
    return match["port"] is None or 0 < int(match["port"]) < 65536


def reply_markup(markup: Any, *, inline_only: bool = False) -> JSON | None:
    """Validate any reply_markup; edits and inline results accept only inline keyboards."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        inline_keyboard(markup)
    elif inline_only:
        raise bad_request("inline keyboard expected")
    elif "keyboard" in markup:
        _reply_keyboard(markup)
    elif not (markup.get("remove_keyboard") is True or markup.get("force_reply") is True):
        raise bad_request("can't parse reply keyboard markup JSON object")
    return markup


def inline_keyboard(markup: JSON) -> None:
    """Validate an InlineKeyboardMarkup."""
    rows = markup.get("inline_keyboard")
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(
            'can\'t parse reply keyboard markup JSON object: Field "inline_keyboard" of '
            "the InlineKeyboardMarkup should be an Array of Arrays"
        )
    if sum(len(row) for row in rows) > MAX_BUTTONS:
        raise bad_request("reply markup is too long")
    for row in rows:
        for button in row:
            inline_button(button)


def inline_button(button: Any) -> None:
    """Validate one InlineKeyboardButton."""
    prefix = "can't parse inline keyboard button: "
    if not isinstance(button, dict):
        raise bad_request(prefix + "InlineKeyboardButton must be an Object")
    if not isinstance(button.get("text"), str):
        raise bad_request(prefix + 'Can\'t find field "text"')
    if not button["text"].strip():
        raise bad_request("BUTTON_TEXT_INVALID")
    actions = [name for name in INLINE_BUTTON_ACTIONS if name in button]
    if not actions:
        raise bad_request(prefix + "Text buttons are unallowed in the inline keyboard")
    if len(actions) > 1:
        raise bad_request(prefix + f"exactly one action field expected, got {', '.join(actions)}")
    _inline_button_action(button, actions[0])


def private_only(markup: JSON | None, chat_type: str) -> None:
    """Mini App buttons (``web_app``) can be sent only to private chats."""
    rows = (markup or {}).get("inline_keyboard") or []
    if chat_type != "private" and any(
        isinstance(b, dict) and "web_app" in b for row in rows for b in row
    ):
        raise bad_request("BUTTON_TYPE_INVALID")


def _inline_button_action(button: JSON, action: str) -> None:
    """Validate the single action field of an inline button."""
    value = button[action]
    if action == "callback_data":
        size = len(value.encode("utf-8")) if isinstance(value, str) else 0
        if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
            raise bad_request("BUTTON_DATA_INVALID")
    elif action == "url":
        if not isinstance(value, str) or not is_valid_url(value):
            raise bad_request(f"inline keyboard button URL '{value}' is invalid: Wrong HTTP URL")
    elif action in ("login_url", "web_app"):
        url = value.get("url") if isinstance(value, dict) else None
        if not isinstance(url, str) or not is_valid_url(url):
            raise bad_request("BUTTON_URL_INVALID")
        if action == "web_app" and not url.startswith("https://"):  # Mini Apps: https only
            raise bad_request("BUTTON_URL_INVALID")
    elif action in ("switch_inline_query", "switch_inline_query_current_chat") and not isinstance(
        value, str
    ):
        raise bad_request(f'can\'t parse inline keyboard button: Field "{action}" must be a String')


def _reply_keyboard(markup: JSON) -> None:
    """Validate a ReplyKeyboardMarkup."""
    rows = markup.get("keyboard")
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(
            'can\'t parse reply keyboard markup JSON object: Field "keyboard" of '
            "the ReplyKeyboardMarkup should be an Array of Arrays"
        )
    for row in rows:
        for button in row:
            text = button if isinstance(button, str) else None
            if isinstance(button, dict):
                text = button.get("text")
            if not isinstance(text, str) or not text.strip():
                raise bad_request("can't parse keyboard button: Text must be non-empty")


def callback_answer_text(text: str | None) -> None:
    """answerCallbackQuery's text is at most 200 characters."""
    if text is not None and utf16_len(text) > MAX_CALLBACK_ANSWER_LENGTH:
        raise bad_request("MESSAGE_TOO_LONG")


def inline_results(results: Any, *, strict_ampersand: bool) -> list[JSON]:
    """Validate answerInlineQuery results: count, ids, required fields and message contents."""
    if not isinstance(results, list):
        raise bad_request("can't parse inline query results JSON object")
    if len(results) > MAX_INLINE_RESULTS:
        raise bad_request("RESULTS_TOO_MUCH")
    seen: set[str] = set()
    for result in results:
        _inline_result(result, seen, strict_ampersand=strict_ampersand)
    return results


def _inline_result(result: Any, seen: set[str], *, strict_ampersand: bool) -> None:
    """Validate one InlineQueryResult."""
    prefix = "can't parse inline query result: "
    if not isinstance(result, dict):
        raise bad_request(prefix + "InlineQueryResult must be an Object")
    result_id = result.get("id")
    if not isinstance(result_id, str) or not 1 <= len(result_id.encode()) <= 64:
        raise bad_request("RESULT_ID_INVALID")
    if result_id in seen:
        raise bad_request("RESULT_ID_DUPLICATE")
    seen.add(result_id)
    kind = result.get("type")
    if kind not in INLINE_RESULT_TYPES:
        raise bad_request(prefix + f'Unsupported inline query result type "{kind}"')
    if kind == "article":
        if not isinstance(result.get("title"), str) or not result["title"]:
            raise bad_request(prefix + 'Can\'t find field "title"')
        if not isinstance(result.get("input_message_content"), dict):
            raise bad_request(prefix + 'Can\'t find field "input_message_content"')
    content = result.get("input_message_content")
    if isinstance(content, dict) and "message_text" in content:
        message_text(
            content.get("message_text"),
            content.get("parse_mode"),
            content.get("entities"),
            strict_ampersand=strict_ampersand,
        )
    if "caption" in result:
        caption_text(
            result.get("caption"),
            result.get("parse_mode"),
            result.get("caption_entities"),
            strict_ampersand=strict_ampersand,
        )
    reply_markup(result.get("reply_markup"), inline_only=True)


def bot_commands(commands: Any) -> list[JSON]:
    """Validate setMyCommands' list of BotCommand."""
    if not isinstance(commands, list) or not all(isinstance(c, dict) for c in commands):
        raise bad_request("can't parse commands JSON object")
    if len(commands) > 100:
        raise bad_request("too many commands")
    for command in commands:
        name, description = command.get("command"), command.get("description")
        if not isinstance(name, str) or not _COMMAND_RE.fullmatch(name):
            raise bad_request("BOT_COMMAND_INVALID")
        if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
            raise bad_request("command description must be non-empty")
    return [{"command": c["command"], "description": c["description"]} for c in commands]


def secret_token(secret: str | None) -> None:
    """setWebhook's secret_token: 1-256 characters A-Z, a-z, 0-9, _ and -."""
    if secret is not None and not _SECRET_RE.fullmatch(secret):
        raise bad_request("secret token contains unallowed characters")
