"""Stack Advisor's entry point: parse arguments, load settings and data, run a front end."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from advisor import DataError, Knowledge, load_knowledge
from dialogs.texts import DIALOG_TEXTS
from frontends.console.chat import run_console
from settings import Settings, SettingsError, load_settings, read_environment


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bot.py",
        description="Stack Advisor: Django or Node.js? A Telegram bot and console chat.",
    )
    parser.add_argument("--data", type=Path, default=None, help="folder with the YAML data")
    parser.add_argument("--check-data", action="store_true", help="validate the data and exit")
    parser.add_argument("--console", action="store_true", help="chat in this terminal")
    parser.add_argument(
        "--web",
        action="store_true",
        help="serve the web pages on this machine (WEB_LISTEN:WEB_PORT, http://127.0.0.1:8080)",
    )
    parser.add_argument(
        "--lang",
        default=None,
        help="the console chat's language (en, es, pt, ru); default: the system locale",
    )
    parser.add_argument(
        "--migrate",
        action="store_true",
        help="apply the storage's schema changes (SQLite or DATABASE_URL) and exit",
    )
    parser.add_argument("--env-file", type=Path, default=Path(".env"), help="optional .env file")
    return parser.parse_args(argv)


def system_language(environ: Mapping[str, str]) -> str | None:
    """The system locale's language, as POSIX gives it (LC_ALL, then LC_MESSAGES, then LANG:
    "pt_BR.UTF-8" → "pt_BR"); None for the C locale or none."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name, "").split(".")[0].split("@")[0]
        if value:
            return None if value in ("C", "POSIX") else value
    return None


def load(data_dir: Path | None) -> Knowledge:
    """Load the data with every text the front ends need."""
    return load_knowledge(data_dir, required_texts=DIALOG_TEXTS)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        knowledge = load(args.data)
    except DataError as exc:
        for line in str(exc).splitlines():  # every problem, each naming its file and key
            print(f"error: {line}", file=sys.stderr)
        return 1
    if args.check_data:
        print(
            f"data OK: {len(knowledge.criteria)} criteria, {len(knowledge.questions)} questions, "
            f"{knowledge.option_count} options; languages: {', '.join(knowledge.languages)}"
        )
        return 0
    language = args.lang or system_language(os.environ)
    if args.console:
        return run_console(knowledge, sys.stdin, sys.stdout, language)
    try:
        settings = load_settings(read_environment(os.environ, args.env_file))
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.migrate:
        return migrate(settings, knowledge)
    if args.web:
        from frontends.web.site import run_web

        return run_web(settings, knowledge)
    if settings.bot_token is None:
        print(knowledge.speaking(knowledge.language_for(language)).text("console.telegram_hint"))
        return run_console(knowledge, sys.stdin, sys.stdout, language)
    # python-telegram-bot's next-major behaviour (retry_after as a timedelta): without it, the
    # first 429 prints a deprecation warning from inside the library.
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    from frontends.telegram import run_telegram

    return run_telegram(settings, knowledge)


def migrate(settings: Settings, knowledge: Knowledge) -> int:
    """``--migrate``: one line with the schema version on success; exit 2 to fix the setup, 1
    when the database could not be reached (trying later may work)."""
    from storage import configured
    from storage.base import StorageError, StoreUnavailable

    try:
        print(asyncio.run(configured.migrate(settings, knowledge)))
    except StorageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1 if isinstance(exc, StoreUnavailable) else 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
