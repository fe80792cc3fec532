"""Who opened the Mini App: Telegram's signed ``initData``, verified before a byte of it is trusted.

A Mini App receives ``Telegram.WebApp.initData``, a query string that Telegram signed with the
bot's token, and sends it to us with each request. Telegram's documentation ("Validating data
received via the Mini App", https://core.telegram.org/bots/webapps) defines the check:

- the *data-check-string* is every received field except ``hash`` (``signature`` included),
  sorted by key, each written ``key=<value>``, joined by line feeds;
- ``secret_key = HMAC_SHA256(key="WebAppData", msg=<bot token>)``;
- the data is Telegram's when ``hex(HMAC_SHA256(key=secret_key, msg=data_check_string))`` equals
  ``hash``.

:func:`verify_init_data` reads only the size and the query-string syntax before it has checked
that hash; ``auth_date`` and ``user`` are read only once the hash matched. Stricter than the
documentation requires, and harmless to what Telegram sends: the string must be ASCII (Telegram
percent-encodes it), each key may appear once and must look like Telegram's (letters, digits and
underscores), and no value may hold a line feed, so no two different sets of fields can share a
data-check-string. Exceptions never repeat the token, the initData or any of its values.

Pure standard library: no web server and no Telegram library, so the console and tests can use it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qsl, quote, urlencode

__all__ = [
    "MAX_AGE_SECONDS",
    "MAX_CLOCK_SKEW_SECONDS",
    "MAX_INIT_DATA_BYTES",
    "MAX_USER_ID",
    "InitDataError",
    "Reason",
    "WebAppUser",
    "sign_init_data",
    "verify_init_data",
]

#: How old a signed initData may be: Telegram signs it when the Mini App opens.
MAX_AGE_SECONDS = 24 * 60 * 60
#: How far in the future ``auth_date`` may be, for clocks that disagree a little.
MAX_CLOCK_SKEW_SECONDS = 5 * 60
#: Telegram's initData is well under a kilobyte; anything near this is not from Telegram.
MAX_INIT_DATA_BYTES = 4096
#: Telegram user ids have at most 52 significant bits.
MAX_USER_ID = 2**52

Reason = Literal["missing", "malformed", "forged", "stale", "no_user"]

_WEB_APP_DATA = b"WebAppData"
_KEY = re.compile(r"[A-Za-z0-9_]{1,64}", re.ASCII)
_HASH = re.compile(r"[0-9a-f]{64}", re.ASCII)
_AUTH_DATE = re.compile(r"[0-9]{1,12}", re.ASCII)


@dataclass(frozen=True, slots=True)
class WebAppUser:
    """The Telegram user that Telegram vouched for."""

    id: int
    first_name: str
    last_name: str
    language_code: str | None

    @property
    def full_name(self) -> str:
        """First and last name, as Telegram shows them."""
        return " ".join(part for part in (self.first_name, self.last_name) if part)


class InitDataError(Exception):
    """Why initData was refused.

    ``.reason`` is one of "missing", "malformed", "forged", "stale", "no_user".
    The message says what was wrong in general terms; it never quotes the initData or the token.
    """

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason: Reason = reason


def verify_init_data(
    init_data: str, bot_token: str, *, now: float, max_age: float = MAX_AGE_SECONDS
) -> WebAppUser:
    """The user Telegram signed ``init_data`` for; raises :class:`InitDataError` otherwise.

    ``now`` is the current Unix time; ``max_age`` how many seconds old ``auth_date`` may be.
    Raises ``ValueError`` when ``bot_token`` is empty or a time is not finite (errors of the
    caller, not of the client).
    """
    if not bot_token:
        raise ValueError("no bot token to verify initData with")
    if not (math.isfinite(now) and math.isfinite(max_age)):
        raise ValueError("now and max_age must be finite numbers")
    if not init_data:
        raise InitDataError("missing", "no initData was sent")
    fields = _parse(init_data)
    received = fields.pop("hash", None)
    if received is None:
        raise InitDataError("malformed", "initData has no hash")
    if _HASH.fullmatch(received) is None:
        raise InitDataError("malformed", "the hash is not 64 lowercase hexadecimal digits")
    if not hmac.compare_digest(_hash(fields, bot_token), received):
        raise InitDataError("forged", "the hash does not match this bot's token")
    # From here on the fields are Telegram's.
    _check_auth_date(fields.get("auth_date"), now=now, max_age=max_age)
    return _user(fields.get("user"))


def sign_init_data(fields: Mapping[str, str], bot_token: str) -> str:
    """``fields`` as initData that Telegram would have signed with ``bot_token`` (``hash`` last).

    For tests and for acting as Telegram in end-to-end runs. Raises ``ValueError`` for fields that
    :func:`verify_init_data` would refuse to read: a ``hash`` key, keys that are not Telegram-like,
    or values holding a line feed.
    """
    if not bot_token:
        raise ValueError("no bot token to sign initData with")
    if "hash" in fields:
        raise ValueError("the fields already have a hash")
    for key, value in fields.items():
        if _KEY.fullmatch(key) is None:
            raise ValueError("a key is not letters, digits and underscores")
        if "\n" in value:
            raise ValueError("a value holds a line feed")
    pairs = [*fields.items(), ("hash", _hash(fields, bot_token))]
    return urlencode(pairs, quote_via=quote, safe="")


def _secret_key(bot_token: str) -> bytes:
    return hmac.new(_WEB_APP_DATA, bot_token.encode(), hashlib.sha256).digest()


def _hash(fields: Mapping[str, str], bot_token: str) -> str:
    """The hex HMAC of the data-check-string: every field but ``hash``, sorted by key."""
    data_check_string = "\n".join(f"{key}={fields[key]}" for key in sorted(fields))
    return hmac.new(_secret_key(bot_token), data_check_string.encode(), hashlib.sha256).hexdigest()


def _parse(init_data: str) -> dict[str, str]:
    """The fields of a query string, refusing anything Telegram would not have sent."""
    # Length first: a huge string is refused before it is encoded, scanned or parsed.
    if len(init_data) > MAX_INIT_DATA_BYTES:
        raise InitDataError("malformed", f"initData is over {MAX_INIT_DATA_BYTES} bytes")
    if not init_data.isascii():  # ASCII, so its length in characters is its length in bytes
        raise InitDataError("malformed", "initData is not a percent-encoded query string")
    pairs = _parse_pairs(init_data)
    if pairs is None:
        raise InitDataError("malformed", "initData is not a query string")
    fields: dict[str, str] = {}
    for key, value in pairs:
        if key in fields:
            raise InitDataError("malformed", "a field of initData appears twice")
        if _KEY.fullmatch(key) is None:
            raise InitDataError("malformed", "a key of initData is not letters and digits")
        if "\n" in value:
            raise InitDataError("malformed", "a value of initData holds a line feed")
        fields[key] = value
    return fields


def _parse_pairs(init_data: str) -> list[tuple[str, str]] | None:
    """parse_qsl's pairs, or None. Its errors quote the input, so they never reach a caller."""
    try:
        return parse_qsl(
            init_data,
            keep_blank_values=True,
            strict_parsing=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_INIT_DATA_BYTES // 2,
        )
    except ValueError:  # UnicodeDecodeError too: a percent-escape that is not UTF-8
        return None


