"""Running the bot: long polling or a webhook server, and what happens when that fails.

Every way the bot cannot run, or cannot run on, ends the process with one line that names the
cause, and an exit code a supervisor can act on: 2 when the setup must be fixed (a setting,
the token, the database), 3 when another copy of the bot already runs with the same token
(restarting will not help until it stops), 1 when trying again later may help (the Bot API
could not be reached).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar, cast
from urllib.parse import urlsplit

from aiohttp import web
from telegram import Update
from telegram.error import (
    BadRequest,
    Conflict,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import Application

from advisor import Knowledge, StackAdvisorError
from settings import Settings, redact_url
from storage.base import StorageError, StoreUnavailable
from storage.configured import guarded

from . import calls
from .acks import Acknowledgements, process
from .app import build_application
from .logs import configure_logging, secrets_of
from .webhook import Database, WebhookServer

if TYPE_CHECKING:
    from frontends.web.site import WebFrontEnd

logger = logging.getLogger(__name__)

App: TypeAlias = Application[Any, Any, Any, Any, Any, Any]
T = TypeVar("T")
#: Seconds a getUpdates long poll may wait for updates.
POLL_SECONDS = 10
#: Start-up retries wait this long at first, doubling up to the cap, in seconds.
FIRST_RETRY, LONGEST_RETRY = 0.5, 15.0
#: While running, network failures of polling are retried after at most this long.
LONGEST_POLL_RETRY = 30.0
#: Exit code when another copy of the bot uses the same token.
ANOTHER_COPY_EXIT = 3
#: A polling bot lets one newcomer's poll end its own this often (see :func:`_poll`), in seconds.
CONFLICT_WINDOW = 60.0
#: The first getUpdates waits only this long, so a bot is soon known to be polling, in seconds.
FIRST_POLL_SECONDS = 1
#: While updates it fetched are still being handled, polling looks again this often, in
#: seconds (a poll returns at once while they are unconfirmed).
PROGRESS_SECONDS = 0.5
#: Telegram returns at most 100 updates a poll, from the earliest not yet confirmed: with more
#: than this many in hand whose turn has not committed, polling waits until some have, so that
#: a poll brings mostly new updates rather than the same ones parsed again (issue 26: they were
#: a tenth of the bot's CPU in the closed loop). The update processor still has updates in
#: hand beyond those it handles at once (MAX_CONCURRENT_UPDATES, 64).
REFILL_BELOW = 32
#: An update whose turn did not commit is tried again after this long, doubling up to the cap.
RETRY_FIRST, RETRY_LONGEST = 0.5, 30.0
#: On the way out, how long updates being handled may take to finish, in seconds.
SHUTDOWN_SECONDS = 30.0
ANOTHER_COPY = (
    "BOT_TOKEN: another copy of this bot is already running with the same token (Telegram "
    "answered 409 Conflict). Stop it, or use webhook mode for several instances."
)
TOKEN_REJECTED = "BOT_TOKEN: Telegram rejected the token; check it with @BotFather"
TOKEN_REVOKED = (
    "BOT_TOKEN: Telegram stopped accepting the token while the bot was running "
    "(revoked or replaced in @BotFather?); put the current token in BOT_TOKEN"
)


class BotStopped(StackAdvisorError):
    """The bot cannot start or go on; one line for the operator, and the process's exit code."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def run_telegram(
    settings: Settings,
    knowledge: Knowledge,
    *,
    build: Callable[[Settings, Knowledge], App] = build_application,
) -> int:
    """Run the bot until stopped, by long polling or as a webhook server; return the exit code.

    ``build`` makes the application (the benchmark's baseline passes another configuration).
    """
    configure_logging(settings.log_level, secrets_of(settings))
    try:
        with guarded(settings):  # SQLite: STATE_DB checked and locked; PostgreSQL: shared
            app = build(settings, knowledge)
            asyncio.run(_serve(app, settings))
    except StorageError as exc:  # STATE_DB or DATABASE_URL unusable: one line
        logger.error("%s", exc)
        return 1 if isinstance(exc, StoreUnavailable) else 2
    except BotStopped as exc:  # logged through the formatter that hides the token
        logger.error("%s", exc)
        return exc.exit_code
    except (TelegramError, OSError, sqlite3.Error) as exc:  # anything not foreseen above
        logger.error("could not run the bot: %s", exc)
        return 1
    return 0


