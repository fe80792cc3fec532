"""A strict fake Telegram Bot API server (aiohttp) with a test-side inspection API."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import itertools
import json
import re
import time
import traceback
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from types import TracebackType
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web

from . import validation as v
from .models import JSON, Call, StoredFile, StoredMessage, TgChat, TgUser, UploadedFile
from .state import BotState, QueryRecord
from .updates import now, update_type

if TYPE_CHECKING:
    from .client import BotUser

DEFAULT_ALLOWED_UPDATES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
POLL_CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
_TOKEN_RE = re.compile(r"\d+:[A-Za-z0-9_-]+")
#: Longest long poll of the control API's calls listing, in seconds.
MAX_CONTROL_WAIT = 30.0
_DEFAULT_ERRORS = {
    400: "Bad Request: injected failure",
    403: "Forbidden: bot was blocked by the user",
    409: "Conflict: injected failure",
    500: "Internal Server Error",
    502: "Bad Gateway",
}
AsyncHandler = Callable[[v.Params], Awaitable[Any]]
_current_request: contextvars.ContextVar[web.Request] = contextvars.ContextVar("request")


class _Use(Enum):
    """Sentinel for 'use the configured webhook secret'."""

    CONFIGURED = "configured"


USE_CONFIGURED_SECRET = _Use.CONFIGURED


class Signal:
    """Wakes every waiter whenever something changes (a lock-free asyncio.Condition)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        """Wake all current waiters; usable from synchronous code."""
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, timeout: float | None) -> bool:  # noqa: ASYNC109
        """Wait for the next notify(); False if the timeout expired first."""
        event = self._event
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            return False
        return True


@dataclass
class Fault:
    """One injected failure: the error response sent instead of running the method (to calls
    about ``chat_id`` only, when it is set)."""

    status: int
    body: JSON
    chat_id: int | None = None


@dataclass
class Webhook:
    """The webhook the bot registered with setWebhook."""

    url: str
    secret_token: str | None = None
    max_connections: int = 40
    ip_address: str | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass
class Delivery:
    """One attempt to POST an update to the bot's webhook."""

    update_id: int
    status: int
    error: str | None
    time: float


