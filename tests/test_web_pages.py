"""The web pages, walked as a browser without JavaScript walks them: forms and cookies only,
over real HTTP, against the same conversation service and store as Telegram."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from advisor import Knowledge, recommend
from advisor.render import sums
from advisor.summary import render_one_line
from frontends.web.initdata import sign_init_data
from frontends.web.site import Limits, WebFrontEnd, web_front_end
from handoff import TELEGRAM, HandOff
from settings import Settings
from storage.base import Store
from storage.sqlite import SqliteStore
from tests.postgres import Postgres
from tests.web_forms import Browser, Page, serving

TOKEN = "123456789:AAFakeTokenForTheWebPagesTests_abcdefg"
ANOTHER_BOT = "987654321:AnotherBotsTokenXXXXXXXXXXXXXXXX"


@pytest.fixture
async def store(knowledge: Knowledge) -> AsyncIterator[SqliteStore]:
    opened = await SqliteStore(":memory:", knowledge).open()
    yield opened
    await opened.close()


def front_end(
    knowledge: Knowledge, store: Store, *, limits: Limits | None = None, **settings: object
) -> WebFrontEnd:
    values: dict[str, object] = {"share_secret": "web-secret", "bot_token": TOKEN}
    values.update(settings)
    return web_front_end(
        Settings(**values),  # type: ignore[arg-type]
        knowledge,
        store=store,
        hand_off=HandOff([TELEGRAM], unchecked=[TELEGRAM]),
        limits=limits or Limits(forms_burst=1000, forms_per_minute=6000.0),
    )


@pytest.fixture
async def site(knowledge: Knowledge, store: SqliteStore) -> AsyncIterator[tuple[WebFrontEnd, str]]:
    front = front_end(knowledge, store)
    async with serving(front.application()) as base:
        yield front, base


@pytest.fixture
async def browser(site: tuple[WebFrontEnd, str]) -> AsyncIterator[Browser]:
    b = Browser(site[1])
    yield b
    await b.close()


async def answer_all(browser: Browser, knowledge: Knowledge, answers: dict[str, str]) -> Page:
    """Start, then press each question's option for these answers until the result."""
    page = await browser.get("/")
    page = await browser.press(page.button(knowledge.text("web.start")).label)
    for _ in range(len(knowledge.questions) + 2):
        asked = [q for q in knowledge.questions if q.prompt in page.text]
        if not asked:
            break
        question = asked[0]
        option = question.option(answers.get(question.id)) or question.options[0]
        page = await browser.press(option.label)
    return page


def verdict(knowledge: Knowledge, answers: dict[str, str]) -> str:
    rec = recommend(knowledge, answers)
    return knowledge.text("summary.verdict", stack=knowledge.text(f"stack.{rec.choice}"))


async def test_a_visitor_answers_every_question_and_reads_the_result_with_forms_only(
    browser: Browser, knowledge: Knowledge
) -> None:
    page = await browser.get("/")
    assert page.status == 200 and knowledge.text("web.start") in page.labels
    answers = {q.id: q.options[0].id for q in knowledge.questions}
    page = await answer_all(browser, knowledge, answers)
    rec = recommend(knowledge, answers)
    assert verdict(knowledge, rec.answers) in page.text
    points = knowledge.text("summary.points", **sums(rec, knowledge))
    assert points in page.text
    assert "<svg" in page.html and 'role="img"' in page.html  # the chart, as SVG
    assert knowledge.text("share.button") in page.labels


async def test_the_question_page_counts_progress_and_offers_back_after_the_first(
    browser: Browser, knowledge: Knowledge
) -> None:
    page = await browser.get("/")
    page = await browser.press(knowledge.text("web.start"))
    assert knowledge.text("dialog.progress", step=1, steps=9) in page.text
    first = knowledge.questions[0]
    page = await browser.press(first.options[0].label)
    assert knowledge.text("dialog.progress", step=2, steps=9) in page.text
    back = knowledge.text("telegram.button.back")
    page = await browser.press(back)
    assert first.prompt in page.text


async def test_a_typed_answer_is_read_and_confirmed_once(
    browser: Browser, knowledge: Knowledge
) -> None:
    await browser.get("/")
    page = await browser.press(knowledge.text("web.start"))
    page = await browser.type("python")
    got_it = knowledge.text("dialog.notice.got_it", answer="Python")
    assert got_it in page.text
    page = await browser.get("/")  # said once: a reload no longer shows it
    assert got_it not in page.text


async def test_a_forged_button_gets_a_friendly_answer_not_an_error(
    browser: Browser, knowledge: Knowledge
) -> None:
    await browser.get("/")
    page = await browser.press(knowledge.text("web.start"))
    form = page.button(knowledge.questions[0].options[0].label).form
    for data in ("1|zzzz|0|team|python", "nonsense", "x" * 500, "1|1|0|team|<script>"):
        page = await browser.submit(form, {"b": data})
        assert page.status == 200, data
        assert knowledge.questions[0].prompt in page.text
        assert "<script>" not in page.html


