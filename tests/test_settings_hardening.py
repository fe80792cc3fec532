"""Settings that used to pass validation and crash later: each is now one line naming it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from settings import SettingsError, load_settings

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456:ABCdef_ghi-jkl"
WEBHOOK = {"MODE": "webhook", "WEBHOOK_SECRET": "s3cret", "WEBHOOK_URL": "https://bot.example/h"}

BAD = [
    ({"TELEGRAM_API_URL": "http://[::1"}, r"^TELEGRAM_API_URL: is not a valid URL \(Invalid IPv6"),
    ({"TELEGRAM_API_URL": "http://[zz]"}, r"^TELEGRAM_API_URL: is not a valid URL"),
    ({"TELEGRAM_API_URL": "http://h:99999"}, r"^TELEGRAM_API_URL: is not a valid URL \(Port out"),
    ({"TELEGRAM_API_URL": "http://h:port"}, r"^TELEGRAM_API_URL: is not a valid URL \(Port could"),
    ({"TELEGRAM_API_URL": "http://h:0"}, r"^TELEGRAM_API_URL: has port 0"),
    ({"TELEGRAM_API_URL": "http://exa mple.org"}, r"^TELEGRAM_API_URL: must not contain spaces"),
    ({"TELEGRAM_API_URL": "http://-bad-.org"}, r"^TELEGRAM_API_URL: has no valid host name"),
    ({"TELEGRAM_API_URL": "http://a..b"}, r"^TELEGRAM_API_URL: has no valid host name"),
    ({"TELEGRAM_API_URL": "http://:8081"}, r"^TELEGRAM_API_URL: has no valid host name"),
    ({"TELEGRAM_API_URL": "http://h/api?x=1"}, r"^TELEGRAM_API_URL: must not have a \?query"),
    ({"TELEGRAM_API_URL": "http://h/api#x"}, r"^TELEGRAM_API_URL: must not have a #fragment"),
    ({**WEBHOOK, "WEBHOOK_URL": "https://[x/"}, r"^WEBHOOK_URL: is not a valid URL"),
    ({**WEBHOOK, "WEBHOOK_URL": "https://x.io:99999/h"}, r"^WEBHOOK_URL: is not a valid URL"),
    ({**WEBHOOK, "WEBHOOK_URL": "https://x.io/a b"}, r"^WEBHOOK_URL: must not contain spaces"),
    ({**WEBHOOK, "WEBHOOK_URL": "https://x.io/h%20"}, r"^WEBHOOK_URL: the path may only use"),
    ({**WEBHOOK, "WEBHOOK_URL": "https://x.io/h#top"}, r"^WEBHOOK_URL: must not have a #"),
    ({"PORT": "99999"}, r"^PORT: must be between 1 and 65535, not 99999"),
    ({"PORT": "0"}, r"^PORT: must be between 1 and 65535, not 0"),
    ({"LISTEN": "not an address"}, r"^LISTEN: must be an IP address .* not 'not an address'"),
    ({"LISTEN": "300.1.1.1:80"}, r"^LISTEN: must be an IP address"),
    ({"LISTEN": "[::]"}, r"^LISTEN: must be an IP address"),
    ({"STATE_DB": "state/\x01.db"}, r"^STATE_DB: must not contain control characters"),
    ({"STATE_DB": "a" * 5000}, r"^STATE_DB: is 5000 bytes long; a path may have at most 4095"),
    ({"STATE_DB": "state/" + "b" * 300}, r"^STATE_DB: has a name of 300 bytes"),
    (
        {"DATABASE_URL": "postgresql://db/x", "DATABASE_SCHEMA": "pg_catalog"},
        r"^DATABASE_SCHEMA: 'pg_catalog' is one of PostgreSQL's own schemas",
    ),
    ({"DATABASE_URL": "postgresql://db/x", "DATABASE_TIMEOUT": "0"}, r"^DATABASE_TIMEOUT: "),
    ({"STARTUP_RETRY_SECONDS": "soon"}, r"^STARTUP_RETRY_SECONDS: must be a whole number"),
    ({"STARTUP_RETRY_SECONDS": "-1"}, r"^STARTUP_RETRY_SECONDS: must be between 0 and 86400"),
]


@pytest.mark.parametrize(("environ", "message"), BAD)
def test_a_setting_that_would_crash_later_is_refused_with_one_line_naming_it(
    environ: dict[str, str], message: str
) -> None:
    with pytest.raises(SettingsError, match=message) as caught:
        load_settings({"BOT_TOKEN": TOKEN, **environ})
    assert "\n" not in str(caught.value)


GOOD = [
    {"TELEGRAM_API_URL": "http://[::1]:8081"},
    {"TELEGRAM_API_URL": "http://127.0.0.1:8081/"},
    {"TELEGRAM_API_URL": "http://bot-api_1:8081"},
    {"TELEGRAM_API_URL": "https://api.telegram.org."},
    {**WEBHOOK, "WEBHOOK_URL": "https://bot.example.com:8443/tg/hook-1.x_y~z"},
    {**WEBHOOK, "WEBHOOK_URL": "https://bot.example.com"},
    {"LISTEN": "::"},
    {"LISTEN": "127.0.0.1"},
    {"LISTEN": "localhost"},
    {"STARTUP_RETRY_SECONDS": "0"},
]


@pytest.mark.parametrize("environ", GOOD)
def test_settings_that_work_are_accepted(environ: dict[str, str]) -> None:
    load_settings({"BOT_TOKEN": TOKEN, **environ})


def test_start_up_retries_for_a_minute_by_default() -> None:
    assert load_settings({"BOT_TOKEN": TOKEN}).startup_retry_seconds == 60


@pytest.mark.parametrize(
    ("variable", "value"),
    [("TELEGRAM_API_URL", "http://[::1"), ("WEBHOOK_URL", "https://[x/"), ("LISTEN", "a b")],
)
def test_the_bot_started_with_a_setting_that_crashed_it_stops_with_one_line_and_code_2(
    tmp_path: Path, variable: str, value: str
) -> None:
    environ = {"BOT_TOKEN": TOKEN, "STATE_DB": str(tmp_path / "s.db"), **WEBHOOK, variable: value}
    done = subprocess.run(
        [sys.executable, "bot.py", "--env-file", str(tmp_path / "none")],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip().startswith(f"error: {variable}: ")
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "s.db").exists()


@pytest.mark.parametrize(("value", "language"), [("es", "es"), ("pt-BR", "pt"), (" RU ", "ru")])
def test_the_admins_language_takes_a_code_or_a_locale(value: str, language: str) -> None:
    assert load_settings({"BOT_TOKEN": TOKEN, "ADMIN_LANGUAGE": value}).admin_language == language


def test_an_admin_language_that_is_no_language_code_is_refused_naming_the_variable() -> None:
    with pytest.raises(SettingsError, match=r"^ADMIN_LANGUAGE: 'Spanish!' is not a language code"):
        load_settings({"BOT_TOKEN": TOKEN, "ADMIN_LANGUAGE": "Spanish!"})
