"""End to end with `python bot.py`: a dead token, an unreachable API, two copies of the bot.

Each failure ends the process by itself, with one line naming the cause and a non-zero exit
code, instead of a traceback, a retry loop or a silent, dead process.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import aiohttp
import pytest

from fake_telegram import FakeTelegram
from fake_telegram.server import POLL_CONFLICT
from frontends.telegram.run import ANOTHER_COPY
from tests.e2e.test_process import BotProcess, free_port

TOKEN_REVOKED = "BOT_TOKEN: Telegram stopped accepting the token while the bot was running"


async def ended(process: BotProcess, timeout: float = 30) -> tuple[int, list[str]]:  # noqa: ASYNC109
    """Wait for the bot to exit by itself; its exit code and its stderr lines."""
    assert process.proc is not None
    try:
        _, err = await asyncio.wait_for(process.proc.communicate(), timeout)
    except TimeoutError:
        await process.stop()
        raise AssertionError(f"the bot did not exit within {timeout}s") from None
    process.stderr += err
    assert process.proc.returncode is not None
    return process.proc.returncode, process.stderr.decode().strip().splitlines()


def the_end(lines: list[str]) -> str:
    """The last line, after the log record's time, level and logger."""
    assert lines, "the bot wrote nothing to stderr"
    return lines[-1].split(": ", 1)[1]


def assert_no_traceback(lines: list[str]) -> None:
    assert not [line for line in lines if line.startswith("Traceback")], "\n".join(lines)


async def wait_until_polling(fake: FakeTelegram, since: int = 0) -> None:
    """Wait until a getUpdates long poll is waiting (faster than waiting for one to end)."""
    await fake.wait_for(lambda: bool(fake.summary()["polling"]), timeout=30, what="a long poll")


def quick(fake: FakeTelegram, tmp_path: Path, **env: str) -> BotProcess:
    """A bot at INFO level that gives up reaching the API after 2 seconds."""
    return BotProcess(fake, tmp_path, LOG_LEVEL="INFO", STARTUP_RETRY_SECONDS="2", **env)


# -- item 5: a token revoked while running ---------------------------------------------------