async def test_a_form_without_its_token_is_refused_and_changes_nothing(
    site: tuple[WebFrontEnd, str], browser: Browser, knowledge: Knowledge
) -> None:
    await browser.get("/")
    page = await browser.press(knowledge.text("web.start"))
    option = page.button(knowledge.questions[0].options[0].label)
    refused = await browser.submit(option.form, {"b": option.value or "", "csrf": "forged"})
    assert refused.status == 403
    assert knowledge.text("web.problem.expired_form") in refused.text
    page = await browser.get("/")
    assert knowledge.text("dialog.progress", step=1, steps=9) in page.text


async def test_every_page_forbids_inline_script_and_foreign_frames(browser: Browser) -> None:
    page = await browser.get("/")
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'self' https://web.telegram.org" in csp
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert "<script>" not in page.html and " onclick" not in page.html


async def test_the_visitor_cookie_is_http_only_and_same_site(site: tuple[WebFrontEnd, str]) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as session, session.get(site[1] + "/") as response:
        cookies = response.headers.getall("Set-Cookie")
    visitor = next(c for c in cookies if c.startswith("sa="))
    assert "HttpOnly" in visitor and "SameSite=Lax" in visitor


async def test_a_big_form_is_refused_with_413(browser: Browser, knowledge: Knowledge) -> None:
    page = await browser.get("/")
    form = page.buttons[-1].form
    refused = await browser.submit(form, {"text": "x" * 20_000}, "/act")
    assert refused.status == 413
    assert knowledge.text("web.problem.too_big") in refused.text


async def test_too_many_forms_from_one_address_get_429(
    knowledge: Knowledge, store: SqliteStore
) -> None:
    front = front_end(knowledge, store, limits=Limits(forms_burst=3, forms_per_minute=1.0))
    async with serving(front.application()) as base:
        browser = Browser(base)
        try:
            page = await browser.get("/")
            form = page.button(knowledge.text("web.start")).form
            statuses = [(await browser.submit(form, {}, "/start")).status for _ in range(5)]
        finally:
            await browser.close()
    assert statuses[-1] == 429 and 429 not in statuses[:3]


async def test_the_page_speaks_the_browsers_language_and_the_switcher_changes_it(
    site: tuple[WebFrontEnd, str], knowledge: Knowledge
) -> None:
    browser = Browser(site[1], language="pt-BR,pt;q=0.9,en;q=0.5")
    try:
        page = await browser.get("/")
        pt = knowledge.speaking("pt")
        assert pt.text("web.start") in page.labels
        page = await browser.press(pt.text("web.start"))
        assert pt.questions[0].prompt in page.text
        page = await browser.press("RU")
        ru = knowledge.speaking("ru")
        assert ru.questions[0].prompt in page.text
    finally:
        await browser.close()


async def test_share_gives_a_link_that_opens_the_result_about_them_with_a_preview(
    site: tuple[WebFrontEnd, str], browser: Browser, knowledge: Knowledge
) -> None:
    answers = {q.id: q.options[-1].id for q in knowledge.questions}
    await answer_all(browser, knowledge, answers)
    page = await browser.press(knowledge.text("share.button"))
    assert "/r/r_" in page.url and knowledge.text("web.share_title") in page.text
    link = page.url
    rec = recommend(knowledge, answers)
    stack = knowledge.text(f"stack.{rec.choice}")
    assert page.meta["og:title"] == knowledge.text("share.card_title", stack=stack)
    assert page.meta["og:description"] == render_one_line(rec, knowledge, voice="they")
    assert page.meta["og:image"].endswith("/chart.png")
    assert page.meta["twitter:card"] == "summary_large_image"
    reader = Browser(site[1], language="es")
    try:
        shared = await reader.get(link.removeprefix(site[1]))
        es = knowledge.speaking("es")
        assert es.text("summary.they.intro") in shared.text
        assert es.text("share.take_quiz") in [text for text, _ in shared.links]
        assert es.text("web.share_title") not in shared.text  # the link's box is the sharer's
        async with reader.session.get(page.meta["og:image"]) as image:
            assert image.status == 200 and image.content_type == "image/png"
            assert (await image.read()).startswith(b"\x89PNG")
    finally:
        await reader.close()


async def test_a_broken_share_link_says_so_and_offers_the_quiz(
    browser: Browser, knowledge: Knowledge
) -> None:
    page = await browser.get("/r/r_1xxxxnotacode")
    assert page.status == 404
    assert knowledge.text("share.broken") in page.text