class FakeTelegram:
    """A local Bot API server that is stricter than Telegram, plus helpers for tests."""

    def __init__(
        self,
        token: str = "123:ABC",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        bot_username: str = "stack_advisor_test_bot",
        bot_name: str = "Stack Advisor",
        strict_ampersand: bool = True,
        webhook_retry_delay: float = 0.2,
        webhook_max_attempts: int = 10,
        latency: float = 0.0,
    ) -> None:
        self.token = token
        #: Seconds every Bot API answer is held back, to simulate the round trip to Telegram.
        self.latency = latency
        self.host = host
        self.port = port
        prefix = token.split(":", 1)[0]
        bot_id = int(prefix) if prefix.isdigit() else 1
        bot = TgUser(bot_id, bot_name, username=bot_username, language_code=None, is_bot=True)
        self.state = BotState(bot, strict_ampersand=strict_ampersand)
        self.calls: list[Call] = []
        self.pending_updates: list[JSON] = []
        self.allowed_updates: list[str] | None = None
        self.webhook: Webhook | None = None
        self.webhook_deliveries: list[Delivery] = []
        self.internal_errors: list[str] = []
        #: When each update was queued (update_id -> monotonic time, the clock of Call.time).
        self.queued_at: dict[int, float] = {}
        self.webhook_retry_delay = webhook_retry_delay
        self.webhook_max_attempts = webhook_max_attempts
        self._signal = Signal()
        self._closing = False
        self._update_ids = itertools.count(1)
        self._query_ids = itertools.count(1)
        self._user_ids = itertools.count(100_000_001)
        self._group_ids = itertools.count(4_000_000_001)
        self._faults: dict[str, deque[Fault]] = {}
        #: method -> how many of its next calls take effect and then lose their answer.
        self._cuts: dict[str, int] = {}
        self._stalls: dict[str, deque[float]] = {}
        self._poll_owner: object | None = None
        self._async_handlers: dict[str, AsyncHandler] = {
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
        }
        self._sync_handlers = self.state.handlers()
        names = [*self._async_handlers, *self._sync_handlers]
        self._method_names = {name.lower(): name for name in names}
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._delivery_task: asyncio.Task[None] | None = None
        #: Instance URLs the webhook's updates go to, round-robin (empty: the webhook's URL).
        self.webhook_targets: list[str] = []
        self._next_target = 0
        self._in_flight: set[int] = set()
        self._retry_at: dict[int, float] = {}
        self._attempts: dict[int, int] = {}
        self._flights: set[asyncio.Task[None]] = set()

    # ----------------------------------------------------------------- lifecycle

    async def __aenter__(self) -> FakeTelegram:
        """Start the server."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the server."""
        await self.stop()

    async def start(self) -> None:
        """Listen on host:port (port 0 picks a free port) and start webhook delivery."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        app.router.add_route("*", "/_fake/{action}", self._handle_control)
        app.router.add_route("*", "/{tail:.*}", self._handle_not_found)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        self._delivery_task = asyncio.create_task(self._deliver_forever())

    async def stop(self) -> None:
        """End long polls and stalls promptly, then shut the server down."""
        self._closing = True
        self._signal.notify()
        if self._delivery_task is not None:
            self._delivery_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._delivery_task
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def root_url(self) -> str:
        """Base URL of the server, e.g. http://127.0.0.1:PORT (TELEGRAM_API_URL)."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """Value for PTB's base_url (the token and method are appended)."""
        return f"{self.root_url}/bot"

    @property
    def base_file_url(self) -> str:
        """Value for PTB's base_file_url."""
        return f"{self.root_url}/file/bot"

    @property
    def bot(self) -> TgUser:
        """The bot's own user."""
        return self.state.bot

    # ----------------------------------------------------------------- test-side API

    def user(
        self,
        first_name: str = "Ann",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
        chat: TgChat | None = None,
        timeout: float = 5.0,
        quiet: float = 0.08,
    ) -> BotUser:
        """A new user talking to the bot in a private chat (default) or in the given group.

        Each action of the user waits up to `timeout` seconds for the bot to respond, then
        until the chat has been quiet for `quiet` seconds.
        """
        from .client import BotUser

        user_id = next(self._user_ids)
        name = username if username is not None else f"{first_name.lower()}_{user_id % 1000}"
        user = TgUser(user_id, first_name, last_name, name, language_code)
        self.state.users[user.id] = user
        if chat is None:
            chat = TgChat.private(user)
        self.state.add_chat(chat)
        return BotUser(self, user, chat, timeout=timeout, quiet=quiet)

    def group(self, title: str = "Test group") -> TgChat:
        """A new basic group that several users can share."""
        chat = TgChat(-next(self._group_ids), "group", title=title)
        self.state.add_chat(chat)
        return chat

    def add_update(self, update: JSON) -> JSON:
        """Queue an update for the bot (getUpdates or webhook); returns it with its update_id."""
        body = {key: value for key, value in update.items() if key != "update_id"}
        queued = {"update_id": next(self._update_ids), **body}
        self.state.register_update(queued)
        self.queued_at[queued["update_id"]] = _clock()
        self.pending_updates.append(queued)
        self._signal.notify()
        return queued

    def next_message_id(self, chat_id: int) -> int:
        """Allocate a message_id for a message a test user sends."""
        return self.state.next_message_id(chat_id)

    def new_query_id(self) -> str:
        """A fresh callback/inline query id."""
        return str(4_417_000_000_000_000_000 + next(self._query_ids) * 7919)

    def fail_next(
        self,
        method: str,
        *,
        status: int = 429,
        retry_after: int = 1,
        times: int = 1,
        description: str | None = None,
        chat_id: int | None = None,
    ) -> None:
        """Make the next `times` calls of a method fail with an HTTP error (429 by default);
        with `chat_id`, only calls about that chat (the others run as usual)."""
        canonical = self._canonical(method)
        if status == 429:
            text = description or f"Too Many Requests: retry after {retry_after}"
            body = {
                "ok": False,
                "error_code": 429,
                "description": text,
                "parameters": {"retry_after": retry_after},
            }
        else:
            text = description or _DEFAULT_ERRORS.get(status, f"Error {status}")
            body = {"ok": False, "error_code": status, "description": text}
        queue = self._faults.setdefault(canonical, deque())
        queue.extend(Fault(status, body, chat_id) for _ in range(times))

    def cut_after_next(self, method: str, *, times: int = 1) -> None:
        """Let the next `times` calls of a method take effect, then cut their connection before
        the answer (as a network failing at the worst moment does): the bot cannot know the
        call went through."""
        self._cuts[self._canonical(method)] = self._cuts.get(self._canonical(method), 0) + times

    def cuts_left(self, method: str) -> int:
        """How many calls of a method are still to lose their answer."""
        return self._cuts.get(self._canonical(method), 0)

    def clear_faults(self, method: str) -> None:
        """Forget the injected failures of a method that have not happened yet."""
        self._faults.pop(self._canonical(method), None)

    def faults_left(self, method: str) -> int:
        """How many injected failures of a method have not happened yet."""
        return len(self._faults.get(self._canonical(method), ()))

    def stall_next(self, method: str, seconds: float, *, times: int = 1) -> None:
        """Delay the response to the next `times` calls of a method."""
        self._stalls.setdefault(self._canonical(method), deque()).extend([seconds] * times)

    def calls_to(self, method: str) -> list[Call]:
        """Every recorded call of one method (including failed attempts)."""
        canonical = self._method_names.get(method.lower(), method)
        return [call for call in self.calls if call.method == canonical]

    def messages(self, chat: int | TgChat) -> list[StoredMessage]:
        """Current state of the bot's messages in a chat, oldest first (deleted ones omitted)."""
        return self.state.messages_in(_chat_id(chat))

    def message(self, chat: int | TgChat, message_id: int) -> StoredMessage | None:
        """One of the bot's messages, or None if it does not exist (any more)."""
        return self.state.bot_messages.get(_chat_id(chat), {}).get(message_id)

    def message_object(self, chat: int | TgChat, message_id: int) -> JSON | None:
        """A bot or user message as a Bot API Message dict (for callback queries)."""
        return self.state.any_message(_chat_id(chat), message_id)

    def reply_keyboard(self, chat: int | TgChat) -> JSON | None:
        """The reply keyboard currently shown in a chat, if any."""
        return self.state.reply_keyboards.get(_chat_id(chat))

    def unanswered_callback_queries(self) -> list[JSON]:
        """Callback queries the bot has not answered."""
        return [r.query for r in self.state.callback_queries.values() if not r.answered]

    def callback_query(self, query_id: str) -> QueryRecord | None:
        """A callback query and the bot's answer (answer is None until answered)."""
        return self.state.callback_queries.get(query_id)

    def inline_query(self, query_id: str) -> QueryRecord | None:
        """An inline query and the bot's answer (answer is None until answered)."""
        return self.state.inline_queries.get(query_id)

    def commands(self, scope: JSON | None = None, language_code: str = "") -> list[JSON]:
        """The bot's command list for a scope (default scope if None) and language."""
        key = json.dumps(scope or {"type": "default"}, sort_keys=True)
        return list(self.state.commands.get((key, language_code), []))

    @property
    def uploads(self) -> list[StoredFile]:
        """Files the bot uploaded (sendPhoto/sendDocument), oldest first."""
        return list(self.state.uploads)

    def file(self, file_id: str) -> StoredFile | None:
        """A file known to the fake by file_id."""
        return self.state.find_file(file_id)

    def set_bot_member(
        self, chat: TgChat, status: str, *, by: TgUser | None = None, **rights: bool
    ) -> JSON:
        """Change the bot's status in a group or channel, as an admin there would ("member",
        "administrator", "restricted" with rights such as can_send_messages=False, "left",
        "kicked"); like Telegram, the bot gets a my_chat_member update. Returns the update."""
        old, new = self.state.set_bot_member(chat, status, **rights)
        actor = by or self._chat_admin()
        return self.add_update(
            {
                "my_chat_member": {
                    "chat": chat.to_api(),
                    "from": actor.to_api(),
                    "date": now(),
                    "old_chat_member": old,
                    "new_chat_member": new,
                }
            }
        )

    def _chat_admin(self) -> TgUser:
        """A user who administers groups in tests, made when first needed."""
        admin = next((u for u in self.state.users.values() if u.username == "group_admin"), None)
        if admin is None:
            admin = TgUser(next(self._user_ids), "Group admin", username="group_admin")
            self.state.users[admin.id] = admin
        return admin

    def block(self, user_id: int, blocked: bool = True) -> None:
        """Make sends to a user's private chat fail with 403 (or undo it)."""
        if blocked:
            self.state.blocked.add(user_id)
        else:
            self.state.blocked.discard(user_id)

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float = 5.0,  # noqa: ASYNC109
        *,
        what: str = "",
    ) -> None:
        """Wait until predicate() is true, re-checking after every call and update."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
            await self._signal.wait(remaining)

    async def wait_for_call(
        self,
        method: str,
        predicate: Callable[[Call], bool] | None = None,
        *,
        since: int = 0,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> Call:
        """Wait for a call of a method (from index `since` of fake.calls) and return it."""
        canonical = self._method_names.get(method.lower(), method)

        def find() -> Call | None:
            return next(
                (
                    c
                    for c in self.calls[since:]
                    if c.method == canonical and (predicate is None or predicate(c))
                ),
                None,
            )

        await self.wait_for(lambda: find() is not None, timeout, what=f"a call to {canonical}")
        found = find()
        assert found is not None
        return found

    async def wait_for_change(self, timeout: float | None) -> bool:  # noqa: ASYNC109
        """Sleep until the next call/update is recorded; False on timeout."""
        return await self._signal.wait(timeout)

    async def deliver_to_webhook(
        self, update: JSON, *, secret: str | _Use | None = USE_CONFIGURED_SECRET
    ) -> int:
        """POST an update straight to the webhook, bypassing the queue; return the HTTP status.

        secret=None sends no secret header; a string sends that (possibly wrong) secret.
        """
        if self.webhook is None:
            raise AssertionError("the bot has not set a webhook")
        if "update_id" not in update:
            update = {"update_id": next(self._update_ids), **update}
        self.state.register_update(update)
        if secret is USE_CONFIGURED_SECRET:
            secret = self.webhook.secret_token
        status, _ = await self._post_update(self.webhook.url, update, secret)
        return status

    # ----------------------------------------------------------------- HTTP

    async def _handle_api(self, request: web.Request) -> web.Response:
        """Entry point for POST/GET /bot<token>/<method>."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        raw_method = request.match_info["method"]
        canonical = self._method_names.get(raw_method.lower())
        _current_request.set(request)
        decoded: JSON = {}
        files: dict[str, UploadedFile] = {}
        try:
            raw, files = await _read_params(request)
        except ValueError as exc:
            status, body = 400, v.bad_request(f"can't parse request: {exc}").payload()
        else:
            decoded = v.decode_params(raw)
            params = v.Params(dict(decoded), files)
            status, body = await self._respond(request.match_info["token"], canonical, params)
        call = Call(canonical or raw_method, decoded, files, started)
        call.status, call.response, call.finished_at = status, body, loop.time()
        self.calls.append(call)
        self._signal.notify()
        if canonical is not None and self._cuts.get(canonical):
            self._cuts[canonical] -= 1
            if request.transport is not None:
                request.transport.abort()  # it took effect; the answer never leaves
        if self.latency:  # the call took effect (a user sees it); the answer is on its way
            await asyncio.sleep(self.latency)
        return web.json_response(body, status=status)

    async def _respond(self, token: str, method: str | None, p: v.Params) -> tuple[int, JSON]:
        """Run one API method, applying token checks and injected faults."""
        if not _TOKEN_RE.fullmatch(token):
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        if token != self.token:
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        if method is None:
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        stalls = self._stalls.get(method)
        if stalls:
            await self._sleep(stalls.popleft())
        fault = self._take_fault(method, p.values.get("chat_id"))
        if fault is not None:
            return fault.status, fault.body
        try:
            result = await self._run(method, p)
        except v.ApiError as exc:
            return exc.status, exc.payload()
        except Exception:
            self.internal_errors.append(traceback.format_exc())
            return 500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}
        return 200, {"ok": True, "result": result}

    def _take_fault(self, method: str, chat_id: Any) -> Fault | None:
        """The first injected failure of a method that applies to a call about ``chat_id``."""
        faults = self._faults.get(method)
        if not faults:
            return None
        for fault in faults:
            if fault.chat_id is None or fault.chat_id == chat_id:
                faults.remove(fault)
                return fault
        return None

    async def _run(self, method: str, p: v.Params) -> Any:
        """Dispatch to the async or sync implementation of a method."""
        if method in self._async_handlers:
            return await self._async_handlers[method](p)
        return self._sync_handlers[method](p)

    async def _handle_file(self, request: web.Request) -> web.Response:
        """GET /file/bot<token>/<file_path>: download a stored file."""
        if request.match_info["token"] != self.token:
            return _json_error(401, "Unauthorized")
        stored = self.state.file_by_path(request.match_info["path"])
        if stored is None or stored.data is None:
            return _json_error(404, "Not Found")
        content_type = stored.mime_type or "application/octet-stream"
        return web.Response(body=stored.data, content_type=content_type)

    async def _handle_not_found(self, request: web.Request) -> web.Response:
        """Anything else is 404, as JSON like Telegram's."""
        return _json_error(404, "Not Found")

    async def _handle_control(self, request: web.Request) -> web.Response:
        """Small control API for a server running in another process (see __main__).

        POST updates: queue one update or a list; answers their ids and, in ``queued_at``,
        when each was queued (the monotonic clock of the calls' ``time``).
        GET calls?since=N[&wait=S][&compact=1]: calls from index N on; ``wait`` long-polls up
        to S seconds until there is one; ``compact`` gives small entries (see _call_compact).
        The answer's ``next`` is the index to ask for next and ``now`` the server's clock.
        GET summary: counters for checking a run (failed calls, unanswered queries, ...) and
        whether a getUpdates long poll is waiting right now (a polling bot is ready), or a
        webhook is set.
        POST balance ``{"urls": [...]}``: deliver the webhook's updates round-robin to these
        instance URLs (:meth:`balance_webhook`; an empty list: to the webhook's own URL).
        """
        action = request.match_info["action"]
        body = await request.json() if request.can_read_body else {}
        if action == "updates" and request.method == "POST":
            items = body if isinstance(body, list) else [body]
            queued = [self.add_update(item) for item in items]
            ids = [update["update_id"] for update in queued]
            times = [self.queued_at[update_id] for update_id in ids]
            return web.json_response({"ok": True, "result": ids, "queued_at": times})
        if action == "calls":
            since = max(int(request.query.get("since", "0")), 0)
            wait = min(max(float(request.query.get("wait", "0")), 0.0), MAX_CONTROL_WAIT)
            await self._wait_for_calls(since, wait)
            end = len(self.calls)
            compact = request.query.get("compact", "") in ("1", "true")
            summary = _call_compact if compact else _call_summary
            result = [summary(c, i) for i, c in enumerate(self.calls[since:end], since)]
            return web.json_response({"ok": True, "result": result, "next": end, "now": _clock()})
        if action == "summary":
            return web.json_response({"ok": True, "result": self.summary()})
        if action == "messages":
            chat_id = int(request.query["chat_id"])
            chat = self.state.chats.get(chat_id)
            found = [m.to_api(self.bot, chat) for m in self.messages(chat_id)] if chat else []
            return web.json_response({"ok": True, "result": found})
        if action == "fail" and request.method == "POST":
            self.fail_next(**body)
            return web.json_response({"ok": True, "result": True})
        if action == "stall" and request.method == "POST":
            self.stall_next(**body)
            return web.json_response({"ok": True, "result": True})
        if action == "balance" and request.method == "POST":
            self.balance_webhook([str(url) for url in body.get("urls", [])])
            return web.json_response({"ok": True, "result": True})
        return _json_error(404, "Not Found")

    async def _wait_for_calls(self, since: int, timeout: float) -> None:  # noqa: ASYNC109
        """Wait until there is a call at index ``since`` or later, the timeout or shutdown."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.calls) <= since and not self._closing:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            await self._signal.wait(remaining)

    def summary(self) -> JSON:
        """Counters for checking a run: calls, failures, queries left unanswered, the queue."""
        failed: dict[str, int] = {}
        for call in self.calls:
            if not call.ok and call.method != "getUpdates":
                key = f"{call.method} {call.status} {call.description}"
                failed[key] = failed.get(key, 0) + 1
        return {
            "calls": len(self.calls),
            "updates_queued": len(self.queued_at),
            "pending_updates": len(self.pending_updates),
            "failed_calls": failed,
            "unanswered_callback_queries": len(self.unanswered_callback_queries()),
            "internal_errors": len(self.internal_errors),
            "polling": self._poll_owner is not None,
            "webhook": self.webhook is not None,
            "now": _clock(),
        }

    async def _sleep(self, seconds: float) -> None:
        """Sleep, but wake up early when the server shuts down."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not self._closing and loop.time() < deadline:
            await self._signal.wait(deadline - loop.time())

    def _canonical(self, method: str) -> str:
        """Canonical spelling of a method name; ValueError for methods the fake lacks."""
        try:
            return self._method_names[method.lower()]
        except KeyError:
            raise ValueError(f"the fake does not implement {method!r}") from None

    # ----------------------------------------------------------------- updates

    def _is_allowed(self, update: JSON) -> bool:
        """Whether the bot's allowed_updates setting lets this update through."""
        allowed = set(self.allowed_updates or ()) or DEFAULT_ALLOWED_UPDATES
        return update_type(update) in allowed

    def _take_deliverable(self, limit: int) -> list[JSON]:
        """Drop updates the bot does not want; return up to `limit` of the rest."""
        self.pending_updates = [u for u in self.pending_updates if self._is_allowed(u)]
        return self.pending_updates[:limit]

    def _confirm(self, offset: int | None) -> None:
        """getUpdates offset semantics: confirm (forget) updates below offset."""
        if offset is None or offset == 0:
            return
        if offset < 0:
            self.pending_updates = self.pending_updates[offset:]
        else:
            self.pending_updates = [u for u in self.pending_updates if u["update_id"] >= offset]

    async def _get_updates(self, p: v.Params) -> list[JSON]:
        """getUpdates with long polling; a newer call terminates an older one with 409."""
        if self.webhook is not None:
            raise v.ApiError(WEBHOOK_CONFLICT, 409)
        limit = min(max(p.integer("limit") or 100, 1), 100)
        timeout = max(_number(p.values.get("timeout")), 0.0)
        allowed = p.obj("allowed_updates", "allowed updates JSON object")
        if isinstance(allowed, list):
            self.allowed_updates = [str(kind) for kind in allowed]
        self._confirm(p.integer("offset"))
        owner = object()
        self._poll_owner = owner
        self._signal.notify()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if self._poll_owner is not owner:
                if self.webhook is not None:
                    raise v.ApiError(WEBHOOK_CONFLICT, 409)
                if _client_gone():
                    raise v.ApiError("Client Closed Request: the bot stopped waiting", 499)
                raise v.ApiError(POLL_CONFLICT, 409)
            batch = self._take_deliverable(limit)
            remaining = deadline - loop.time()
            if batch or self._closing or remaining <= 0:
                self._poll_owner = None
                return batch
            await self._signal.wait(remaining)

    async def _set_webhook(self, p: v.Params) -> bool:
        """setWebhook (http URLs are accepted, unlike on Telegram, so tests can run locally)."""
        url = p.text("url") or ""
        if not url:
            return await self._delete_webhook(p)
        if not v.is_valid_url(url) or not url.startswith(("http://", "https://")):
            raise v.bad_request("bad webhook: Failed to resolve host: Name or service not known")
        secret = p.text("secret_token")
        v.secret_token(secret)
        allowed = p.obj("allowed_updates", "allowed updates JSON object")
        if isinstance(allowed, list):
            self.allowed_updates = [str(kind) for kind in allowed]
        if p.flag("drop_pending_updates"):
            self.pending_updates.clear()
        self.webhook = Webhook(
            url, secret, p.integer("max_connections") or 40, p.text("ip_address")
        )
        self._poll_owner = None
        self._signal.notify()
        return True

    async def _delete_webhook(self, p: v.Params) -> bool:
        """deleteWebhook."""
        if p.flag("drop_pending_updates"):
            self.pending_updates.clear()
        self.webhook = None
        self._signal.notify()
        return True

    async def _get_webhook_info(self, p: v.Params) -> JSON:
        """getWebhookInfo."""
        hook = self.webhook
        info: JSON = {
            "url": hook.url if hook else "",
            "has_custom_certificate": False,
            "pending_update_count": len([u for u in self.pending_updates if self._is_allowed(u)]),
        }
        if hook is not None:
            info["max_connections"] = hook.max_connections
            if hook.ip_address:
                info["ip_address"] = hook.ip_address
            if hook.last_error_date is not None:
                info["last_error_date"] = hook.last_error_date
                info["last_error_message"] = hook.last_error_message
        if self.allowed_updates:
            info["allowed_updates"] = list(self.allowed_updates)
        return info

    def balance_webhook(self, urls: Sequence[str]) -> None:
        """Deliver the webhook's updates to these instance URLs, as Telegram behind a load
        balancer: round-robin, up to the webhook's ``max_connections`` at once (in any order,
        so one user's updates may run side by side), and any update not acknowledged with a
        2xx (refused, timed out, an error status) is delivered again after
        ``webhook_retry_delay``, to the next URL. An empty list goes back to one URL, one
        update at a time."""
        self.webhook_targets = list(urls)
        self._signal.notify()

    async def _deliver_forever(self) -> None:
        """Background task: POST queued updates to the webhook, in order, retrying failures
        (or, balanced, to several instance URLs at once)."""
        attempts = 0
        try:
            while not self._closing:
                if self.webhook_targets:
                    await self._deliver_balanced()
                    continue
                attempts = await self._deliver_one(attempts)
        finally:
            for flight in list(self._flights):
                flight.cancel()

    async def _deliver_one(self, attempts: int) -> int:
        """One step of single-URL delivery; return the failed attempts of the queue's head."""
        hook = self.webhook
        batch = self._take_deliverable(1) if hook is not None else []
        if hook is None or not batch:
            await self._signal.wait(None)
            return attempts
        update = batch[0]
        _, error = await self._post_update(hook.url, update, hook.secret_token)
        attempts += 1
        if error is None or attempts >= self.webhook_max_attempts:
            self._forget(update)
            attempts = 0
        if error is not None:
            hook.last_error_date, hook.last_error_message = now(), error
            await self._sleep(self.webhook_retry_delay)
        return attempts

    async def _deliver_balanced(self) -> None:
        """Start deliveries of queued updates not in flight and due, up to max_connections."""
        hook = self.webhook
        loop = asyncio.get_running_loop()
        if hook is None:
            await self._signal.wait(None)
            return
        started = False
        due_next: float | None = None
        for update in self._take_deliverable(len(self.pending_updates)):
            if len(self._in_flight) >= hook.max_connections:
                break
            update_id = update["update_id"]
            if update_id in self._in_flight:
                continue
            retry_at = self._retry_at.get(update_id, 0.0)
            if retry_at > loop.time():
                due_next = retry_at if due_next is None else min(due_next, retry_at)
                continue
            self._in_flight.add(update_id)
            flight = asyncio.create_task(self._fly(hook, update))
            self._flights.add(flight)
            flight.add_done_callback(self._flights.discard)
            started = True
        if not started:
            await self._signal.wait(None if due_next is None else max(0.0, due_next - loop.time()))

    async def _fly(self, hook: Webhook, update: JSON) -> None:
        """Deliver one update to the next instance URL; on failure, schedule a redelivery."""
        update_id = update["update_id"]
        targets = self.webhook_targets or [hook.url]
        url = targets[self._next_target % len(targets)]
        self._next_target += 1
        try:
            _, error = await self._post_update(url, update, hook.secret_token)
            attempts = self._attempts[update_id] = self._attempts.get(update_id, 0) + 1
            if error is None or attempts >= self.webhook_max_attempts:
                self._forget(update)
                self._attempts.pop(update_id, None)
                self._retry_at.pop(update_id, None)
            else:
                hook.last_error_date, hook.last_error_message = now(), error
                loop = asyncio.get_running_loop()
                self._retry_at[update_id] = loop.time() + self.webhook_retry_delay
        finally:
            self._in_flight.discard(update_id)
            self._signal.notify()

    def _forget(self, update: JSON) -> None:
        """Remove a delivered (or given-up) update from the queue."""
        with contextlib.suppress(ValueError):
            self.pending_updates.remove(update)
        self._signal.notify()

    async def _post_update(
        self, url: str, update: JSON, secret: str | None
    ) -> tuple[int, str | None]:
        """POST one update as JSON; return (HTTP status or 0, error message or None)."""
        assert self._session is not None, "server not started"
        headers = {SECRET_HEADER: secret} if secret else {}
        loop = asyncio.get_running_loop()
        try:
            async with self._session.post(url, json=update, headers=headers) as response:
                await response.read()
                status = response.status
                error = (
                    None
                    if 200 <= status < 300
                    else f"Wrong response from the webhook: {status} {response.reason}"
                )
        except (aiohttp.ClientError, TimeoutError) as exc:
            status, error = 0, f"Connection failed: {exc.__class__.__name__}"
        self.webhook_deliveries.append(Delivery(update["update_id"], status, error, loop.time()))
        self._signal.notify()
        return status, error


