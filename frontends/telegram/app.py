"""The one wiring point: a configured python-telegram-bot Application."""

from __future__ import annotations

import asyncio
import logging

from telegram.ext import (
    Application,
    BaseUpdateProcessor,
    CallbackQueryHandler,
    CommandHandler,
    InlineQueryHandler,
    JobQueue,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest

from advisor import Knowledge, recommend
from advisor.chart import render_chart_png
from bootstrap import Advisor, bootstrap
from dialogs.engine import DialogEngine
from frontends.metrics import Metrics
from settings import Settings
from storage.base import Store

from . import admin_commands, handlers, leads, share
from .context import CONTEXT_TYPES, BotApp, BotContext, Services
from .delivery import TelegramTransport
from .ordering import PerUserOrder
from .presenter import TelegramPresenter
from .ratelimit import PerChatRateLimiter
from .transport import AiohttpRequest

logger = logging.getLogger(__name__)

PURGE_EVERY_SECONDS = 3600
#: How often messages still owed (after a failure that has passed) are tried again.
RESUME_EVERY_SECONDS = 15
#: HTTP connections beyond one per running update: the job delivering owed messages, start-up
#: and webhook registration calls. getUpdates has its own connection (PTB's second client).
EXTRA_CONNECTIONS = 4
#: Channel posts and service messages (joins, pins, title changes …): silently ignored.
NOT_FOR_US = filters.UpdateType.CHANNEL_POSTS | filters.StatusUpdate.ALL
ADMIN_COMMANDS = {
    "link": admin_commands.link,
    "links": admin_commands.links_command,
    "stats": admin_commands.stats_command,
    "export": admin_commands.export,
    "leads": leads.leads_command,
}


def build_application(
    settings: Settings,
    knowledge: Knowledge,
    *,
    store: Store | None = None,
    engine: DialogEngine | None = None,
    update_processor: BaseUpdateProcessor | None = None,
    requests: tuple[BaseRequest, BaseRequest] | None = None,
) -> BotApp:
    """A ready-to-run Application: handlers, storage, ordering, rate limits, error handling.

    Updates run through :class:`PerUserOrder` with ``settings.max_concurrent_updates`` slots.
    Bot API calls go through :class:`AiohttpRequest` with one connection per slot plus
    :data:`EXTRA_CONNECTIONS`, so a call never queues for a connection; getUpdates has a
    client of its own with one connection. ``update_processor`` and ``requests`` (the client
    for the calls, the one for getUpdates) replace those (the benchmark's baseline runs the
    previous configuration through them).
    """
    if settings.bot_token is None:
        raise ValueError("build_application needs settings with a BOT_TOKEN")
    api = settings.telegram_api_url
    limited = settings.rate_limit > 0
    calls, polls = requests or (
        AiohttpRequest(settings.max_concurrent_updates + EXTRA_CONNECTIONS),
        AiohttpRequest(1),  # our polling loop makes one call at a time
    )
    metrics = Metrics(token=settings.metrics_token)

    async def post_init(app: BotApp) -> None:
        if advisor.opening is not None:
            await advisor.opening.open()
        await handlers.set_commands(app)
        await leads.on_start(app)  # the sales chat checked, waiting leads due at once
        # The first chart loads its fonts (some milliseconds): do it now, not for a user.
        await asyncio.to_thread(render_chart_png, recommend(knowledge, {}), knowledge)

    async def post_shutdown(app: BotApp) -> None:
        await leads.on_stop(app)
        await advisor.store.close()

    app: BotApp = (
        Application.builder()
        .token(settings.bot_token)
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        .context_types(CONTEXT_TYPES)
        .job_queue(JobQueue[BotContext]())
        .rate_limiter(
            PerChatRateLimiter(
                overall_max_rate=settings.rate_limit,
                group_max_rate=20 if limited else 0,
                max_retries=3,
            )
        )
        .concurrent_updates(update_processor or PerUserOrder(settings.max_concurrent_updates))
        .request(calls)
        .get_updates_request(polls)
        .post_init(post_init)
        .post_shutdown(post_shutdown)
        .build()
    )
    transport = TelegramTransport(app.bot, knowledge)
    advisor = bootstrap(
        settings,
        knowledge,
        presenter=TelegramPresenter.of,
        transport=transport,
        store=store,
        engine=engine,
        spawn=lambda coroutine: app.create_task(coroutine, name="leads"),
    )
    app.bot_data.services = Services.of(advisor, transport)
    if settings.web_url is not None:  # the web pages, on the same store, desk and dialog
        from frontends.web.site import web_front_end

        app.bot_data.web = web_front_end(
            settings,
            knowledge,
            store=advisor.store,
            engine=advisor.engine,
            leads=advisor.leads,
            spawn=lambda coroutine: app.create_task(coroutine, name="leads"),
            metrics=metrics,
        )
    _measure(app, advisor, metrics, (calls, polls))
    _add_handlers(app, settings)
    leads.install(app)
    if app.job_queue is not None:
        app.job_queue.run_repeating(
            handlers.purge_idle_sessions, interval=PURGE_EVERY_SECONDS, first=5
        )
        app.job_queue.run_repeating(
            handlers.resume_deliveries, interval=RESUME_EVERY_SECONDS, first=0.5
        )
    return app


def _measure(
    app: BotApp,
    advisor: Advisor[TelegramPresenter],
    metrics: Metrics,
    requests: tuple[BaseRequest, BaseRequest],
) -> None:
    """Feed the metrics (``GET /metrics``): updates, failed Bot API calls, what the store owes
    and the sales chat's health."""
    app.bot_data.metrics = metrics
    app.bot_data.services.acks.observe = metrics.update_done
    for request in requests:
        if isinstance(request, AiohttpRequest):
            request.failed = metrics.bot_api_error
    metrics.watch_store(advisor.store)
    sales = advisor.leads.sales_chat
    if sales is not None:
        metrics.watch_sales_chat(lambda: None if sales.problem is None else not sales.problem)


def _add_handlers(app: BotApp, settings: Settings) -> None:
    new_messages = filters.UpdateType.MESSAGE  # an edited "/restart" must not restart
    # Button presses first: most updates are one, and no other handler takes them, so PTB finds
    # theirs at once rather than after asking each command and message handler.
    app.add_handler(CallbackQueryHandler(handlers.button))
    app.add_handler(MessageHandler(NOT_FOR_US, handlers.ignore))
    for name, callback in handlers.COMMANDS.items():
        app.add_handler(CommandHandler(name, callback, filters=new_messages))
    # Anyone, anywhere: their id and the group's (for ADMIN_IDS and SALES_CHAT_ID).
    app.add_handler(CommandHandler("id", handlers.id_command, filters=new_messages))
    # Admins, in a private chat only (an export must not land in a group). For anyone else
    # these commands fall through to the unknown-command reply.
    admins = filters.User(user_id=settings.admin_ids, allow_empty=False)
    private = filters.ChatType.PRIVATE
    for name, callback in ADMIN_COMMANDS.items():
        app.add_handler(CommandHandler(name, callback, filters=admins & private & new_messages))
    app.add_handler(InlineQueryHandler(share.inline_query))
    app.add_handler(MessageHandler(filters.UpdateType.EDITED, handlers.edited))
    app.add_handler(MessageHandler(filters.COMMAND, handlers.unknown_command))
    app.add_handler(MessageHandler(filters.CONTACT, handlers.contact_shared))
    app.add_handler(MessageHandler(filters.TEXT, handlers.text))
    app.add_handler(MessageHandler(filters.ALL, handlers.unsupported))
    app.add_error_handler(handlers.on_error)
