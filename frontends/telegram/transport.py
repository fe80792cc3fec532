"""python-telegram-bot's networking on aiohttp's client instead of httpx.

PTB makes every Bot API call through a :class:`~telegram.request.BaseRequest`, its documented
extension point for other HTTP libraries; the default, ``HTTPXRequest``, is built on httpx.
Under load httpx and httpcore cost the bot more CPU than anything else it does: with 64
requests in flight, about 4.5 ms per update against 3.0 ms with this class in the same closed
loop (docs/performance.md), because httpcore's pool scans every connection and request, and
checks each idle socket, on every request. aiohttp is already the bot's web server.

:class:`AiohttpRequest` keeps HTTPXRequest's timeouts and errors: a timeout is
:class:`~telegram.error.TimedOut`, any other failure a :class:`~telegram.error.NetworkError`
whose text starts with ``aiohttp.`` and the exception's class, as HTTPXRequest's starts with
``httpx.``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import cast

import aiohttp
import orjson
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import JSONDict, ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

Body = aiohttp.FormData | aiohttp.BytesPayload | None
#: The content type of a body without files.
FORM = "application/x-www-form-urlencoded"


class AiohttpRequest(BaseRequest):
    """Bot API requests over one aiohttp session with at most ``connection_pool_size``
    connections.

    The timeouts mean what they mean for HTTPXRequest (and have its defaults): ``pool`` to get
    a connection, ``connect`` to open one, ``read`` between two pieces of the answer. aiohttp
    has no write timeout, so ``write`` (``media_write`` for uploads) only adds to the bound on
    the whole request, which is the sum of all four.
    """

    def __init__(
        self,
        connection_pool_size: int,
        *,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        self.connection_pool_size = connection_pool_size
        self._read = read_timeout
        self._write = write_timeout
        self._connect = connect_timeout
        self._pool = pool_timeout
        self._media_write = media_write_timeout
        self._session: aiohttp.ClientSession | None = None
        #: Told of each call that failed: its URL and the kind of failure (see
        #: :func:`failure`), for the metrics.
        self.failed: Callable[[str, str], None] | None = None

    @staticmethod
    def parse_json_payload(payload: bytes) -> JSONDict:
        """The answer's JSON, read with orjson (PTB's documented place for another JSON
        library: a fifth of the bot's CPU went to ``json.loads`` of polled updates); what
        orjson refuses (say, invalid UTF-8) goes to PTB's own reader, which replaces it."""
        try:
            return cast(JSONDict, orjson.loads(payload))
        except orjson.JSONDecodeError:
            return BaseRequest.parse_json_payload(payload)

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout (PTB adds it to a long poll's own timeout)."""
        return self._read

    async def initialize(self) -> None:
        """Open the session (in the running event loop); again after a shutdown."""
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self.connection_pool_size)
            # The Bot API sets no cookies: no jar to search and fill on every call.
            self._session = aiohttp.ClientSession(
                connector=connector,
                headers={"User-Agent": self.USER_AGENT},
                cookie_jar=aiohttp.DummyCookieJar(),
            )

    async def shutdown(self) -> None:
        """Close the session and its connections (twice is harmless)."""
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Send the request; the HTTP status and the body of the answer."""
        session = self._session
        if session is None or session.closed:
            raise RuntimeError("this AiohttpRequest is not initialized")
        uploads = request_data is not None and request_data.contains_files
        read = _given(read_timeout, self._read)
        write = _given(write_timeout, self._media_write if uploads else self._write)
        connect = _given(connect_timeout, self._connect)
        pool = _given(pool_timeout, self._pool)
        timeout = _timeout(pool, connect, write, read)
        try:
            async with session.request(
                method, url, data=_body(request_data), timeout=timeout
            ) as response:
                status, body = response.status, await response.read()
        except TimeoutError as exc:  # aiohttp's timeouts are TimeoutErrors too
            if self.failed is not None:
                self.failed(url, "timeout")
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            if self.failed is not None:
                self.failed(url, "network")
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc
        if status >= 300 and self.failed is not None:
            self.failed(url, failure(status))
        return status, body


#: The kind of failure each HTTP status of the Bot API's means (PTB raises the matching error).
FAILURES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    429: "retry_after",
}


def failure(status: int) -> str:
    """What a Bot API answer with this HTTP status is counted as in the metrics."""
    if status >= 500:
        return "server"
    return FAILURES.get(status, "other")


def _given(value: ODVInput[float], default: float | None) -> float | None:
    """The timeout a call asked for, or the default when it asked for none."""
    if isinstance(value, DefaultValue):
        return default
    return value


@functools.lru_cache(maxsize=64)
def _timeout(
    pool: float | None, connect: float | None, write: float | None, read: float | None
) -> aiohttp.ClientTimeout:
    """aiohttp's timeouts for PTB's four (one object for each combination, as few are used)."""
    return aiohttp.ClientTimeout(
        total=_sum(pool, connect, write, read),
        connect=_sum(pool, connect),
        sock_connect=connect,
        sock_read=read,
    )


def _sum(*parts: float | None) -> float | None:
    """The sum of the timeouts; None (no limit) when any of them is None."""
    if any(part is None for part in parts):
        return None
    return sum(part for part in parts if part is not None)


def _body(request_data: RequestData | None) -> Body:
    """Form fields as PTB encodes them (JSON for non-strings, here with orjson, as PTB's
    ``RequestData.json_parameters`` suggests for another JSON library), URL-encoded; multipart
    when there are files."""
    if request_data is None:
        return None
    fields = {
        name: value if isinstance(value, str) else orjson.dumps(value).decode()
        for name, value in request_data.parameters.items()
    }
    files = request_data.multipart_data
    if not files:
        return aiohttp.BytesPayload(urlencoded(fields), content_type=FORM) if fields else None
    form = aiohttp.FormData()
    for name, value in fields.items():
        form.add_field(name, value)
    for name, (filename, content, mime_type) in files.items():
        form.add_field(name, content, filename=filename, content_type=mime_type)
    return form


#: How each byte of UTF-8 is written in a form body: letters, digits and ``_.-~`` as they are,
#: a space as ``+``, any other byte as ``%XX`` (what ``urllib.parse.urlencode`` writes).
_FORM_BYTE = {
    byte: chr(byte)
    if chr(byte).isascii() and (chr(byte).isalnum() or chr(byte) in "_.-~")
    else "+"
    if byte == 0x20
    else f"%{byte:02X}"
    for byte in range(256)
}


def urlencoded(fields: dict[str, str]) -> bytes:
    """The fields as ``application/x-www-form-urlencoded``, byte for byte what
    ``urllib.parse.urlencode`` gives, in a third of its time (a table lookup in C per byte
    instead of a Python call), and at once for a text sent before: the body of most Bot API
    calls, whose question screens and keyboards are the same for everyone."""
    return "&".join(f"{_form(name)}={_form(value)}" for name, value in fields.items()).encode(
        "ascii"
    )


#: Texts at least this long, and at most :data:`LONGEST_REMEMBERED`, are remembered encoded
#: (ids and short fields cost less to encode than to look up, and would crowd the screens out).
SHORTEST_REMEMBERED = 64
LONGEST_REMEMBERED = 1500


def _form(text: str) -> str:
    if SHORTEST_REMEMBERED <= len(text) <= LONGEST_REMEMBERED:
        return _remembered(text)
    return _encoded(text)


def _encoded(text: str) -> str:
    # Each UTF-8 byte as the one character of the same number, then each through the table.
    return text.encode().decode("latin-1").translate(_FORM_BYTE)


#: The screens in use: 256 texts of at most 1,500 characters, at most 2.3 MB encoded.
_remembered = functools.lru_cache(maxsize=256)(_encoded)