async def test_delete_my_answers_leaves_nothing_stored(
    site: tuple[WebFrontEnd, str], browser: Browser, knowledge: Knowledge, store: SqliteStore
) -> None:
    answers = {q.id: q.options[0].id for q in knowledge.questions}
    await answer_all(browser, knowledge, answers)
    assert await store.all_sessions()
    page = await browser.get("/forget")
    page = await browser.press(knowledge.text("privacy.forget_yes"))
    assert knowledge.text("privacy.forgotten") in page.text
    assert await store.all_sessions() == []
    page = await browser.get("/")
    assert knowledge.text("web.start") in page.labels  # a new visitor, nothing of the old one


async def test_a_tracked_link_counts_the_visit_under_its_name(
    site: tuple[WebFrontEnd, str], browser: Browser, knowledge: Knowledge, store: SqliteStore
) -> None:
    assert await site[0].advisor.admin.make_link(1, "spring_fair")
    page = await browser.get("/s/spring_fair")
    page = await browser.press(knowledge.text("web.start"))
    assert knowledge.questions[0].prompt in page.text
    sessions = await store.all_sessions()
    assert [s.source for s in sessions] == ["spring_fair"]


async def test_a_lead_from_the_web_is_stored_once_and_names_the_web(
    site: tuple[WebFrontEnd, str], browser: Browser, knowledge: Knowledge, store: SqliteStore
) -> None:
    answers = {q.id: q.options[0].id for q in knowledge.questions}
    await answer_all(browser, knowledge, answers)
    page = await browser.press(knowledge.text("lead.button"))
    assert knowledge.text("web.consent").split(",")[0] in page.text
    page = await browser.press(knowledge.text("lead.consent_yes"))
    assert knowledge.text("web.ask_contact") in page.text
    page = await browser.submit(page.form_with("email"), {"email": "ada@example.com"})
    assert knowledge.text("lead.thanks") in page.text
    leads = await store.all_leads()
    assert [(lead.contact, lead.channel) for lead in leads] == [("ada@example.com", "web")]


async def test_a_mistyped_phone_number_is_asked_again(
    browser: Browser, knowledge: Knowledge, store: SqliteStore
) -> None:
    answers = {q.id: q.options[0].id for q in knowledge.questions}
    await answer_all(browser, knowledge, answers)
    await browser.press(knowledge.text("lead.button"))
    page = await browser.press(knowledge.text("lead.consent_yes"))
    page = await browser.submit(page.form_with("phone"), {"phone": "call me maybe"}, "/contact")
    assert knowledge.text("web.bad_phone") in page.text
    assert await store.all_leads() == []


async def test_what_if_shows_the_result_with_one_answer_changed(
    browser: Browser, knowledge: Knowledge
) -> None:
    answers = {q.id: q.options[0].id for q in knowledge.questions}
    await answer_all(browser, knowledge, answers)
    page = await browser.press(knowledge.text("telegram.button.answers"))
    assert knowledge.text("whatif.answers_title") in page.text
    first = knowledge.questions[0]
    page = await browser.press(f"1. {first.short}")
    assert knowledge.text("whatif.revise_title") in page.text
    other = first.options[1]
    page = await browser.press(next(b.label for b in page.buttons if other.label in b.label))
    assert knowledge.text("telegram.button.keep") in page.labels
    page = await browser.press(knowledge.text("telegram.button.keep"))
    assert verdict(knowledge, {**answers, first.id: other.id}) in page.text


def _init_data(user_id: int, *, token: str = TOKEN, age: float = 0) -> str:
    user = f'{{"id":{user_id},"first_name":"Ada","last_name":"L","language_code":"en"}}'
    fields = {"query_id": "AAA", "user": user, "auth_date": str(int(time.time() - age))}
    return sign_init_data(fields, token)


async def test_the_mini_app_opens_the_persons_own_result_once_telegram_vouches_for_them(
    site: tuple[WebFrontEnd, str], browser: Browser, knowledge: Knowledge, store: SqliteStore
) -> None:
    from advisor.session import RESULT, Session
    from storage.base import Stored

    answers = {q.id: q.options[-1].id for q in knowledge.questions}
    async with store.unit(42) as uow:  # their Telegram chat, at the result
        session = Session(state=RESULT, answers=knowledge.prune(answers), language="en")
        await uow.sessions.put(42, 42, Stored(session, first_name="Ada"))
    page = await browser.get("/app")
    page = await browser.submit(page.forms[-1], {"init_data": _init_data(42)})
    assert page.status == 200
    assert verdict(knowledge, knowledge.prune(answers)) in page.text
    async with store.unit(42) as uow:  # the Telegram chat itself is untouched
        telegram = await uow.sessions.get(42, 42)
    assert telegram is not None and telegram.session.state == RESULT


