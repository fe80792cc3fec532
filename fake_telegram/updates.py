"""Builders for realistic Bot API updates, as Telegram would send them to a bot."""

from __future__ import annotations

import re
import struct
import time
import zlib
from typing import Any

from .html import utf16_len
from .models import JSON, TgChat, TgUser

_COMMAND_RE = re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")


def make_png(width: int = 1, height: int = 1) -> bytes:
    """A valid white RGB PNG image of the given size."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = b"".join(b"\x00" + b"\xff\xff\xff" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(pixels))
        + chunk(b"IEND", b"")
    )


# What a test user "uploads" as a photo.
TINY_PNG = make_png()


def now() -> int:
    """Current Unix time, the unit of 'date' fields."""
    return int(time.time())


def command_entities(text: str) -> list[JSON]:
    """bot_command entities for every /command in text, as Telegram detects them."""
    entities = []
    for match in _COMMAND_RE.finditer(text):
        entities.append(
            {
                "type": "bot_command",
                "offset": utf16_len(text[: match.start()]),
                "length": utf16_len(match.group()),
            }
        )
    return entities


def base_message(message_id: int, user: TgUser, chat: TgChat, date: int | None = None) -> JSON:
    """Fields every incoming message has."""
    return {
        "message_id": message_id,
        "from": user.to_api(),
        "chat": chat.to_api(),
        "date": date if date is not None else now(),
    }


def text_message(message_id: int, user: TgUser, chat: TgChat, text: str) -> JSON:
    """A text message, with bot_command entities when it contains /commands."""
    message = base_message(message_id, user, chat)
    message["text"] = text
    entities = command_entities(text)
    if entities:
        message["entities"] = entities
    return message


def sticker_message(message_id: int, user: TgUser, chat: TgChat, emoji: str = "👍") -> JSON:
    """A regular static sticker."""
    message = base_message(message_id, user, chat)
    message["sticker"] = {
        "file_id": f"sticker-{message_id}",
        "file_unique_id": f"stk{message_id}",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
        "emoji": emoji,
        "set_name": "TestStickers",
        "file_size": 12345,
    }
    return message


def photo_message(
    message_id: int, user: TgUser, chat: TgChat, file_id: str, caption: str | None = None
) -> JSON:
    """A photo (two PhotoSizes) with an optional caption."""
    message = base_message(message_id, user, chat)
    message["photo"] = [
        {"file_id": f"{file_id}-thumb", "file_unique_id": f"{file_id}s", "width": 1, "height": 1},
        {
            "file_id": file_id,
            "file_unique_id": f"{file_id}m",
            "width": 1,
            "height": 1,
            "file_size": len(TINY_PNG),
        },
    ]
    if caption:
        message["caption"] = caption
    return message


def voice_message(message_id: int, user: TgUser, chat: TgChat, duration: int = 3) -> JSON:
    """A voice note."""
    message = base_message(message_id, user, chat)
    message["voice"] = {
        "file_id": f"voice-{message_id}",
        "file_unique_id": f"vc{message_id}",
        "duration": duration,
        "mime_type": "audio/ogg",
        "file_size": 4096,
    }
    return message


def location_message(
    message_id: int, user: TgUser, chat: TgChat, latitude: float, longitude: float
) -> JSON:
    """A shared location."""
    message = base_message(message_id, user, chat)
    message["location"] = {"latitude": latitude, "longitude": longitude}
    return message


def contact_message(
    message_id: int, user: TgUser, chat: TgChat, phone: str, *, own: bool = True
) -> JSON:
    """A shared contact; own=True is what a 'share my phone' keyboard button sends."""
    message = base_message(message_id, user, chat)
    contact: JSON = {"phone_number": phone, "first_name": user.first_name}
    if user.last_name:
        contact["last_name"] = user.last_name
    if own:
        contact["user_id"] = user.id
    message["contact"] = contact
    return message


def document_message(
    message_id: int, user: TgUser, chat: TgChat, file_id: str, filename: str, size: int
) -> JSON:
    """A document (file) sent by a user."""
    message = base_message(message_id, user, chat)
    message["document"] = {
        "file_id": file_id,
        "file_unique_id": f"{file_id}u",
        "file_name": filename,
        "mime_type": "application/octet-stream",
        "file_size": size,
    }
    return message


def message_update(message: JSON) -> JSON:
    """Update carrying a new message."""
    return {"message": message}


def edited_message_update(message: JSON, new_text: str) -> JSON:
    """Update carrying an edited version of an earlier text message."""
    edited = {**message, "text": new_text, "edit_date": now()}
    edited.pop("entities", None)
    entities = command_entities(new_text)
    if entities:
        edited["entities"] = entities
    return {"edited_message": edited}


def callback_query_update(
    query_id: str, user: TgUser, message: JSON, data: str, chat_instance: str
) -> JSON:
    """Update for a press on an inline button with callback_data."""
    return {
        "callback_query": {
            "id": query_id,
            "from": user.to_api(),
            "message": message,
            "chat_instance": chat_instance,
            "data": data,
        }
    }


def inline_query_update(
    query_id: str, user: TgUser, query: str, *, offset: str = "", chat_type: str = "sender"
) -> JSON:
    """Update for a user typing '@bot query' in some chat."""
    return {
        "inline_query": {
            "id": query_id,
            "from": user.to_api(),
            "query": query,
            "offset": offset,
            "chat_type": chat_type,
        }
    }


def update_type(update: JSON) -> str:
    """The kind of an update ('message', 'callback_query', ...)."""
    for key in update:
        if key != "update_id":
            return key
    return ""


def update_chat(update: JSON) -> JSON | None:
    """The chat an update happens in, if any."""
    body: Any = next((v for k, v in update.items() if k != "update_id"), None)
    if not isinstance(body, dict):
        return None
    if isinstance(body.get("chat"), dict):
        return dict(body["chat"])
    message = body.get("message")
    if isinstance(message, dict) and isinstance(message.get("chat"), dict):
        return dict(message["chat"])
    return None


def update_user(update: JSON) -> JSON | None:
    """The user who caused an update, if any."""
    body: Any = next((v for k, v in update.items() if k != "update_id"), None)
    if isinstance(body, dict) and isinstance(body.get("from"), dict):
        return dict(body["from"])
    return None