async def _serve(app: App, settings: Settings) -> None:
    """Start, run until a stop signal or a fatal error, and always shut down in order."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGABRT):
        loop.add_signal_handler(sig, stop.set)
    webhook: WebhookServer | None = None
    pages: web.AppRunner | None = None
    metrics: web.AppRunner | None = None
    polling: asyncio.Task[None] | None = None
    retry = _Retry(settings)
    try:
        if not await _unless_stopped(stop, retry.run("reach the Bot API", app.initialize)):
            return
        if app.post_init is not None:
            await app.post_init(app)
        await app.start()
        if settings.metrics_port is not None:  # /metrics on a server of its own
            metrics = await _serve_metrics(app, settings)
        if settings.mode == "webhook":
            webhook = await _serve_webhook(app, settings)  # listening before Telegram is told
            register = functools.partial(_register_webhook, app, settings)
            if await _unless_stopped(stop, retry.run("register the webhook", register)):
                await stop.wait()
            return
        if not await _unless_stopped(stop, retry.run("switch to polling", app.bot.delete_webhook)):
            return
        if app.bot_data.web is not None:  # no webhook server to serve them beside
            pages = await _serve_pages(app.bot_data.web, settings)
        polling = asyncio.create_task(_poll(app, stop), name="polling")
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait({polling, stopped}, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        if polling.done():
            polling.result()  # polling ends by itself only with BotStopped
    finally:
        stop.set()
        if polling is not None:
            with contextlib.suppress(BotStopped):
                await polling  # confirms the last updates it fetched
        if webhook is not None:
            await webhook.stop()  # waits for updates in flight
        if pages is not None:
            await pages.cleanup()
        if metrics is not None:
            await metrics.cleanup()
        if app.running:
            await app.stop()  # finishes updates in flight
            if app.post_stop is not None:
                await app.post_stop(app)
        await app.shutdown()
        await app.bot.shutdown()  # in case start-up failed half-way
        if app.post_shutdown is not None:
            await app.post_shutdown(app)


async def _unless_stopped(stop: asyncio.Event, work: Awaitable[T]) -> T | None:
    """The result of ``work``, or None as soon as ``stop`` is set (``work`` is cancelled)."""
    task = asyncio.ensure_future(work)
    waiting = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({task, waiting}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiting.cancel()
    if not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return None
    return task.result()


# -- start-up ----------------------------------------------------------------------------------


async def _register_webhook(app: App, settings: Settings) -> None:
    """Tell Telegram where to send updates. A refusal for good (a bad URL, a port Telegram does
    not serve, an address it cannot reach) stops the bot naming WEBHOOK_URL: restarting it
    would not help."""
    assert settings.webhook_url is not None
    try:
        await _set_webhook(app, settings)
    except BadRequest as exc:
        raise BotStopped(
            f"WEBHOOK_URL: Telegram refused {settings.webhook_url}: {exc.message}", 2
        ) from None


async def _set_webhook(app: App, settings: Settings) -> None:
    assert settings.webhook_url is not None
    await app.bot.set_webhook(
        settings.webhook_url,
        secret_token=settings.webhook_secret,
        allowed_updates=Update.ALL_TYPES,
    )


class _Retry:
    """Runs start-up steps, retrying transient failures until STARTUP_RETRY_SECONDS pass."""

    def __init__(self, settings: Settings) -> None:
        self.api = redact_url(settings.telegram_api_url)
        self.seconds = settings.startup_retry_seconds
        self.deadline = asyncio.get_running_loop().time() + self.seconds

    async def run(self, what: str, step: Callable[[], Awaitable[object]]) -> bool:
        """Run ``step`` until it succeeds (True), or raise BotStopped."""
        delay = FIRST_RETRY
        loop = asyncio.get_running_loop()
        while True:
            # A stalled server must not outlast the deadline; each try gets at least 1 s.
            budget = max(self.deadline - loop.time(), 1.0) if self.seconds else None
            try:
                async with asyncio.timeout(budget):
                    await step()
                return True
            except InvalidToken as exc:
                raise BotStopped(self._refused(exc), 2) from None
            except (NetworkError, RetryAfter, TimeoutError) as exc:  # TimedOut is a NetworkError
                cause = _cause(exc)
                wait = _retry_after(exc) or delay
            except TelegramError as exc:
                message = f"could not {what}: the Bot API at {self.api} said: {exc}"
                raise BotStopped(message, 1) from None
            remaining = self.deadline - loop.time()
            if remaining <= 0:
                raise BotStopped(
                    f"could not {what} at TELEGRAM_API_URL={self.api} {self._tried()}: {cause}", 1
                )
            wait = min(wait, remaining)
            logger.warning("could not %s yet (%s); trying again in %.1f s", what, cause, wait)
            await asyncio.sleep(wait)
            delay = min(delay * 2, LONGEST_RETRY)

    def _tried(self) -> str:
        if not self.seconds:
            return "(tried once, as STARTUP_RETRY_SECONDS=0)"
        return f"within {self.seconds} s (STARTUP_RETRY_SECONDS)"

    def _refused(self, exc: InvalidToken) -> str:
        """A 401 is about the token; a 404 means the URL does not lead to a Bot API server."""
        texts = [str(exc), str(exc.__cause__ or "")]
        if any("Not Found" in text or "(404)" in text for text in texts):
            return (
                f"TELEGRAM_API_URL: {self.api} answered 404 Not Found for the Bot API methods; "
                "it must be the root URL of a Bot API server, such as https://api.telegram.org"
            )
        return TOKEN_REJECTED


def _cause(exc: Exception) -> str:
    """What went wrong, in a few words."""
    if isinstance(exc, TimeoutError) or "timed out" in str(exc).lower():
        return "no answer in time (the server stalls or the network is slow)"
    if isinstance(exc, RetryAfter):
        return f"asked to wait: {exc}"
    text = str(exc)
    if text.startswith(("aiohttp.", "httpx.")):  # the HTTP client's own error
        return f"cannot connect: {text}"
    return f"the server answered with an error: {text}"


def _retry_after(exc: Exception) -> float | None:
    if isinstance(exc, RetryAfter):
        return _seconds(exc)
    return None


def _seconds(exc: RetryAfter) -> float:
    # The attribute's public form warns until PTB 23 (int vs timedelta); this is its value.
    value: timedelta = exc._retry_after
    return value.total_seconds()


# -- webhook -----------------------------------------------------------------------------------


async def _serve_webhook(app: App, settings: Settings) -> WebhookServer:
    assert settings.webhook_url is not None and settings.webhook_secret is not None
    server = WebhookServer(
        app,
        path=urlsplit(settings.webhook_url).path,
        secret=settings.webhook_secret,
        listen=settings.listen,
        port=settings.port,
        # Store.ping (storage/base.py) answers the readiness check.
        database=cast(Database, app.bot_data.services.store),
        acks=app.bot_data.services.acks,
        routes=app.bot_data.web.add_routes if app.bot_data.web is not None else None,
        metrics=app.bot_data.metrics,
    )
    try:
        await server.start()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise BotStopped(
            f"LISTEN/PORT: cannot listen on {settings.listen} port {settings.port}: {reason}", 2
        ) from None
    return server


async def _serve_pages(front: WebFrontEnd, settings: Settings) -> web.AppRunner:
    """The web pages on WEB_LISTEN:WEB_PORT (in webhook mode they are the webhook server's)."""
    try:
        return await front.serve(settings.web_listen, settings.web_port)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise BotStopped(
            f"WEB_LISTEN/WEB_PORT: cannot listen on {settings.web_listen} port "
            f"{settings.web_port}: {reason}",
            2,
        ) from None


async def _serve_metrics(app: App, settings: Settings) -> web.AppRunner | None:
    """``GET /metrics`` on METRICS_LISTEN:METRICS_PORT (beside /healthz on the other servers)."""
    assert settings.metrics_port is not None
    if app.bot_data.metrics is None:
        return None
    try:
        runner: web.AppRunner = await app.bot_data.metrics.serve(
            settings.metrics_listen, settings.metrics_port
        )
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise BotStopped(
            f"METRICS_LISTEN/METRICS_PORT: cannot listen on {settings.metrics_listen} port "
            f"{settings.metrics_port}: {reason}",
            2,
        ) from None
    return runner


# -- polling -----------------------------------------------------------------------------------


async def _poll(app: App, stop: asyncio.Event) -> None:
    """Long-poll getUpdates into the application's queue until ``stop`` is set.

    Network trouble is retried with a growing pause; a token Telegram no longer accepts ends
    the bot (BotStopped) instead of looping.

    Telegram ends a long poll with 409 Conflict when a newer getUpdates with the same token
    arrives, so a second copy of the bot first ends the poll of the copy already running. That
    one has been answered before (its first poll waits only :data:`FIRST_POLL_SECONDS`), so it
    polls again at once, which ends the newcomer's first poll in turn; a copy never answered
    yet stops at its first 409 (exit 3, :data:`ANOTHER_COPY`), and the running one goes on. A
    copy whose polls are ended twice within :data:`CONFLICT_WINDOW` stops too, so two copies
    never take turns for long (the last to poll stays); a webhook set meanwhile stops it at
    once.
    """
    loop = asyncio.get_running_loop()
    inbox = _Inbox(app)
    pause = 0.0
    polled = False  # one of our polls has been answered: we were here first
    last_conflict = -CONFLICT_WINDOW
    while not stop.is_set():
        if inbox.held:  # a turn did not commit: nothing new is taken until it has
            await _unless_stopped(stop, inbox.progress(inbox.finished))
            continue
        finished = inbox.finished
        offset = inbox.offset
        poll = calls.get_updates(
            app.bot,
            offset=offset,
            wait=POLL_SECONDS if polled else FIRST_POLL_SECONDS,
            read_timeout=app.bot.request.read_timeout or 0,
        )
        try:
            updates = await _unless_stopped(stop, poll)
        except InvalidToken:
            raise BotStopped(TOKEN_REVOKED, 2) from None
        except Conflict as exc:
            again = loop.time() - last_conflict < CONFLICT_WINDOW
            if _webhook_set(exc) or not polled or again:
                raise BotStopped(_conflict(exc), ANOTHER_COPY_EXIT) from None
            last_conflict = loop.time()
            logger.warning(
                "another copy of this bot started polling with the same token (409 Conflict); "
                "polling again, which stops it"
            )
            pause = 0.0
        except RetryAfter as exc:
            pause = _seconds(exc)
        except TelegramError as exc:  # network trouble, 5xx, timeouts …
            pause = min(max(pause * 2, 1.0), LONGEST_POLL_RETRY)
            logger.warning("polling failed (%s); trying again in %.0f s", exc, pause)
        else:
            pause = 0.0
            polled = polled or updates is not None
            if updates and not inbox.take(updates, offset):  # all of them being handled
                await _unless_stopped(stop, inbox.progress(finished))
            elif inbox.uncommitted > REFILL_BELOW:  # a poll now would bring back mostly those
                await _unless_stopped(stop, inbox.room())
        if pause:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), pause)
    await inbox.finish()
    if inbox.offset is not None:
        await _confirm(app, inbox.offset)