@pytest.mark.parametrize(
    "init_data",
    [
        pytest.param(
            lambda: _init_data(42, token="987654321:AnotherBotsTokenXXXXXXXXXXXXXXXX"),
            id="another bot",
        ),
        pytest.param(lambda: _init_data(42, age=25 * 3600), id="stale"),
        pytest.param(lambda: _init_data(42).replace("Ada", "Eve"), id="forged"),
        pytest.param(lambda: "", id="missing"),
    ],
)
async def test_the_mini_app_refuses_data_telegram_did_not_sign_with_401(
    site: tuple[WebFrontEnd, str], browser: Browser, knowledge: Knowledge, init_data: object
) -> None:
    page = await browser.get("/app")
    assert callable(init_data)
    page = await browser.submit(page.forms[-1], {"init_data": init_data()})
    assert page.status == 401
    reasons = ("forged", "stale", "expired_form")
    assert any(knowledge.text(f"web.problem.{r}") in page.text for r in reasons), page.text
    assert browser.cookie("sa") is not None
    home = await browser.get("/")
    assert knowledge.text("web.start") in home.labels  # nobody's result


@pytest.mark.parametrize(
    "here",
    [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
        "/x\r\nSet-Cookie: a=b",
        "javascript:alert(1)",
    ],
)
async def test_the_language_switcher_only_sends_the_browser_back_to_our_own_pages(
    browser: Browser, here: str
) -> None:
    page = await browser.get("/")
    form = page.button("ES").form
    async with browser.session.post(
        browser.base + "/lang",
        data={**form.hidden, "here": here, "lang": "es"},
        allow_redirects=False,
    ) as response:
        assert response.status == 303
        assert response.headers["Location"] == "/"


async def test_a_form_from_a_browser_without_cookies_says_cookies_are_needed(
    site: tuple[WebFrontEnd, str], knowledge: Knowledge
) -> None:
    import aiohttp

    async with (
        aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session,
        session.post(site[1] + "/start", data={"csrf": "x" * 22}) as response,
    ):
        assert response.status == 403
        assert knowledge.text("web.problem.cookies") in await response.text()


async def test_an_unknown_address_gets_a_page_that_leads_back(
    browser: Browser, knowledge: Knowledge
) -> None:
    page = await browser.get("/wp-admin/setup.php?x=<script>")
    assert page.status == 404
    assert knowledge.text("web.problem.not_found") in page.text
    assert "<script>" not in page.html
    assert page.headers["Content-Security-Policy"]


async def test_a_forged_or_tampered_cookie_is_a_new_visitor_not_an_error(
    site: tuple[WebFrontEnd, str], knowledge: Knowledge
) -> None:
    import aiohttp

    for cookie in ("x", "a.b", "e30.AAAAAAAAAAAAAAAAAAAAAA", "." * 900, "ä.ö"):
        async with (
            aiohttp.ClientSession(cookies={"sa": cookie}) as session,
            session.get(site[1] + "/") as response,
        ):
            assert response.status == 200, cookie
            assert knowledge.text("web.start") in await response.text()


async def test_did_you_mean_offers_the_two_choices_and_a_tap_picks_one(
    browser: Browser, knowledge: Knowledge
) -> None:
    await browser.get("/")
    await browser.press(knowledge.text("web.start"))
    await browser.type("python")
    await browser.type("nothing sensitive")
    page = await browser.type("small or medium")
    assert "Did you mean “Small and simple” or “Medium, it will grow”?" in page.text
    option_labels = [b.label for b in page.buttons if b.name == "b"]
    assert "Small and simple" in option_labels and "Medium, it will grow" in option_labels
    assert "Large and complex" not in option_labels
    page = await browser.press("Medium, it will grow")
    assert knowledge.text("dialog.progress", step=4, steps=9) in page.text


async def test_two_instances_on_one_postgresql_database_serve_one_visitor_in_turn(
    knowledge: Knowledge, postgres: Postgres
) -> None:
    first, second = postgres.store(knowledge), postgres.store(knowledge)
    await first.open()
    await second.open()
    try:
        async with (
            serving(front_end(knowledge, first).application()) as one,
            serving(front_end(knowledge, second).application()) as two,
        ):
            browser = Browser(one)
            try:
                page = await browser.get("/")
                page = await browser.press(knowledge.text("web.start"))
                for step in range(len(knowledge.questions) + 1):
                    browser.base = (one, two)[step % 2]  # the proxy sends each request anywhere
                    page = await browser.get("/")
                    asked = [q for q in knowledge.questions if q.prompt in page.text]
                    if not asked:
                        break
                    page = await browser.press(asked[0].options[0].label)
                assert "Recommendation" in page.text
            finally:
                await browser.close()
    finally:
        await first.close()
        await second.close()
