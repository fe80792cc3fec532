"""Prometheus metrics: what operators graph and alert on (docs/operating.md, "Metrics").

One :class:`Metrics` per application, in a registry of its own (not prometheus_client's global
one), so several applications in one process, and tests, never mix their numbers. It is served
as ``GET /metrics`` beside ``/healthz`` (the webhook server, the web pages' server, and the
server of ``METRICS_PORT``), in Prometheus's text format written by prometheus_client.

What is counted as it happens costs one counter increment and one histogram observation per
update (:meth:`Metrics.update_done`), and one increment per failed Bot API call. What is read
from the database (the outbox's backlog, the leads' deliveries) is read once per scrape, with
a time limit, so a slow database never holds a scrape up; the sales chat's health is read from
what its last check found.

No label holds a person's id, a chat's id or anyone's words: only fixed sets of values (the
kind of update, an outcome, a Bot API method, a destination of leads).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Protocol

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from storage.base import Backlog

logger = logging.getLogger(__name__)

PATH = "/metrics"
#: The kinds of update counted by name; any other is "other".
KINDS = (
    "message",
    "callback_query",
    "edited_message",
    "inline_query",
    "my_chat_member",
    "chat_member",
)
OTHER = "other"
#: What became of an update: its turn committed ("ok"); it had been applied before (a
#: redelivery: "duplicate"); its turn could not be committed, so it is to come again
#: ("refused": the database was away, or an earlier update of the person's is to come again);
#: it was refused too often and acknowledged with an apology ("given_up"); a handler failed
#: (a bug: "failed", the person got the apology).
OK, DUPLICATE, REFUSED, GIVEN_UP, FAILED = "ok", "duplicate", "refused", "given_up", "failed"
OUTCOMES = (OK, DUPLICATE, REFUSED, GIVEN_UP, FAILED)
#: Seconds: a turn takes a few milliseconds against a nearby Bot API, seconds when the database
#: or Telegram is slow (the person hears "one moment" after 3 s).
TURN_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: What a failed Bot API call is counted as: no answer in time, no connection, a 5xx answer,
#: "too many requests", or the Bot API's refusals by HTTP status (frontends/telegram/transport.py).
ERROR_KINDS = (
    "timeout",
    "network",
    "server",
    "retry_after",
    "bad_request",
    "unauthorized",
    "forbidden",
    "not_found",
    "conflict",
    "other",
)
#: A Bot API method's name as a label (PTB builds the URLs from its own method names).
METHOD_RE = re.compile(r"[A-Za-z]{1,40}")
#: How long the database may take to answer a scrape's questions, in seconds.
STORE_TIMEOUT = 2.0
CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    """The metrics of one application (the bot, the web pages, or both on one store)."""

    def __init__(self, *, token: str | None = None) -> None:
        #: When set, a scrape must send ``Authorization: Bearer <token>`` (METRICS_TOKEN).
        self.token = token
        self.registry = CollectorRegistry(auto_describe=True)
        self.updates = Counter(
            "stackadvisor_updates",
            "Telegram updates handled, by kind of update and what became of it.",
            ("kind", "outcome"),
            registry=self.registry,
        )
        self.turn_seconds = Histogram(
            "stackadvisor_turn_seconds",
            "Seconds from an update's arrival until its turn was done (committed, or refused), "
            "including the wait behind the same person's earlier updates.",
            buckets=TURN_BUCKETS,
            registry=self.registry,
        )
        self.bot_api_errors = Counter(
            "stackadvisor_bot_api_errors",
            "Bot API calls that failed, by method and kind of failure.",
            ("method", "kind"),
            registry=self.registry,
        )
        # Every series exists from the start (at 0), so rate() sees the first increment.
        self._updates = {
            kind: {outcome: self.updates.labels(kind, outcome) for outcome in OUTCOMES}
            for kind in (*KINDS, OTHER)
        }
        self._errors: dict[tuple[str, str], Counter] = {}
        self._state = _Stored()
        self.registry.register(_FromStore(self._state))
        self._sales = _SalesChat()
        self.registry.register(self._sales)

    # -- as it happens (the hot path) -------------------------------------------------------------

    def update_done(self, update: object, outcome: str, seconds: float) -> None:
        """One update was handled in ``seconds``; ``outcome`` is one of :data:`OUTCOMES`."""
        try:
            self._updates[kind_of(update)][outcome].inc()
        except KeyError:  # an outcome not in OUTCOMES: a bug here, never the update's problem
            logger.warning("metrics: no such outcome of an update: %r", outcome)
            return
        self.turn_seconds.observe(seconds)

    def bot_api_error(self, url: str, kind: str) -> None:
        """A Bot API call to ``url`` (…/bot<token>/<method>) failed; ``kind`` is one of
        :data:`ERROR_KINDS`. The URL's token never becomes a label: only the method's name."""
        method = url.rsplit("/", 1)[-1]
        if not METHOD_RE.fullmatch(method):
            method = OTHER
        key = (method, kind if kind in ERROR_KINDS else OTHER)
        child = self._errors.get(key)
        if child is None:
            child = self._errors[key] = self.bot_api_errors.labels(*key)
        child.inc()

    # -- read at each scrape ----------------------------------------------------------------------

    def watch_store(self, store: _BacklogSource) -> None:
        """Read the outbox's backlog and the leads' deliveries from ``store`` at each scrape."""
        self._state.store = store

    def watch_sales_chat(self, works: Callable[[], bool | None]) -> None:
        """Whether the sales chat works, as its last check found (None: not checked yet)."""
        self._sales.works = works

    async def scrape(self) -> bytes:
        """The metrics in Prometheus's text format, the database read first (with a time
        limit)."""
        await self._state.refresh()
        return generate_latest(self.registry)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """``GET /metrics`` (with the bearer token, when one is set)."""
        if self.token is not None:
            given = request.headers.get("Authorization", "").encode("utf-8", "surrogateescape")
            if not hmac.compare_digest(given, b"Bearer " + self.token.encode()):
                return web.Response(
                    status=401, text="Unauthorized", headers={"WWW-Authenticate": "Bearer"}
                )
        body = await self.scrape()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})

    def add_route(self, app: web.Application) -> None:
        """Serve ``GET /metrics`` on an aiohttp application."""
        app.router.add_get(PATH, self.handle)

    async def serve(self, host: str, port: int) -> web.AppRunner:
        """A server of its own for ``/metrics`` (and ``/healthz``): METRICS_LISTEN and
        METRICS_PORT. Raises OSError when the address cannot be used."""
        app = web.Application()
        self.add_route(app)
        app.router.add_get("/healthz", _healthy)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=5.0)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except BaseException:
            await runner.cleanup()
            raise
        logger.info("metrics on http://%s:%d%s", host, port, PATH)
        return runner


def kind_of(update: object) -> str:
    """The kind of a Telegram update, one of :data:`KINDS` or "other"."""
    for kind in KINDS:
        if getattr(update, kind, None) is not None:
            return kind
    return OTHER


async def _healthy(request: web.Request) -> web.Response:
    return web.Response(text="ok")


# -- collectors --------------------------------------------------------------------------------


class _BacklogSource(Protocol):
    """What :meth:`Metrics.watch_store` reads: :class:`storage.base.Store` has both."""

    clock: Callable[[], float]

    async def backlog(self) -> Backlog:
        """What is owed now."""


class _Stored:
    """What the last scrape read from the database."""

    def __init__(self) -> None:
        self.store: _BacklogSource | None = None
        self.backlog: Backlog | None = None
        self.read = False
        self.now = 0.0

    async def refresh(self) -> None:
        store = self.store
        if store is None:
            return
        try:
            async with asyncio.timeout(STORE_TIMEOUT):
                self.backlog = await store.backlog()
            self.read, self.now = True, store.clock()
        except Exception as exc:  # whatever the driver raises: the gauges are left out
            reason = "no answer in time" if isinstance(exc, TimeoutError) else repr(exc)
            logger.warning("metrics: could not read the backlog from the database (%s)", reason)
            self.backlog, self.read = None, False


class _FromStore(Collector):
    """The outbox's backlog and the leads' deliveries, as the last scrape read them."""

    def __init__(self, state: _Stored) -> None:
        self.state = state

    def describe(self) -> Iterable[Metric]:
        return ()

    def collect(self) -> Iterable[Metric]:
        state = self.state
        if state.store is None:
            return
        up = GaugeMetricFamily(
            "stackadvisor_store_up",
            "Whether the database answered this scrape's questions in time (1) or not (0: the "
            "backlog and lead gauges are left out).",
            value=1 if state.read else 0,
        )
        yield up
        backlog = state.backlog
        if not state.read or backlog is None:
            return
        yield GaugeMetricFamily(
            "stackadvisor_outbox_backlog",
            "Messages committed to the outbox and not yet delivered (the whole store's, not "
            "only this instance's).",
            value=backlog.outbox,
        )
        deliveries = GaugeMetricFamily(
            "stackadvisor_lead_deliveries",
            "Leads' deliveries by state (pending, failing: pending after a failed attempt, "
            "delivered, handled) and destination (telegram: the sales chat; webhook: the CRM "
            "hook).",
            labels=("state", "destination"),
        )
        for (state_name, destination), count in sorted(backlog.deliveries.items()):
            deliveries.add_metric((state_name, destination), count)
        yield deliveries
        yield _oldest(backlog.oldest_waiting, state.now)


def _oldest(oldest: Mapping[str, int], now: float) -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        "stackadvisor_lead_oldest_waiting_seconds",
        "Seconds since the oldest lead still waiting for a destination was stored (absent: none "
        "waits).",
        labels=("destination",),
    )
    for destination, at in sorted(oldest.items()):
        family.add_metric((destination,), max(now - at, 0.0))
    return family


class _SalesChat(Collector):
    """Whether the sales chat works, as its last check found."""

    def __init__(self) -> None:
        self.works: Callable[[], bool | None] | None = None

    def describe(self) -> Iterable[Metric]:
        return ()

    def collect(self) -> Iterable[Metric]:
        works = self.works() if self.works is not None else None
        if works is None:  # no sales chat, or not checked yet
            return
        yield GaugeMetricFamily(
            "stackadvisor_sales_chat_ok",
            "Whether the bot can post leads in the sales chat (SALES_CHAT_ID), as its last "
            "check found: 1 yes, 0 no (removed, no rights, no such chat …).",
            value=1 if works else 0,
        )