class _Inbox:
    """The updates polling fetched, handled as the webhook handles them: each through the
    application's update processor (one user's in order), and confirmed to Telegram (the
    offset passes it) only once its turn was committed.

    While updates are being handled, the offset stays at the earliest of them not yet
    committed, so Telegram returns them again with the next poll (they are skipped: already
    here). A turn counts as committed as soon as it is (the conversation says so before it
    delivers the replies, which the outbox keeps until they arrive), so the window of 100
    updates a poll can return moves on while replies are still being sent; a turn refused
    after it committed (its delivery found no database) is tried again all the same. An update whose
    turn did not commit (see :mod:`.acks`) is tried again after a growing pause, and nothing
    new is taken meanwhile, so the offset never passes it and the order of answers holds.
    """

    def __init__(self, app: App) -> None:
        self.app = app
        self.acks: Acknowledgements = app.bot_data.services.acks
        self.running: dict[int, asyncio.Task[None]] = {}
        #: Running updates whose turn has committed already (their replies are being sent).
        self.committed: set[int] = set()
        self.acks.on_commit = self._committed
        #: Updates to try again (their turn did not commit), by id.
        self.failed: dict[int, Update] = {}
        #: Ids handled already that Telegram has not been told of (a poll returns them again).
        self.handled: set[int] = set()
        self.last: int | None = None
        #: How many updates have been handled (or failed) so far.
        self.finished = 0
        self._changed = asyncio.Event()
        #: The pending tries again, by update id.
        self._timers: dict[int, asyncio.TimerHandle] = {}

    @property
    def offset(self) -> int | None:
        """What the next getUpdates confirms up to: the earliest update not yet committed."""
        pending = [*(i for i in self.running if i not in self.committed), *self.failed]
        if pending:
            return min(pending)
        return None if self.last is None else self.last + 1

    @property
    def uncommitted(self) -> int:
        """How many updates are being handled whose turn has not committed yet."""
        return len(self.running) - len(self.committed)

    @property
    def held(self) -> bool:
        """An update is to be tried again: nothing new is taken until it is committed."""
        return bool(self.failed)

    def take(self, updates: Sequence[calls.JSON], offset: int | None) -> bool:
        """Start handling the updates not seen yet (a poll with ``offset`` returned them, as
        they came: only the new ones are parsed); False when there were none."""
        if offset is not None:  # Telegram has forgotten those below it
            self.handled = {i for i in self.handled if i >= offset}
        fresh = False
        for raw in updates:
            uid = raw["update_id"]
            if uid in self.running or uid in self.handled or uid in self.failed:
                continue
            fresh = True
            self.last = uid if self.last is None else max(self.last, uid)
            self._start(calls.to_update(raw, self.app.bot))
        return fresh

    async def progress(self, since: int) -> None:
        """Wait until an update was handled after ``since`` updates were (at once if one has
        been already), or a little while."""
        if self.finished != since:
            return
        self._changed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), PROGRESS_SECONDS)

    async def room(self) -> None:
        """Wait until no more than :data:`REFILL_BELOW` updates are being handled (or a little
        while: a stuck turn does not stop polling)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + PROGRESS_SECONDS
        while self.uncommitted > REFILL_BELOW and (left := deadline - loop.time()) > 0:
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)

    async def finish(self) -> None:
        """On the way out: let the updates being handled finish (a while at most)."""
        for handle in self._timers.values():
            handle.cancel()
        if self.running:
            await asyncio.wait(list(self.running.values()), timeout=SHUTDOWN_SECONDS)

    def _start(self, update: Update) -> None:
        self.running[update.update_id] = asyncio.create_task(self._handle(update))

    def _committed(self, uid: int) -> None:
        """The update's turn committed (its replies are still to be sent): the offset may
        pass it."""
        if uid in self.running:
            self.committed.add(uid)
            self.finished += 1
            self._changed.set()

    async def _handle(self, update: Update) -> None:
        uid = update.update_id
        committed = False
        try:
            committed = await process(self.app, self.acks, update)
        finally:
            del self.running[uid]
            # A turn that committed and then failed for want of the database (its delivery)
            # is refused all the same: it is tried again here (a repeat now: it delivers what
            # is owed), and the person's later updates wait for it, as for any refused one.
            self.committed.discard(uid)
            if committed:
                self.handled.add(uid)
            else:  # not committed (or cancelled on the way out): tried again after a pause
                self.failed[uid] = update
                pause = min(RETRY_FIRST * 2 ** (self.acks.tries(uid) - 1), RETRY_LONGEST)
                self._timers[uid] = asyncio.get_running_loop().call_later(pause, self._again, uid)
            self.finished += 1
            self._changed.set()

    def _again(self, uid: int) -> None:
        self._timers.pop(uid, None)
        update = self.failed.pop(uid, None)
        if update is not None:
            self._start(update)


async def _confirm(app: App, offset: int) -> None:
    """Tell Telegram the fetched updates arrived, so a restart does not receive them again."""
    try:
        await app.bot.get_updates(offset=offset, timeout=0, allowed_updates=Update.ALL_TYPES)
    except TelegramError as exc:
        logger.warning("could not confirm the last updates (they may come again): %s", exc)


def _webhook_set(exc: Conflict) -> bool:
    return "webhook" in str(exc).lower()


def _conflict(exc: Conflict) -> str:
    if _webhook_set(exc):
        return (
            "BOT_TOKEN: a webhook was set for this bot while it was polling (is a copy running "
            "with MODE=webhook?); run one bot per token"
        )
    return ANOTHER_COPY
