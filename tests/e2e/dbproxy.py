"""A TCP proxy between the bot and its PostgreSQL server that a test can take down or stall.

The real server stays up; the bot sees what it would see in an outage: ``down()`` closes every
connection and refuses new ones (a server that went away), ``stall()`` keeps connections open
but passes nothing on (a server that stopped answering), ``up()`` forwards again. Only this
machine's loopback addresses are used.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit, urlunsplit

UP, DOWN, STALLED = "up", "down", "stalled"


class DatabaseProxy:
    """Forwards 127.0.0.1:<port> to the server of ``url``; see the module doc."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.url = url
        self.target = (parts.hostname or "127.0.0.1", parts.port or 5432)
        self.mode = UP
        self.port = 0
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._resumed = asyncio.Event()
        self._resumed.set()
        #: Connections the proxy accepted, for tests that wait for the bot to try again.
        self.accepted = 0

    @property
    def proxied_url(self) -> str:
        """``url`` with the proxy's address in place of the server's."""
        parts = urlsplit(self.url)
        netloc = parts.netloc.rsplit("@", 1)
        host = f"127.0.0.1:{self.port}"
        netloc_new = f"{netloc[0]}@{host}" if len(netloc) == 2 else host
        return urlunsplit(parts._replace(netloc=netloc_new))

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        self.mode = UP
        self._resumed.set()
        self._cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def up(self) -> None:
        """Forward again (stalled connections go on where they stopped; a proxy that was down
        listens again on its port)."""
        if self.mode == DOWN:
            self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.mode = UP
        self._resumed.set()

    async def down(self) -> None:
        """Close every connection and stop listening: new ones are refused."""
        self.mode = DOWN
        self._resumed.set()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        self._cut()

    def stall(self) -> None:
        """Keep connections open, pass nothing on (new ones are accepted and hang too)."""
        self.mode = STALLED
        self._resumed.clear()

    def _cut(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        if self.mode == DOWN:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))
        pipes = [
            asyncio.create_task(self._pipe(reader, up_writer)),
            asyncio.create_task(self._pipe(up_reader, writer)),
        ]
        self._pipes.update(pipes)
        try:
            await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in pipes:
                task.cancel()
                self._pipes.discard(task)
            for end in (writer, up_writer):
                self._writers.discard(end)
                end.transport.abort()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while chunk := await reader.read(65536):
                await self._resumed.wait()  # a stall holds the bytes here
                if self.mode == DOWN:
                    return
                writer.write(chunk)
                await writer.drain()


@asynccontextmanager
async def database_proxy(url: str) -> AsyncIterator[DatabaseProxy]:
    proxy = DatabaseProxy(url)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.close()