async def test_a_token_revoked_while_polling_ends_the_bot_with_one_line(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    process = quick(fake, tmp_path)
    await process.start()
    await wait_until_polling(fake, 0)
    fake.fail_next("getUpdates", status=401, description="Unauthorized")
    ann = fake.user("Ann", timeout=20)
    await ann.send_command("start", expect_response=False)  # ends the poll; the next is refused
    code, lines = await ended(process)
    assert code == 2
    assert the_end(lines).startswith(TOKEN_REVOKED)
    assert_no_traceback(lines)


# -- item 6: the API unreachable, stalled, failing or at a wrong URL at start-up -------------


async def test_an_unreachable_api_is_retried_for_a_while_then_named_in_one_line(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    process = quick(fake, tmp_path, TELEGRAM_API_URL=nowhere)
    await process.start()
    code, lines = await ended(process)
    assert code == 1
    assert the_end(lines).startswith(f"could not reach the Bot API at TELEGRAM_API_URL={nowhere}")
    assert "cannot connect" in the_end(lines)
    assert any("trying again" in line for line in lines[:-1]), "it retried"
    assert_no_traceback(lines)


async def test_a_stalled_api_at_start_up_ends_within_the_retry_time(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    fake.stall_next("getMe", 60, times=20)
    process = quick(fake, tmp_path)
    started = asyncio.get_running_loop().time()
    await process.start()
    code, lines = await ended(process)
    assert code == 1
    assert asyncio.get_running_loop().time() - started < 15
    assert "no answer in time" in the_end(lines)
    assert_no_traceback(lines)


async def test_an_api_answering_5xx_at_start_up_is_named_after_the_retries(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    fake.fail_next("getMe", status=502, times=100)
    process = quick(fake, tmp_path)
    await process.start()
    code, lines = await ended(process)
    assert code == 1
    assert "the server answered with an error: Bad Gateway" in the_end(lines)
    assert len(fake.calls_to("getMe")) >= 2
    assert_no_traceback(lines)


async def test_a_brief_5xx_at_start_up_is_retried_and_the_bot_then_serves(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    fake.fail_next("getMe", status=500, times=2)
    process = BotProcess(fake, tmp_path, STARTUP_RETRY_SECONDS="30")
    await process.start()
    try:
        await wait_until_polling(fake, 0)
        ann = fake.user("Ann", timeout=20)
        await ann.send_command("start")
        assert "Question 1 of 9" in ann.last_message().text
    finally:
        await process.stop()


async def test_a_wrong_api_path_is_reported_as_the_url_not_as_a_rejected_token(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    process = quick(fake, tmp_path, TELEGRAM_API_URL=fake.root_url + "/wrong/path")
    await process.start()
    code, lines = await ended(process)
    assert code == 2
    assert the_end(lines).startswith("TELEGRAM_API_URL: ")
    assert "404 Not Found" in the_end(lines)
    assert "rejected the token" not in "\n".join(lines)
    assert_no_traceback(lines)


# -- item 15: two copies of the bot ----------------------------------------------------------


async def test_a_second_bot_on_the_same_state_db_is_refused_with_one_line(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    first = quick(fake, tmp_path)
    await first.start()
    try:
        await wait_until_polling(fake, 0)
        second = quick(fake, tmp_path)
        await second.start()
        code, lines = await ended(second)
        assert code == 2
        assert len(lines) == 1
        assert the_end(lines).startswith(f"STATE_DB: {tmp_path / 'state.sqlite3'}: already in use")
        assert f"process {first.proc.pid if first.proc else '?'}" in lines[0]
        ann = fake.user("Ann", timeout=20)
        await ann.send_command("start")
        assert "Question 1 of 9" in ann.last_message().text, "the first one still serves"
    finally:
        await first.stop()


async def test_the_lock_of_a_killed_bot_does_not_block_its_restart(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    first = quick(fake, tmp_path)
    await first.start()
    await wait_until_polling(fake, 0)
    await first.stop(signal.SIGKILL)
    mark = len(fake.calls)
    again = quick(fake, tmp_path)
    await again.start()
    try:
        await wait_until_polling(fake, mark)
    finally:
        await again.stop()


async def test_a_second_bot_polling_with_the_same_token_stops_with_one_line_and_exit_3(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = quick(fake, tmp_path / "a")
    await first.start()
    try:
        await fake.wait_for_call("getUpdates", lambda call: call.ok, timeout=30)  # it polls
        second = quick(fake, tmp_path / "b")
        await second.start()
        # Its first poll ends the first bot's; the first polls again, which ends the second's.
        code, lines = await ended(second)
        assert code == 3
        assert the_end(lines) == ANOTHER_COPY
        assert_no_traceback(lines)
        ann = fake.user("Ann", timeout=20)
        await ann.send_command("start")
        assert "Question 1 of 9" in ann.last_message().text, "the first one still serves"
        assert first.proc is not None and first.proc.returncode is None
    finally:
        await first.stop()
    assert "another copy of this bot started polling" in first.stderr.decode()


async def test_a_bot_whose_polls_keep_being_ended_by_another_copy_stops_instead_of_looping(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    process = quick(fake, tmp_path)
    await process.start()
    await wait_until_polling(fake, 0)
    fake.fail_next("getUpdates", status=409, description=POLL_CONFLICT, times=2)
    ann = fake.user("Ann", timeout=20)
    await ann.send_command("start", expect_response=False)  # ends the poll; two more are ended
    code, lines = await ended(process)
    assert code == 3
    assert the_end(lines) == ANOTHER_COPY
    assert_no_traceback(lines)
    assert len([c for c in fake.calls_to("getUpdates") if c.status == 409]) == 2


async def test_a_webhook_set_by_another_copy_while_polling_ends_the_bot_with_exit_3(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    process = quick(fake, tmp_path)
    await process.start()
    await fake.wait_for_call("getUpdates", lambda call: call.ok, timeout=30)
    hook = f"{fake.base_url}{fake.token}/setWebhook"
    async with aiohttp.ClientSession() as http:  # as a copy started with MODE=webhook would
        await http.post(hook, data={"url": "http://127.0.0.1:9/hook"})
    code, lines = await ended(process)
    assert code == 3
    assert the_end(lines).startswith("BOT_TOKEN: a webhook was set for this bot while it was")
    assert_no_traceback(lines)


# -- the runner itself: transient trouble and a clean stop -----------------------------------


async def test_polling_rides_out_server_errors_on_get_updates(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    process = quick(fake, tmp_path)
    await process.start()
    try:
        await wait_until_polling(fake)
        fake.fail_next("getUpdates", status=502, times=2)
        ann = fake.user("Ann", timeout=20)
        await ann.send_command("start")
        assert "Question 1 of 9" in ann.last_message().text
        assert process.proc is not None and process.proc.returncode is None
    finally:
        await process.stop()
    assert "polling failed (Bad Gateway); trying again" in process.stderr.decode()


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_sigterm_while_a_reply_is_in_flight_lets_it_finish_and_exits_0(
    fake: FakeTelegram, tmp_path: Path, mode: str
) -> None:
    port = free_port()
    webhook = {
        "MODE": "webhook",
        "WEBHOOK_URL": f"http://127.0.0.1:{port}/hook",
        "WEBHOOK_SECRET": "s3cret",
        "LISTEN": "127.0.0.1",
        "PORT": str(port),
    }
    process = quick(fake, tmp_path, **(webhook if mode == "webhook" else {}))
    await process.start()
    try:
        if mode == "webhook":
            await fake.wait_for(lambda: fake.webhook is not None, timeout=30, what="setWebhook")
        else:
            await wait_until_polling(fake)
        fake.stall_next("sendMessage", 2)
        ann = fake.user("Ann", timeout=20)
        await ann.send_command("start", expect_response=False)
        await fake.wait_for(lambda: not fake._stalls["sendMessage"], timeout=10, what="a reply")
    finally:
        await process.stop(signal.SIGTERM)  # while the reply waits in the stall
    assert process.proc is not None and process.proc.returncode == 0
    replies = [c for c in fake.calls_to("sendMessage") if c.chat_id == ann.chat.id]
    assert replies and replies[0].ok, "the reply in flight was sent before the bot exited"


async def test_a_webhook_telegram_refuses_for_good_ends_the_bot_with_exit_2_naming_webhook_url(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    """Restarting would not help, so a supervisor must not restart it for ever: exit 2, and
    the line names the setting to fix."""
    fake.fail_next(
        "setWebhook",
        status=400,
        description=(
            "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
        ),
    )
    process = quick(
        fake,
        tmp_path,
        MODE="webhook",
        WEBHOOK_URL="https://bot.example:9443/hook",
        WEBHOOK_SECRET="s3cret",
        LISTEN="127.0.0.1",
        PORT=str(free_port()),
    )
    await process.start()
    code, lines = await ended(process)
    assert code == 2
    assert the_end(lines) == (
        "WEBHOOK_URL: Telegram refused https://bot.example:9443/hook: Bad webhook: webhook can "
        "be set up only on ports 80, 88, 443 or 8443"
    )
    assert_no_traceback(lines)


async def test_a_name_and_password_in_telegram_api_url_never_reach_the_log(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    parts = fake.root_url.split("://")
    api = f"{parts[0]}://operator:pa55-w0rd@{parts[1]}"
    process = quick(fake, tmp_path, TELEGRAM_API_URL=api)
    process.env["LOG_LEVEL"] = "DEBUG"
    await process.start()
    try:
        await wait_until_polling(fake)
    finally:
        await process.stop()
    log = process.stderr.decode()
    assert "getUpdates" in log
    assert "pa55-w0rd" not in log and "operator:" not in log
