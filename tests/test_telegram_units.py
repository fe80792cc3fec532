"""Unit tests of the Telegram front end's pieces: settings, button data, ordering."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
from telegram import Chat, Message, Update, User

from advisor import Knowledge
from dialogs import actions
from dialogs.sharecode import ShareCodes
from frontends.telegram.ordering import PerUserOrder
from settings import SettingsError, load_settings, read_environment

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456:ABCdef_ghi-jkl"


# -- settings ----------------------------------------------------------------------------------


def test_settings_default_to_polling_with_telegrams_api() -> None:
    settings = load_settings({"BOT_TOKEN": TOKEN})
    assert settings.mode == "polling"
    assert settings.telegram_api_url == "https://api.telegram.org"
    assert settings.session_ttl_days == 30
    assert TOKEN not in repr(settings)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"BOT_TOKEN": "not a token"}, r"^BOT_TOKEN: does not look like a token"),
        ({"MODE": "carrier-pigeon"}, r"^MODE: must be 'polling' or 'webhook'"),
        ({"MODE": "webhook"}, r"^WEBHOOK_URL: is required when MODE=webhook"),
        ({"MODE": "webhook", "WEBHOOK_URL": "https://x.io/h"}, r"^WEBHOOK_SECRET: is required"),
        ({"WEBHOOK_URL": "ftp://x"}, r"^WEBHOOK_URL: must be an http\(s\) URL"),
        ({"TELEGRAM_API_URL": "localhost:8081"}, r"^TELEGRAM_API_URL: must be an http\(s\) URL"),
        ({"PORT": "eighty"}, r"^PORT: must be a whole number, not 'eighty'"),
        ({"PORT": "70000"}, r"^PORT: must be between 1 and 65535"),
        ({"SESSION_TTL_DAYS": "0"}, r"^SESSION_TTL_DAYS: must be between 1 and 3650"),
        ({"LOG_LEVEL": "chatty"}, r"^LOG_LEVEL: must be one of DEBUG"),
        ({"ADMIN_IDS": "12, bob"}, r"^ADMIN_IDS: .*'bob' is not a number"),
        ({"SALES_CHAT_ID": "sales"}, r"^SALES_CHAT_ID: must be a whole number"),
        ({"WEBHOOK_SECRET": "has spaces"}, r"^WEBHOOK_SECRET: must be 1-256 characters"),
    ],
)
def test_a_bad_setting_names_the_variable_and_the_problem(
    environ: dict[str, str], message: str
) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings(environ)


def test_settings_come_from_dot_env_and_the_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(f"BOT_TOKEN={TOKEN}\nPORT=9000\nADMIN_IDS=1,2\n")
    settings = load_settings(read_environment({"PORT": "9001"}, env_file))
    assert (settings.bot_token, settings.port, settings.admin_ids) == (TOKEN, 9001, {1, 2})


def test_the_bot_stops_with_one_line_and_exit_code_2_on_a_bad_setting(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "bot.py", "--env-file", str(tmp_path / "none")],
        cwd=ROOT,
        env={"PATH": "", "PORT": "eighty"},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == "error: PORT: must be a whole number, not 'eighty'"


# -- button data -----------------------------------------------------------------------------


def test_every_button_of_every_question_fits_telegrams_64_bytes(knowledge: Knowledge) -> None:
    biggest_user, biggest_round = 2**52, 36**8 - 1
    for question in knowledge.questions:
        for action in [o.id for o in question.options] + [actions.BACK.code, actions.WHY.code]:
            data = actions.encode(biggest_user, biggest_round, question.id, action)
            assert len(data.encode()) <= 64
            assert actions.decode(data) == actions.Press(
                biggest_user, biggest_round, question.id, action
            )


@pytest.mark.parametrize(
    "data", [None, "", "1|a|0|team", "2|a|0|team|python", "1|A|0|team|python", "1|a|0|te am|x"]
)
def test_data_we_did_not_make_does_not_decode(data: str | None) -> None:
    assert actions.decode(data) is None


# -- share codes -----------------------------------------------------------------------------


def test_a_share_code_round_trips_and_a_changed_character_breaks_it(knowledge: Knowledge) -> None:
    codes = ShareCodes(knowledge, b"secret")
    answers = {"team": "python", "realtime": "core", "realtime_kind": "streaming"}
    code = codes.encode(answers)
    assert len(code) <= 64
    assert codes.decode(code) == answers
    for index in range(2, len(code)):
        swapped = "b" if code[index] != "b" else "c"
        assert codes.decode(code[:index] + swapped + code[index + 1 :]) is None
    assert ShareCodes(knowledge, b"other secret").decode(code) is None


# -- ordering ----------------------------------------------------------------------------------


def _update(update_id: int, user_id: int, chat_id: int | None = None) -> Update:
    user = User(user_id, "U", is_bot=False)
    chat = Chat(chat_id or user_id, "private" if chat_id is None else "group")
    message = Message(update_id, None, chat, from_user=user, text="x")  # type: ignore[arg-type]
    return Update(update_id, message=message)


async def test_one_users_updates_run_in_order_while_other_users_run_alongside() -> None:
    order = PerUserOrder()
    log: list[tuple[int, str]] = []

    async def work(user: int, name: str, delay: float) -> None:
        log.append((user, f"{name} start"))
        await asyncio.sleep(delay)
        log.append((user, f"{name} end"))

    await asyncio.gather(
        order.do_process_update(_update(1, 1), work(1, "a1", 0.05)),
        order.do_process_update(_update(2, 1), work(1, "a2", 0.0)),
        order.do_process_update(_update(3, 2), work(2, "b1", 0.0)),
    )
    ann = [event for user, event in log if user == 1]
    assert ann == ["a1 start", "a1 end", "a2 start", "a2 end"]
    assert log.index((2, "b1 end")) < log.index((1, "a1 end"))


async def test_one_users_updates_in_a_group_and_in_private_run_in_order() -> None:
    order = PerUserOrder()
    log: list[str] = []

    async def work(name: str, delay: float) -> None:
        log.append(f"{name} start")
        await asyncio.sleep(delay)
        log.append(f"{name} end")

    await asyncio.gather(
        order.do_process_update(_update(1, 1, chat_id=-100), work("group tap", 0.05)),
        order.do_process_update(_update(2, 1), work("private forget", 0.0)),
    )
    assert log == ["group tap start", "group tap end", "private forget start", "private forget end"]
