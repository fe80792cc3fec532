"""The web pages in a real browser: Debian's chromium at a phone's size (390x844), with
JavaScript on and off, in every language — the whole dialog to the result, "What if…", Share,
"Talk to an expert", "Delete my answers" and the Telegram Mini App. Every screen is checked for
what a phone user notices (no sideways scrolling, buttons big enough to tap, text big enough to
read) and by axe-core for accessibility; screenshots go to test-output/screenshots/."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp import web
from playwright.sync_api import Page

from advisor import Knowledge, recommend
from advisor.session import RESULT, Session
from frontends.web.initdata import sign_init_data
from frontends.web.site import Limits, web_front_end
from handoff import TELEGRAM, HandOff
from settings import Settings
from storage.base import Stored
from storage.sqlite import SqliteStore
from tests.web.browser import (
    Phone,
    assert_accessible,
    assert_body_text_at_least,
    assert_no_horizontal_scroll,
    assert_tap_targets_at_least,
    serve,
    shot,
)

TOKEN = "123456789:AAFakeTokenForTheBrowserTests_abcdefgh"
LANGUAGES = ("en", "es", "pt", "ru")


@dataclass
class Site:
    base: str
    store: SqliteStore
    loop: asyncio.AbstractEventLoop

    def run(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        """Run a coroutine on the server's loop (where the store lives)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=30)


@pytest.fixture
def site(knowledge: Knowledge) -> Iterator[Site]:
    store = SqliteStore(":memory:", knowledge)
    front = web_front_end(
        Settings(share_secret="browser", bot_token=TOKEN),
        knowledge,
        store=store,
        hand_off=HandOff([TELEGRAM], unchecked=[TELEGRAM]),
        limits=Limits(forms_burst=10_000, forms_per_minute=100_000.0),
    )
    app = front.application()
    loops: list[asyncio.AbstractEventLoop] = []

    async def opened(app: web.Application) -> None:
        loops.append(asyncio.get_running_loop())
        await store.open()

    async def closed(app: web.Application) -> None:
        await store.close()

    app.on_startup.append(opened)
    app.on_cleanup.append(closed)
    with serve(app) as base:
        yield Site(base, store, loops[0])


def check(page: Page, name: str, *, axe: bool = False) -> None:
    """What a phone user notices, on this screen; and its screenshot."""
    shot(page, name)
    assert_no_horizontal_scroll(page)
    assert_tap_targets_at_least(page, 44)
    assert_body_text_at_least(page, 16)
    if axe:
        assert_accessible(page)


def tap(page: Page, label: str) -> None:
    page.get_by_role("button", name=label, exact=True).first.click()
    page.wait_for_load_state("load")


def to_the_result(page: Page, k: Knowledge, base: str, name: str) -> dict[str, str]:
    """From the welcome, each question's first option, until the result; the answers."""
    page.goto(base + "/")
    check(page, f"{name}-welcome", axe=True)
    tap(page, k.text("web.start"))
    answers: dict[str, str] = {}
    for step in range(len(k.questions) + 1):
        asked = [q for q in k.questions if q.prompt in page.inner_text("main")]
        if not asked:
            break
        question = asked[0]
        check(page, f"{name}-question-{step + 1}", axe=step == 0)
        answers[question.id] = question.options[0].id
        tap(page, question.options[0].label)
    return answers


@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
@pytest.mark.parametrize("language", LANGUAGES)
def test_a_phone_user_answers_every_question_and_reads_the_result(
    site: Site, phone: Phone, knowledge: Knowledge, language: str, javascript: bool
) -> None:
    k = knowledge.speaking(language)
    page = phone(javascript, locale=language)
    name = f"dialog-{language}-{'js' if javascript else 'nojs'}"
    answers = to_the_result(page, k, site.base, name)
    rec = recommend(k, answers)
    main = page.inner_text("main")
    assert k.text("summary.verdict", stack=k.text(f"stack.{rec.choice}")) in main
    assert page.locator("figure.chart svg[role=img]").count() == 1
    check(page, f"{name}-result", axe=True)
    tap(page, k.text("telegram.button.details"))
    tap(page, k.criteria[0].title)
    assert k.criteria[0].title in page.inner_text("main")
    check(page, f"{name}-details-1")


@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
def test_what_if_changes_one_answer_and_shows_the_new_result(
    site: Site, phone: Phone, knowledge: Knowledge, javascript: bool
) -> None:
    page = phone(javascript)
    answers = to_the_result(page, knowledge, site.base, f"whatif-{javascript}")
    tap(page, knowledge.text("telegram.button.answers"))
    check(page, f"whatif-{javascript}-answers", axe=True)
    first = knowledge.questions[0]
    tap(page, f"1. {first.short}")
    check(page, f"whatif-{javascript}-revise")
    other = first.options[1]
    page.get_by_role("button", name=other.label).first.click()
    page.wait_for_load_state("load")
    check(page, f"whatif-{javascript}-preview")
    tap(page, knowledge.text("telegram.button.keep"))
    changed = recommend(knowledge, knowledge.prune({**answers, first.id: other.id}))
    verdict = knowledge.text("summary.verdict", stack=knowledge.text(f"stack.{changed.choice}"))
    assert verdict in page.inner_text("main")


