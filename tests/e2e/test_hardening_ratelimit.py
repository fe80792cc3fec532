"""End to end: Telegram's 429 for one chat slows that chat only; everyone else is answered."""

from __future__ import annotations

import asyncio

import pytest

from advisor import Knowledge
from fake_telegram import FakeTelegram
from tests.e2e.conftest import MakeSettings, running

RETRY_AFTER = 4


@pytest.mark.parametrize("rate_limit", ["0", "30"])
async def test_one_chats_429_does_not_delay_another_users_start(
    fake: FakeTelegram, make_settings: MakeSettings, knowledge: Knowledge, rate_limit: str
) -> None:
    ann = fake.user("Ann", timeout=RETRY_AFTER + 10)
    bob = fake.user("Bob")
    loop = asyncio.get_running_loop()
    async with running(make_settings(RATE_LIMIT=rate_limit), knowledge):
        await ann.send_command("start")
        fake.fail_next("sendMessage", status=429, retry_after=RETRY_AFTER)
        anns_help = asyncio.create_task(ann.send_command("help"))
        refused = await fake.wait_for_call("sendMessage", lambda c: c.status == 429)
        assert refused.chat_id == ann.chat.id
        asked = loop.time()
        await bob.send_command("start")
        assert "Question 1 of 9" in bob.last_message().text
        assert loop.time() - asked < RETRY_AFTER / 2, "Bob waited for Ann's 429"
        await anns_help
        retried = [c for c in fake.calls_to("sendMessage") if c.chat_id == ann.chat.id][-1]
        assert retried.ok and "/restart" in ann.last_message().text
        assert retried.time - refused.time >= RETRY_AFTER, "Ann's chat waited as told"
