"""Plain data objects shared by the fake server, its state and the test client."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]


@dataclass(frozen=True)
class TgUser:
    """A Telegram user as it appears in updates."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "en"
    is_bot: bool = False

    def to_api(self) -> JSON:
        """The Bot API User object."""
        data: JSON = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        return data


@dataclass(frozen=True)
class TgChat:
    """A private chat or a group, as it appears in messages."""

    id: int
    type: str
    title: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None

    @classmethod
    def private(cls, user: TgUser) -> TgChat:
        """The private chat between a user and the bot (its id is the user's id)."""
        return cls(user.id, "private", None, user.first_name, user.last_name, user.username)

    @property
    def is_private(self) -> bool:
        """Whether this is a one-to-one chat with a user."""
        return self.type == "private"

    def to_api(self) -> JSON:
        """The Bot API Chat object."""
        data: JSON = {"id": self.id, "type": self.type}
        for key in ("title", "first_name", "last_name", "username"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        return data


@dataclass(frozen=True)
class UploadedFile:
    """One multipart file part of a request."""

    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class StoredFile:
    """A file known to the fake: uploaded by the bot, or 'sent' by a test user."""

    file_id: str
    file_unique_id: str
    kind: str
    data: bytes | None = None
    filename: str | None = None
    mime_type: str | None = None
    width: int | None = None
    height: int | None = None

    @property
    def file_size(self) -> int | None:
        """Size in bytes, if the content is known."""
        return None if self.data is None else len(self.data)

    @property
    def file_path(self) -> str:
        """Path under /file/bot<token>/ where the content can be downloaded."""
        suffix = f"_{self.filename}" if self.filename else ""
        return f"{self.kind}s/{self.file_unique_id}{suffix}"

    def to_api(self) -> JSON:
        """The Bot API File object (as returned by getFile)."""
        data: JSON = {"file_id": self.file_id, "file_unique_id": self.file_unique_id}
        if self.file_size is not None:
            data["file_size"] = self.file_size
        data["file_path"] = self.file_path
        return data


@dataclass
class StoredMessage:
    """Current state of one message the bot sent (updated by edits)."""

    message_id: int
    chat_id: int
    date: int
    text: str | None = None
    entities: list[JSON] = field(default_factory=list)
    html: str | None = None
    parse_mode: str | None = None
    caption: str | None = None
    caption_entities: list[JSON] = field(default_factory=list)
    reply_markup: JSON | None = None
    photo: StoredFile | None = None
    document: StoredFile | None = None
    edit_date: int | None = None
    reply_to_message_id: int | None = None

    @property
    def kind(self) -> str:
        """'text', 'photo' or 'document'."""
        if self.photo is not None:
            return "photo"
        if self.document is not None:
            return "document"
        return "text"

    @property
    def visible_text(self) -> str:
        """The text a user sees: message text, or the caption of a media message."""
        return self.text if self.text is not None else (self.caption or "")

    @property
    def inline_keyboard(self) -> list[list[JSON]]:
        """Rows of inline buttons (empty when the message has no inline keyboard)."""
        if not self.reply_markup:
            return []
        rows = self.reply_markup.get("inline_keyboard", [])
        return [list(row) for row in rows]

    @property
    def button_labels(self) -> list[list[str]]:
        """Rows of inline button labels."""
        return [[str(button.get("text", "")) for button in row] for row in self.inline_keyboard]

    def to_api(self, bot: TgUser, chat: TgChat) -> JSON:
        """The Bot API Message object Telegram would return for this message."""
        data: JSON = {
            "message_id": self.message_id,
            "from": bot.to_api(),
            "chat": chat.to_api(),
            "date": self.date,
        }
        if self.edit_date is not None:
            data["edit_date"] = self.edit_date
        if self.text is not None:
            data["text"] = self.text
            if self.entities:
                data["entities"] = self.entities
        if self.photo is not None:
            data["photo"] = photo_sizes(self.photo)
        if self.document is not None:
            data["document"] = document_object(self.document)
        if self.caption:
            data["caption"] = self.caption
            if self.caption_entities:
                data["caption_entities"] = self.caption_entities
        if self.inline_keyboard:
            data["reply_markup"] = {"inline_keyboard": self.inline_keyboard}
        return data


@dataclass
class Call:
    """One request the bot made to the fake, with its decoded parameters and outcome."""

    method: str
    params: JSON
    files: dict[str, UploadedFile]
    time: float
    status: int = 0
    response: JSON = field(default_factory=dict)
    finished_at: float = 0.0

    @property
    def ok(self) -> bool:
        """Whether Telegram answered with ok=true."""
        return self.status == 200

    @property
    def result(self) -> Any:
        """The 'result' of a successful call."""
        return self.response.get("result")

    @property
    def description(self) -> str:
        """The error description of a failed call ('' on success)."""
        return str(self.response.get("description", ""))

    @property
    def chat_id(self) -> int | None:
        """The numeric chat_id parameter, if any."""
        value = self.params.get("chat_id")
        return value if isinstance(value, int) else None

    def __str__(self) -> str:
        """Short human-readable summary used in assertion messages."""
        outcome = "ok" if self.ok else f"{self.status} {self.description}"
        shown = {k: v for k, v in self.params.items() if k not in ("reply_markup", "results")}
        return f"{self.method}({shown}) -> {outcome}"


def photo_sizes(photo: StoredFile) -> list[JSON]:
    """PhotoSize list for a photo (Telegram sends several sizes; a thumbnail and the original)."""
    width, height = photo.width or 800, photo.height or 600
    scale = min(1.0, 90 / max(width, height))
    sizes = [(max(1, int(width * scale)), max(1, int(height * scale))), (width, height)]
    result = []
    for index, (w, h) in enumerate(sizes):
        size: JSON = {
            "file_id": f"{photo.file_id}" if index else f"{photo.file_id}-thumb",
            "file_unique_id": f"{photo.file_unique_id}{index}",
            "width": w,
            "height": h,
        }
        if index and photo.file_size is not None:
            size["file_size"] = photo.file_size
        result.append(size)
    return result


def document_object(document: StoredFile) -> JSON:
    """Bot API Document object."""
    data: JSON = {"file_id": document.file_id, "file_unique_id": document.file_unique_id}
    for key in ("file_name", "mime_type", "file_size"):
        value = document.filename if key == "file_name" else getattr(document, key)
        if value is not None:
            data[key] = value
    return data