async def _read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    """Collect query, form, multipart or JSON parameters and uploaded files."""
    raw: dict[str, Any] = dict(request.query)
    files: dict[str, UploadedFile] = {}
    if not request.can_read_body:
        return raw, files
    if request.content_type == "application/json":
        body = await request.read()
        if body.strip():
            decoded = json.loads(body)
            if not isinstance(decoded, dict):
                raise ValueError("JSON object expected")
            raw.update(decoded)
        return raw, files
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        for name, value in form.items():
            if isinstance(value, web.FileField):
                with value.file:
                    data = value.file.read()
                files[name] = UploadedFile(value.filename, value.content_type, data)
            else:
                raw[name] = value if isinstance(value, str) else bytes(value).decode()
    return raw, files


def _client_gone() -> bool:
    """Whether the client of the request being handled has disconnected."""
    request = _current_request.get(None)
    transport = request.transport if request is not None else None
    return transport is None or transport.is_closing()


def _number(value: Any) -> float:
    """A numeric parameter that may be int, float or a numeric string (timeout)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    try:
        return float(str(value)) if value is not None else 0.0
    except ValueError:
        raise v.bad_request('field "timeout" must be a Number') from None


def _chat_id(chat: int | TgChat) -> int:
    """Numeric id of a chat reference."""
    return chat if isinstance(chat, int) else chat.id


def _json_error(status: int, description: str) -> web.Response:
    """A Telegram-style JSON error response."""
    body = {"ok": False, "error_code": status, "description": description}
    return web.json_response(body, status=status)


def _clock() -> float:
    """The fake's clock, the one of Call.time: the event loop's (monotonic seconds)."""
    try:
        return asyncio.get_running_loop().time()
    except RuntimeError:
        return time.monotonic()


def _call_summary(call: Call, index: int = 0) -> JSON:
    """A call as JSON for the control API."""
    return {
        "i": index,
        "method": call.method,
        "params": call.params,
        "status": call.status,
        "time": call.time,
        "finished_at": call.finished_at,
        "description": call.description,
    }


def _call_compact(call: Call, index: int) -> JSON:
    """A small view of a call for a load generator: who it was for, when, and its outcome.

    ``message`` is the Message the method returned (sendMessage, editMessageText, ...), so a
    client sees the text and keyboard as a Telegram user would; other results are left out.
    A callback query's answer carries ``callback_query_id`` and any notification ``text``.
    """
    entry: JSON = {
        "i": index,
        "method": call.method,
        "status": call.status,
        "time": call.time,
        "finished_at": call.finished_at,
        "chat_id": call.chat_id,
    }
    query_id = call.params.get("callback_query_id")
    if query_id is not None:
        entry["callback_query_id"] = str(query_id)
        if call.params.get("text"):
            entry["text"] = call.params["text"]
    result = call.result if call.ok else None
    if isinstance(result, dict) and "message_id" in result:
        entry["message"] = result
    if not call.ok:
        entry["description"] = call.description
    return entry
