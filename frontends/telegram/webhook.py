"""The webhook server: Telegram POSTs updates here, and each is answered once it was processed.

Built on python-telegram-bot's documented extension point for custom webhook servers (see its
``customwebhookbot`` examples): we run the web server, PTB's ``Application`` runs the handlers.
Unlike PTB's built-in server, this one

- checks the secret header before it reads a byte of the body (403), and refuses bodies over
  ``MAX_BODY_BYTES`` (413), so strangers cannot make the bot buffer large uploads;
- processes the update inside the request (through the application's update processor, so one
  user's updates still run in order) and answers 200 only after its turn was committed, so
  Telegram redelivers what a crash interrupted; a turn the database could not commit is
  answered 503, so Telegram sends the update again (bounded: see :mod:`.acks`);
- serves ``GET /healthz`` (the process is up) and ``GET /readyz`` (it can reach its database,
  so it can take updates) for load balancers and supervisors, and ``GET /metrics`` for
  Prometheus (see :mod:`frontends.metrics`).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Callable
from typing import Any, Protocol

import orjson
from aiohttp import web
from telegram.ext import Application

from frontends.metrics import Metrics

from . import calls
from .acks import Acknowledgements, process

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
#: Telegram's updates are a few kilobytes; anything near this is not from Telegram.
MAX_BODY_BYTES = 1024 * 1024
#: On shutdown, how long updates in flight may take to finish, in seconds.
SHUTDOWN_SECONDS = 30.0
HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"
#: How long the database may take to answer a readiness check, in seconds.
READY_TIMEOUT = 2.0


class Database(Protocol):
    """What the readiness check needs of the store."""

    async def ping(self) -> None:
        """Return once the database answered; raise when it cannot be reached."""


class WebhookServer:
    """Serves ``path`` on ``listen``:``port`` for one application."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        *,
        path: str,
        secret: str,
        listen: str,
        port: int,
        database: Database,
        acks: Acknowledgements | None = None,
        max_body_bytes: int = MAX_BODY_BYTES,
        routes: Callable[[web.Application], None] | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.application = application
        #: Served as ``GET /metrics`` (None: not served).
        self.metrics = metrics
        self.database = database
        self.acks = acks if acks is not None else Acknowledgements()
        self.path = "/" + path.lstrip("/")
        self.listen = listen
        self.port = port
        self.max_body_bytes = max_body_bytes
        self._secret = secret.encode()
        #: Adds other pages to the server (the web front end's), beside the webhook.
        self.routes = routes
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Listen for requests; raises OSError when the address cannot be used."""
        app = web.Application(client_max_size=self.max_body_bytes)
        app.router.add_post(self.path, self._update)
        app.router.add_get(HEALTH_PATH, self._health)
        app.router.add_get(READY_PATH, self._ready)
        if self.metrics is not None:
            self.metrics.add_route(app)
        if self.routes is not None:
            self.routes(app)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_SECONDS)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.listen, self.port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        logger.info("webhook server listening on %s port %d", self.listen, self.port)

    async def stop(self) -> None:
        """Stop accepting requests and wait (a while) for those in flight to finish."""
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def _health(self, request: web.Request) -> web.Response:
        """The process is up (says nothing about the database)."""
        return web.Response(text="ok")

    async def _ready(self, request: web.Request) -> web.Response:
        """200 when the database answers in time, else 503 (and the reason in the log)."""
        try:
            async with asyncio.timeout(READY_TIMEOUT):
                await self.database.ping()
        except Exception as exc:  # whatever the driver raises: not ready
            reason = "no answer in time" if isinstance(exc, TimeoutError) else repr(exc)
            logger.warning("not ready: the database cannot be reached (%s)", reason)
            return web.Response(status=503, text="database unreachable")
        return web.Response(text="ready")

    async def _update(self, request: web.Request) -> web.Response:
        """Checks the secret, then the size, then processes the update and answers."""
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(given, self._secret):
            return _refuse(403, "Forbidden")
        if request.content_length is not None and request.content_length > self.max_body_bytes:
            return _refuse(413, "Request Entity Too Large")
        try:
            body = await request.read()  # enforces client_max_size for chunked bodies too
        except web.HTTPRequestEntityTooLarge:
            return _refuse(413, "Request Entity Too Large")
        except ConnectionError:  # the client went away mid-body: nothing to answer, no update
            logger.info("webhook: a client closed its connection before sending the whole body")
            return _refuse(400, "Bad Request")
        try:
            update = calls.to_update(orjson.loads(body), self.application.bot)
        except Exception as exc:  # not JSON, or not an update
            logger.warning("webhook: refused a body that is not an update: %s", exc)
            return _refuse(400, "Bad Request")
        if not await process(self.application, self.acks, update):
            return _refuse(503, "Service Unavailable")  # not committed: Telegram sends it again
        return web.Response(status=200)


def _refuse(status: int, reason: str) -> web.Response:
    """An error answer that also closes the connection, so an unread body is not kept."""
    response = web.Response(status=status, text=reason)
    response.force_close()
    return response
