"""Parser and validator for Telegram's HTML parse mode, modelled on tdlib's parse_html."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Tag name -> entity type produced when the tag is closed.
ENTITY_TYPES: dict[str, str] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "tg-emoji": "custom_emoji",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
}
NAMED_ENTITIES: dict[str, str] = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SPACES = " \t\r\n\f\v"
_NAME_TOKEN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-")


class HtmlParseError(ValueError):
    """Raised when text is not valid Telegram HTML; str() is tdlib's error message."""

    @property
    def description(self) -> str:
        """The Bot API error description Telegram would return."""
        return f"Bad Request: can't parse entities: {self}"


@dataclass
class ParsedText:
    """Visible text plus message entities (offsets and lengths in UTF-16 code units)."""

    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _OpenTag:
    """A start tag waiting for its end tag."""

    name: str
    argument: str
    offset: int
    byte_offset: int


def utf16_len(text: str) -> int:
    """Length of text in UTF-16 code units, the unit Telegram counts in."""
    return len(text.encode("utf-16-le")) // 2


def escape(text: str) -> str:
    """Escape text for Telegram HTML (the same set html.escape(quote=False) handles)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def parse_html(source: str, *, strict_ampersand: bool = True) -> ParsedText:
    """Parse Telegram HTML into visible text and entities, raising HtmlParseError if invalid."""
    return _HtmlParser(source, strict_ampersand).parse()


class _HtmlParser:
    """Single-use scanner over one HTML string."""

    def __init__(self, source: str, strict_ampersand: bool) -> None:
        self.src = source
        self.strict_ampersand = strict_ampersand
        self.pos = 0
        self.out: list[str] = []
        self.out_len = 0
        self.stack: list[_OpenTag] = []
        self.entities: list[dict[str, Any]] = []

    def parse(self) -> ParsedText:
        """Run the scanner over the whole source."""
        while self.pos < len(self.src):
            char = self.src[self.pos]
            if char == "&":
                self._entity_reference()
            elif char == "<":
                self._tag()
            else:
                self._emit(char)
                self.pos += 1
        if self.stack:
            name = self.stack[-1].name
            raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{name}"')
        for entity in self.entities:
            if entity["type"] == "code":
                entity.pop("language", None)
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return ParsedText("".join(self.out), self.entities)

    def _byte_offset(self, pos: int) -> int:
        """UTF-8 byte offset of a character position, as Telegram reports it."""
        return len(self.src[:pos].encode("utf-8"))

    def _peek(self, pos: int) -> str:
        """Character at pos, or '' past the end (tdlib's NUL terminator)."""
        return self.src[pos] if pos < len(self.src) else ""

    def _emit(self, text: str) -> None:
        """Append visible text."""
        self.out.append(text)
        self.out_len += utf16_len(text)

    def _entity_reference(self) -> None:
        """Decode &...; at the current position, or treat '&' per strictness."""
        decoded, end = decode_entity(self.src, self.pos)
        if decoded is None:
            if self.strict_ampersand:
                raise HtmlParseError(
                    f'Character "&" must be escaped as "&amp;" at byte offset '
                    f"{self._byte_offset(self.pos)}"
                )
            decoded, end = "&", self.pos + 1
        self._emit(decoded)
        self.pos = end

    def _tag(self) -> None:
        """Handle a start or end tag beginning at the current '<'."""
        if self._peek(self.pos + 1) == "/":
            self._end_tag()
        else:
            self._start_tag()

    def _start_tag(self) -> None:
        """Parse '<name attr=value ...>' and push it on the stack."""
        begin = self.pos
        i = begin + 1
        while self._peek(i) not in ("", ">") and self._peek(i) not in _SPACES:
            i += 1
        name = self.src[begin + 1 : i].lower()
        if name not in ENTITY_TYPES:
            raise HtmlParseError(
                f'Unsupported start tag "{name}" at byte offset {self._byte_offset(begin)}'
            )
        attributes, self.pos = self._attributes(name, begin, i)
        argument = self._tag_argument(name, attributes, begin)
        self.stack.append(_OpenTag(name, argument, self.out_len, self._byte_offset(begin)))

    def _attributes(self, tag: str, begin: int, i: int) -> tuple[dict[str, str], int]:
        """Parse attributes up to and including '>'; return them and the next position."""
        attributes: dict[str, str] = {}
        while True:
            while self._peek(i) != "" and self._peek(i) in _SPACES:
                i += 1
            if self._peek(i) == "":
                raise HtmlParseError(
                    f"Unclosed start tag at byte offset {self._byte_offset(begin)}"
                )
            if self._peek(i) == ">":
                return attributes, i + 1
            name_start = i
            while self._peek(i) not in ("", "=", ">") and self._peek(i) not in _SPACES:
                i += 1
            attr_name = self.src[name_start:i].lower()
            while self._peek(i) != "" and self._peek(i) in _SPACES:
                i += 1
            if self._peek(i) != "=":
                if tag == "blockquote" and attr_name == "expandable":
                    attributes[attr_name] = ""
                    continue
                raise HtmlParseError(
                    "Expected equal sign in declaration of an attribute of the tag "
                    f'"{tag}" at byte offset {self._byte_offset(begin)}'
                )
            if not attr_name:
                raise HtmlParseError(
                    f'Empty attribute name in the tag "{tag}" at byte offset '
                    f"{self._byte_offset(begin)}"
                )
            value, i = self._attribute_value(i + 1, begin)
            attributes[attr_name] = value

    def _attribute_value(self, i: int, begin: int) -> tuple[str, int]:
        """Parse a quoted string or a name token starting at i."""
        while self._peek(i) != "" and self._peek(i) in _SPACES:
            i += 1
        quote = self._peek(i)
        if quote == "":
            raise HtmlParseError(f"Unclosed start tag at byte offset {self._byte_offset(begin)}")
        if quote not in ("'", '"'):
            start = i
            while self._peek(i) in _NAME_TOKEN_CHARS and self._peek(i) != "":
                i += 1
            if self._peek(i) == "" or (self._peek(i) not in _SPACES and self._peek(i) != ">"):
                raise HtmlParseError(
                    f"Unexpected end of name token at byte offset {self._byte_offset(start)}"
                )
            return self.src[start:i].lower(), i
        i += 1
        value: list[str] = []
        while self._peek(i) not in ("", quote):
            if self._peek(i) == "&":
                decoded, end = decode_entity(self.src, i)
                if decoded is not None:
                    value.append(decoded)
                    i = end
                    continue
            value.append(self.src[i])
            i += 1
        if self._peek(i) == "":
            raise HtmlParseError(f"Unclosed start tag at byte offset {self._byte_offset(begin)}")
        return "".join(value), i + 1

    def _tag_argument(self, name: str, attributes: dict[str, str], begin: int) -> str:
        """Extract the tag's meaningful attribute (href, language, ...), validating it."""
        where = f"at byte offset {self._byte_offset(begin)}"
        if name == "span":
            if attributes.get("class") != "tg-spoiler":
                raise HtmlParseError(f'Tag "span" must have class "tg-spoiler" {where}')
            return ""
        if name == "a":
            href = attributes.get("href", "").strip()
            if not href:
                raise HtmlParseError(f'Tag "a" must have a non-empty attribute "href" {where}')
            return href
        if name == "tg-emoji":
            emoji_id = attributes.get("emoji-id", "")
            if not emoji_id.isdigit():
                raise HtmlParseError("Invalid custom emoji identifier specified")
            return emoji_id
        if name == "code":
            css = attributes.get("class", "")
            return css.removeprefix("language-") if css.startswith("language-") else ""
        if name == "blockquote":
            return "expandable" if "expandable" in attributes else ""
        return ""

    def _end_tag(self) -> None:
        """Parse '</name>' and close the innermost open tag."""
        begin = self.pos
        if not self.stack:
            raise HtmlParseError(f"Unexpected end tag at byte offset {self._byte_offset(begin)}")
        i = begin + 2
        while self._peek(i) not in ("", ">") and self._peek(i) not in _SPACES:
            i += 1
        end_name = self.src[begin + 2 : i].lower()
        while self._peek(i) != "" and self._peek(i) in _SPACES:
            i += 1
        if self._peek(i) != ">":
            raise HtmlParseError(f"Unclosed end tag at byte offset {self._byte_offset(begin)}")
        open_tag = self.stack[-1]
        if end_name and end_name != open_tag.name:
            raise HtmlParseError(
                f"Unmatched end tag at byte offset {self._byte_offset(begin)}, "
                f'expected "</{open_tag.name}>", found "</{end_name}>"'
            )
        self.stack.pop()
        self.pos = i + 1
        self._close(open_tag)

    def _close(self, tag: _OpenTag) -> None:
        """Turn a closed tag into an entity (empty ranges produce none, as in Telegram)."""
        length = self.out_len - tag.offset
        if length == 0:
            return
        entity: dict[str, Any] = {
            "type": ENTITY_TYPES[tag.name],
            "offset": tag.offset,
            "length": length,
        }
        if tag.name == "a":
            entity["url"] = tag.argument
        elif tag.name == "tg-emoji":
            entity["custom_emoji_id"] = tag.argument
        elif tag.name == "blockquote" and tag.argument:
            entity["type"] = "expandable_blockquote"
        elif tag.name == "code" and tag.argument and self.stack and self.stack[-1].name == "pre":
            entity["language"] = tag.argument
        elif tag.name == "pre" and self._merge_code_into_pre(entity):
            return
        self.entities.append(entity)

    def _merge_code_into_pre(self, pre: dict[str, Any]) -> bool:
        """Fold <pre><code class="language-x"> into one pre entity with a language."""
        if not self.entities:
            return False
        inner = self.entities[-1]
        same_range = (inner["offset"], inner["length"]) == (pre["offset"], pre["length"])
        if inner["type"] != "code" or not same_range or not inner.get("language"):
            return False
        inner["type"] = "pre"
        return True


def decode_entity(src: str, pos: int) -> tuple[str | None, int]:
    """Decode the character reference at src[pos] == '&'; (None, pos) if it is not one."""
    end = src.find(";", pos + 1, pos + 12)
    if end == -1:
        return None, pos
    body = src[pos + 1 : end]
    if body in NAMED_ENTITIES:
        return NAMED_ENTITIES[body], end + 1
    code = _numeric_reference(body)
    if code is None:
        return None, pos
    return chr(code), end + 1


def _numeric_reference(body: str) -> int | None:
    """Code point of '#123' or '#x1F600', or None if invalid."""
    if body[:2].lower() == "#x" and len(body) > 2:
        digits, base = body[2:], 16
        valid = all(c in "0123456789abcdefABCDEF" for c in digits)
    elif body[:1] == "#" and len(body) > 1:
        digits, base = body[1:], 10
        valid = digits.isascii() and digits.isdigit()
    else:
        return None
    if not valid:
        return None
    code = int(digits, base)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return code
