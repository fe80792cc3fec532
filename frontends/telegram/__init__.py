"""The Telegram front end (python-telegram-bot v22) over the dialog engine."""

from .app import build_application
from .run import run_telegram

__all__ = ["build_application", "run_telegram"]
