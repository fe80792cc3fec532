"""The same answers give the same advice in the console, in Telegram and on the web: each
front end driven through its own input (typed numbers, button taps, form buttons) to the
result, and the verdict and points each one shows compared with the advisor's."""

from __future__ import annotations

import asyncio
import html
import io
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advisor import Knowledge, recommend
from advisor.render import sums
from bootstrap import bootstrap
from dialogs import turns as c
from frontends.console.chat import ConsoleChat
from frontends.telegram.presenter import TelegramPresenter
from settings import Settings
from storage.base import Outgoing
from storage.sqlite import SqliteStore
from tests.web_forms import Browser, serving

TAGS = re.compile(r"<[^>]+>")


def answers_strategy(knowledge: Knowledge) -> st.SearchStrategy[dict[str, str]]:
    """Complete answers: every question that applies gets one of its options."""
    return st.fixed_dictionaries(
        {q.id: st.sampled_from([o.id for o in q.options]) for q in knowledge.questions}
    ).map(knowledge.prune)


def headline(knowledge: Knowledge, answers: dict[str, str]) -> tuple[str, str]:
    rec = recommend(knowledge, answers)
    verdict = knowledge.text("summary.verdict", stack=knowledge.text(f"stack.{rec.choice}"))
    return verdict, knowledge.text("summary.points", **sums(rec, knowledge))


async def console_says(knowledge: Knowledge, answers: dict[str, str]) -> str:
    numbers = []
    for question in knowledge.applicable(answers):
        option = question.option(answers[question.id])
        assert option is not None
        numbers.append(str(question.options.index(option) + 1))
    out = io.StringIO()
    chat = ConsoleChat(knowledge, io.StringIO("\n".join(numbers) + "\nquit\n"), out, "en")
    await chat.run()
    return out.getvalue()


async def telegram_says(knowledge: Knowledge, answers: dict[str, str]) -> str:
    shown: list[dict[str, Any]] = []

    async def transport(message: Outgoing) -> int | None:
        shown.append(dict(message.body))
        return len(shown)

    store = await SqliteStore(":memory:", knowledge).open()
    try:
        advisor = bootstrap(
            Settings(share_secret="s"),
            knowledge,
            presenter=TelegramPresenter.of,
            transport=transport,
            store=store,
            warm=False,
        )
        person = c.Person(chat_id=7, user_id=7, first_name="Ada", full_name="Ada")
        await advisor.conversation.turn(person, c.Begin())
        for question in knowledge.applicable(answers):
            option = question.option(answers[question.id])
            assert option is not None
            keyboard = next(b["markup"] for b in reversed(shown) if "markup" in b)
            data = next(
                button["callback_data"]
                for row in keyboard["inline_keyboard"]
                for button in row
                if button.get("text") == option.label
            )
            await advisor.conversation.turn(person, c.Pressed(data))
        return html.unescape(TAGS.sub("", "\n".join(str(b.get("text", "")) for b in shown)))
    finally:
        await store.close()


async def web_says(knowledge: Knowledge, answers: dict[str, str]) -> str:
    from frontends.web.site import Limits, web_front_end

    store = await SqliteStore(":memory:", knowledge).open()
    try:
        front = web_front_end(
            Settings(share_secret="s"), knowledge, store=store, limits=Limits(10_000, 100_000.0)
        )
        async with serving(front.application()) as base:
            browser = Browser(base)
            try:
                page = await browser.get("/")
                page = await browser.press(knowledge.text("web.start"))
                for question in knowledge.applicable(answers):
                    option = question.option(answers[question.id])
                    assert option is not None
                    page = await browser.press(option.label)
                return page.text
            finally:
                await browser.close()
    finally:
        await store.close()


def test_the_same_answers_give_the_same_advice_in_the_console_telegram_and_the_web(
    knowledge: Knowledge,
) -> None:
    @settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(answers=answers_strategy(knowledge))
    def check(answers: dict[str, str]) -> None:
        verdict, points = headline(knowledge, answers)
        for name, says in (
            ("console", console_says),
            ("telegram", telegram_says),
            ("web", web_says),
        ):
            text = " ".join(asyncio.run(says(knowledge, answers)).split())
            assert verdict in text, (name, verdict)
            assert points in text, (name, points)

    check()