@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
def test_share_gives_a_link_that_opens_the_result_for_anyone(
    site: Site, phone: Phone, knowledge: Knowledge, javascript: bool
) -> None:
    page = phone(javascript)
    to_the_result(page, knowledge, site.base, f"share-{javascript}")
    tap(page, knowledge.text("share.button"))
    link = page.locator("#link").input_value()
    assert "/r/r_" in link
    assert page.locator("button.copy").is_visible() == javascript  # copying needs a script
    check(page, f"share-{javascript}-mine", axe=True)
    reader = phone(javascript, locale="pt-BR")
    reader.goto(link)
    pt = knowledge.speaking("pt")
    assert pt.text("summary.they.intro") in reader.inner_text("main")
    assert reader.locator('meta[property="og:image"]').get_attribute("content")
    check(reader, f"share-{javascript}-reader", axe=True)


@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
def test_talk_to_an_expert_takes_consent_then_an_email_once(
    site: Site, phone: Phone, knowledge: Knowledge, javascript: bool
) -> None:
    page = phone(javascript)
    to_the_result(page, knowledge, site.base, f"lead-{javascript}")
    tap(page, knowledge.text("lead.button"))
    check(page, f"lead-{javascript}-consent", axe=True)
    tap(page, knowledge.text("lead.consent_yes"))
    check(page, f"lead-{javascript}-contact", axe=True)
    page.get_by_label(knowledge.text("web.email")).fill("ada@example.com")
    tap(page, knowledge.text("web.send_contact"))
    assert knowledge.text("lead.thanks") in page.inner_text("main")
    leads = site.run(site.store.all_leads())
    assert [(lead.contact, lead.channel) for lead in leads] == [("ada@example.com", "web")]


@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
def test_delete_my_answers_leaves_nothing_behind(
    site: Site, phone: Phone, knowledge: Knowledge, javascript: bool
) -> None:
    page = phone(javascript)
    to_the_result(page, knowledge, site.base, f"delete-{javascript}")
    page.get_by_role("link", name=knowledge.text("web.delete")).click()
    check(page, f"delete-{javascript}-ask", axe=True)
    tap(page, knowledge.text("privacy.forget_yes"))
    assert knowledge.text("privacy.forgotten") in page.inner_text("main")
    check(page, f"delete-{javascript}-done")
    assert site.run(site.store.all_sessions()) == []


def test_the_mini_app_opens_the_telegram_users_own_result(
    site: Site, phone: Phone, knowledge: Knowledge
) -> None:
    answers = knowledge.prune({q.id: q.options[-1].id for q in knowledge.questions})

    async def at_result() -> None:
        async with site.store.unit(42) as uow:
            session = Session(state=RESULT, answers=answers, language="es")
            await uow.sessions.put(42, 42, Stored(session, first_name="Ada"))

    site.run(at_result())
    user = '{"id":42,"first_name":"Ada","language_code":"es"}'
    signed = sign_init_data({"user": user, "auth_date": str(int(time.time()))}, TOKEN)
    page = phone(True)
    page.goto(f"{site.base}/app#tgWebAppData={quote(signed, safe='')}&tgWebAppVersion=8.0")
    page.wait_for_url(f"{site.base}/")
    es = knowledge.speaking("es")
    rec = recommend(es, answers)
    assert es.text("summary.verdict", stack=es.text(f"stack.{rec.choice}")) in page.inner_text(
        "main"
    )
    check(page, "mini-app-result", axe=True)


def test_the_mini_app_opened_outside_telegram_says_how_to_open_it(
    site: Site, phone: Phone, knowledge: Knowledge
) -> None:
    page = phone(True)
    page.goto(site.base + "/app")
    status = page.locator("#app-status")
    assert status.inner_text() == knowledge.text("web.app_needs_telegram")
    check(page, "mini-app-outside-telegram", axe=True)


def test_forged_mini_app_data_gets_a_clear_401_page(
    site: Site, phone: Phone, knowledge: Knowledge
) -> None:
    user = '{"id":42,"first_name":"Eve"}'
    forged = sign_init_data({"user": user, "auth_date": str(int(time.time()))}, "1:" + "x" * 35)
    page = phone(True)
    responses: list[int] = []
    page.on("response", lambda r: responses.append(r.status) if "/app/session" in r.url else None)
    page.goto(f"{site.base}/app#tgWebAppData={quote(forged, safe='')}")
    page.wait_for_url(f"{site.base}/app/session")
    assert responses == [401]
    assert knowledge.text("web.problem.forged") in page.inner_text("main")
    check(page, "mini-app-forged", axe=True)