def _check_auth_date(value: str | None, *, now: float, max_age: float) -> None:
    if value is None:
        raise InitDataError("malformed", "initData has no auth_date")
    if _AUTH_DATE.fullmatch(value) is None:
        raise InitDataError("malformed", "auth_date is not a whole number of seconds")
    age = now - int(value)
    if age > max_age:
        raise InitDataError("stale", "initData is older than allowed")
    if age < -MAX_CLOCK_SKEW_SECONDS:
        raise InitDataError("stale", "auth_date is in the future")


def _user(value: str | None) -> WebAppUser:
    if value is None:
        raise InitDataError("no_user", "initData names no user")
    user = _json_object(value)
    if user is None:
        raise InitDataError("no_user", "the user field is not a JSON object")
    user_id = user.get("id")
    # bool is an int in Python; JSON's true is not an id.
    if type(user_id) is not int or not 0 < user_id <= MAX_USER_ID:
        raise InitDataError("no_user", "the user's id is not a Telegram user id")
    first_name = user.get("first_name")
    last_name = user.get("last_name", "")
    language_code = user.get("language_code")
    if not isinstance(first_name, str) or not isinstance(last_name, str):
        raise InitDataError("no_user", "the user's name is not text")
    if language_code is not None and not isinstance(language_code, str):
        raise InitDataError("no_user", "the user's language code is not text")
    return WebAppUser(
        id=user_id, first_name=first_name, last_name=last_name, language_code=language_code
    )


def _json_object(value: str) -> dict[str, Any] | None:
    """``value`` as a JSON object, or None. JSON errors hold the text, so they stay in here."""
    try:
        decoded = json.loads(value)
    except (ValueError, RecursionError):
        return None
    return decoded if isinstance(decoded, dict) else None
