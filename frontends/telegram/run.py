"""Running the bot: long polling or a webhook server, and what happens when that fails."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from telegram import Update
from telegram.error import InvalidToken, TelegramError
from telegram.ext import Application

from advisor import Knowledge
from settings import Settings

from .app import build_application
from .logs import configure_logging

logger = logging.getLogger(__name__)


def run_telegram(settings: Settings, knowledge: Knowledge) -> int:
    """Run the bot until stopped, by long polling or as a webhook server."""
    configure_logging(settings.log_level, [settings.bot_token or "", settings.webhook_secret or ""])
    app = build_application(settings, knowledge)
    try:
        _run(app, settings)
    except InvalidToken:
        logger.error("BOT_TOKEN: Telegram rejected the token; check it with @BotFather")
        return 2
    except (TelegramError, OSError) as exc:  # logged through the formatter that hides the token
        logger.error("could not run the bot: %s", exc)
        return 1
    return 0


def _run(app: Application, settings: Settings) -> None:  # type: ignore[type-arg]
    if settings.mode == "webhook":
        assert settings.webhook_url is not None
        app.run_webhook(
            listen=settings.listen,
            port=settings.port,
            url_path=urlsplit(settings.webhook_url).path.lstrip("/"),
            webhook_url=settings.webhook_url,
            secret_token=settings.webhook_secret,
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        app.run_polling(allowed_updates=Update.ALL_TYPES)
