"""End to end: the web pages beside the real python-telegram-bot Application, against the strict
fake Bot API: one store, one lead desk, one sales chat; and the Telegram result's Mini App
button."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from telegram.ext import Application

from advisor import Knowledge
from fake_telegram import FakeTelegram
from fake_telegram import updates as u
from fake_telegram.client import BotUser
from tests.e2e.conftest import FINTECH, MakeSettings, all_text, finish, running
from tests.e2e.test_hardening_webhook import accepting, webhook_bot
from tests.e2e.test_process import bot_process, free_port
from tests.web_forms import Browser, serving

APP_BUTTON = "📊 Open my interactive result"


async def test_the_telegram_result_opens_the_mini_app_when_the_web_is_https(
    fake: FakeTelegram, make_settings: MakeSettings, knowledge: Knowledge
) -> None:
    settings = make_settings(WEB_URL="https://advisor.example.org")
    async with running(settings, knowledge):
        user = fake.user("Ada")
        await finish(user)
        labels = [label for row in user.buttons() for label in row]
        assert APP_BUTTON in labels  # the strict fake accepted the web_app button
        message = next(m for m in user.messages() if APP_BUTTON in m.labels)
        assert message.raw is not None and message.raw.reply_markup is not None
        rows = message.raw.reply_markup["inline_keyboard"]
        button = next(b for row in rows for b in row if b.get("text") == APP_BUTTON)
        assert button["web_app"] == {"url": "https://advisor.example.org/app"}


async def test_a_plain_http_web_address_gives_no_mini_app_button(
    fake: FakeTelegram, make_settings: MakeSettings, knowledge: Knowledge
) -> None:
    async with running(make_settings(WEB_URL="http://advisor.example.org"), knowledge):
        user = fake.user("Ada")
        await finish(user)
        assert "Recommendation" in all_text(user)
        assert APP_BUTTON not in [label for row in user.buttons() for label in row]


@pytest.fixture
async def office_with_web(
    fake: FakeTelegram, make_settings: MakeSettings, knowledge: Knowledge
) -> AsyncIterator[tuple[Application, str, int, BotUser]]:  # type: ignore[type-arg]
    sales = fake.group("Sales")
    admin = fake.user("Alice")
    settings = make_settings(
        ADMIN_IDS=str(admin.id), SALES_CHAT_ID=str(sales.id), WEB_URL="http://advisor.example.org"
    )
    async with running(settings, knowledge) as app:
        assert isinstance(app, Application)
        front = app.bot_data.web
        assert front is not None
        async with serving(front.application()) as base:
            yield app, base, sales.id, admin


async def test_a_lead_from_the_web_reaches_the_sales_chat_once_naming_the_web(
    fake: FakeTelegram,
    office_with_web: tuple[Application, str, int, BotUser],  # type: ignore[type-arg]
    knowledge: Knowledge,
) -> None:
    _, base, sales_id, _ = office_with_web
    browser = Browser(base)
    try:
        page = await browser.get("/")
        page = await browser.press(knowledge.text("web.start"))
        for label in FINTECH:
            page = await browser.press(label)
        page = await browser.press(knowledge.text("lead.button"))
        page = await browser.press(knowledge.text("lead.consent_yes"))
        page = await browser.submit(page.form_with("email"), {"email": "ada@example.com"})
        assert knowledge.text("lead.thanks") in page.text
    finally:
        await browser.close()

    def summaries() -> list[str]:
        texts = [m.visible_text for m in fake.messages(sales_id)]
        return [text for text in texts if "ada@example.com" in text]

    await fake.wait_for(lambda: bool(summaries()), 10, what="the lead in the sales chat")
    assert len(summaries()) == 1
    assert "web" in summaries()[0].casefold()


async def test_the_web_pages_are_served_beside_the_webhook_on_the_same_port(
    fake: FakeTelegram, tmp_path: Path, knowledge: Knowledge
) -> None:
    async with webhook_bot(fake, tmp_path, WEB_URL="https://advisor.example.org") as (_, url):
        base = url.rsplit("/", 1)[0]
        async with aiohttp.ClientSession() as session:
            async with session.get(base + "/") as page:
                assert page.status == 200
                assert knowledge.text("web.start") in await page.text()
            async with session.get(base + "/healthz") as health:
                assert await health.text() == "ok"
        ann = fake.user("Ann", timeout=20)
        message = u.text_message(fake.next_message_id(ann.chat.id), ann.user, ann.chat, "/start")
        assert await fake.deliver_to_webhook(u.message_update(message)) == 200


async def test_in_polling_mode_the_web_pages_listen_on_their_own_port(
    fake: FakeTelegram, tmp_path: Path, knowledge: Knowledge
) -> None:
    port = free_port()
    async with bot_process(
        fake, tmp_path, WEB_URL="http://127.0.0.1", WEB_LISTEN="127.0.0.1", WEB_PORT=str(port)
    ):
        await accepting(port)
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/") as page,
        ):
            assert page.status == 200
            assert knowledge.text("web.start") in await page.text()


async def test_link_gives_a_web_link_and_its_qr_code_beside_the_telegram_one(
    fake: FakeTelegram,
    office_with_web: tuple[Application, str, int, BotUser],  # type: ignore[type-arg]
) -> None:
    import io

    import zxingcpp
    from PIL import Image

    admin = office_with_web[3]
    await admin.send_command("link", "spring_fair")
    texts = [m.text for m in admin.messages()]
    web_link = "http://advisor.example.org/s/spring_fair"
    assert any(web_link in text for text in texts)
    files = {
        m.raw.document.filename: m.raw.document.data
        for m in admin.messages()
        if m.raw and m.raw.document and m.raw.document.data
    }
    assert set(files) == {
        "qr-spring_fair.png",
        "qr-spring_fair.svg",
        "qr-spring_fair-web.png",
        "qr-spring_fair-web.svg",
    }
    decoded = [
        code.text
        for name, data in files.items()
        if name.endswith(".png")
        for code in zxingcpp.read_barcodes(Image.open(io.BytesIO(data)))
    ]
    assert web_link in decoded and any("start=spring_fair" in text for text in decoded)
