"""The one wiring point: a configured python-telegram-bot Application, and how to run it."""

from __future__ import annotations

import hashlib
import logging

from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from advisor import Knowledge
from dialogs.engine import DialogEngine
from dialogs.sharecode import ShareCodes
from settings import Settings
from storage.sqlite import SessionStore

from . import admin, handlers, lead, privacy, share
from .ordering import PerUserOrder
from .ratelimit import PerChatRateLimiter
from .render import Views
from .turn import Services

logger = logging.getLogger(__name__)

PURGE_EVERY_SECONDS = 3600
#: Updates in flight at once (each user's own updates still run one after another).
MAX_CONCURRENT_UPDATES = 4096
#: Channel posts and service messages (joins, pins, title changes …): silently ignored.
NOT_FOR_US = filters.UpdateType.CHANNEL_POSTS | filters.StatusUpdate.ALL
COMMANDS = {
    "start": handlers.start,
    "back": handlers.back,
    "restart": handlers.restart,
    "cancel": handlers.cancel,
    "help": handlers.help_command,
    "about": handlers.about,
    "forget": privacy.forget,
}
ADMIN_COMMANDS = {"link": admin.link, "stats": admin.stats_command, "export": admin.export}


def build_application(
    settings: Settings,
    knowledge: Knowledge,
    *,
    store: SessionStore | None = None,
    engine: DialogEngine | None = None,
) -> Application:  # type: ignore[type-arg]
    """A ready-to-run Application: handlers, storage, ordering, rate limits, error handling."""
    if settings.bot_token is None:
        raise ValueError("build_application needs settings with a BOT_TOKEN")
    engine = engine or DialogEngine(knowledge)
    store = store or SessionStore(settings.state_db, knowledge)
    api = settings.telegram_api_url
    limited = settings.rate_limit > 0
    app = (
        Application.builder()
        .token(settings.bot_token)
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        .rate_limiter(
            PerChatRateLimiter(
                overall_max_rate=settings.rate_limit,
                group_max_rate=20 if limited else 0,
                max_retries=3,
            )
        )
        .concurrent_updates(PerUserOrder(MAX_CONCURRENT_UPDATES))
        .post_init(handlers.set_commands)
        .post_shutdown(lambda _app: _close(store))
        .build()
    )
    secret = settings.share_secret or hashlib.sha256(settings.bot_token.encode()).hexdigest()
    app.bot_data["services"] = Services(
        settings,
        knowledge,
        engine,
        store,
        Views(knowledge, engine.welcome_values()),
        ShareCodes(knowledge, secret.encode()),
    )
    new_messages = filters.UpdateType.MESSAGE  # an edited "/restart" must not restart
    app.add_handler(MessageHandler(NOT_FOR_US, handlers.ignore))
    for name, callback in COMMANDS.items():
        app.add_handler(CommandHandler(name, callback, filters=new_messages))
    # Admins, in a private chat only (an export must not land in a group). For anyone else
    # these commands fall through to the unknown-command reply.
    admins = filters.User(user_id=settings.admin_ids, allow_empty=False)
    private = filters.ChatType.PRIVATE
    for name, callback in ADMIN_COMMANDS.items():
        app.add_handler(CommandHandler(name, callback, filters=admins & private & new_messages))
    app.add_handler(CallbackQueryHandler(handlers.button))
    app.add_handler(InlineQueryHandler(share.inline_query))
    app.add_handler(MessageHandler(filters.UpdateType.EDITED, handlers.edited))
    app.add_handler(MessageHandler(filters.COMMAND, handlers.unknown_command))
    app.add_handler(MessageHandler(filters.CONTACT, lead.contact_shared))
    app.add_handler(MessageHandler(filters.TEXT, handlers.text))
    app.add_handler(MessageHandler(filters.ALL, handlers.unsupported))
    app.add_error_handler(handlers.on_error)
    if app.job_queue is not None:
        app.job_queue.run_repeating(
            handlers.purge_idle_sessions, interval=PURGE_EVERY_SECONDS, first=5
        )
    return app


async def _close(store: SessionStore) -> None:
    store.close()
