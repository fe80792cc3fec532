"""Logging that never shows the bot token, and keeps noisy HTTP loggers down."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from settings import Settings

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class RedactingFormatter(logging.Formatter):
    """Replaces secrets in the finished line, tracebacks included."""

    def __init__(self, secrets: list[str], fmt: str = FORMAT) -> None:
        super().__init__(fmt)
        self.secrets = [s for s in secrets if s]

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        for secret in self.secrets:
            line = line.replace(secret, "<redacted>")
        return line


def secrets_of(settings: Settings) -> list[str]:
    """What the log must never show: the token, the webhook secret, the lead hook's key, and
    the user part (name and password) of TELEGRAM_API_URL and the password of DATABASE_URL."""
    found = [settings.bot_token or "", settings.webhook_secret or ""]
    found.append(settings.lead_webhook_secret or "")
    found.append(settings.metrics_token or "")
    for url in (settings.telegram_api_url, settings.database_url or ""):
        netloc = urlsplit(url).netloc
        if "@" in netloc:  # the whole "user:password@", so no short word is blanked elsewhere
            found.append(netloc.rsplit("@", 1)[0] + "@")
    return [secret for secret in found if secret]


def configure_logging(level: str, secrets: list[str]) -> None:
    """Log to stderr at ``level``; the token and webhook secret are redacted everywhere."""
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(getattr(logging, level))
    # httpx logs every request URL at INFO, and the URL contains the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("transitions").setLevel(logging.WARNING)  # two lines per answer
