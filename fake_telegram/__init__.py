"""A strict fake Telegram Bot API server and a user-like client for testing the bot."""

from .client import BotMessage, BotUser
from .html import HtmlParseError, ParsedText, escape, parse_html, utf16_len
from .models import Call, StoredFile, StoredMessage, TgChat, TgUser, UploadedFile
from .server import USE_CONFIGURED_SECRET, Delivery, FakeTelegram, Webhook
from .state import QueryRecord
from .validation import ApiError

__all__ = [
    "USE_CONFIGURED_SECRET",
    "ApiError",
    "BotMessage",
    "BotUser",
    "Call",
    "Delivery",
    "FakeTelegram",
    "HtmlParseError",
    "ParsedText",
    "QueryRecord",
    "StoredFile",
    "StoredMessage",
    "TgChat",
    "TgUser",
    "UploadedFile",
    "Webhook",
    "escape",
    "parse_html",
    "utf16_len",
]
