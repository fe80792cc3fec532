"""End to end in every language: the real Application against the strict fake Bot API, with
users whose Telegram is in Spanish, Portuguese or Russian."""

from __future__ import annotations

import pytest

from advisor import Knowledge, recommend
from advisor.summary import hire_line
from fake_telegram import FakeTelegram
from tests.e2e.conftest import MakeSettings, Office, all_text, last_text, running
from tests.test_result_pages import FINTECH  # the English e2e tests' answers, by option id

#: Telegram's language_code as clients send it, the language spoken, and "I don't know" typed.
PEOPLE = [("es-419", "es", "no sé"), ("pt-br", "pt", "não sei"), ("ru", "ru", "не знаю")]


@pytest.mark.parametrize(("code", "language", "dunno"), PEOPLE)
async def test_a_user_whose_telegram_is_in_another_language_gets_everything_in_it(
    fake: FakeTelegram, bot: object, knowledge: Knowledge, code: str, language: str, dunno: str
) -> None:
    k = knowledge.speaking(language)
    ana = fake.user("Ana", language_code=code)
    await ana.send_command("start")
    assert k.questions[0].prompt in ana.last_message().text
    assert [row[0] for row in ana.buttons()[:2]] == [o.label for o in k.questions[0].options[:2]]
    answers: dict[str, str] = {}
    await ana.send_text(dunno)  # typed, in their language: "not sure"
    answers["team"] = "not_sure"
    for question in k.questions[1:]:
        if not question.applies(answers):
            continue
        option_id = FINTECH.get(question.id) or next(o.id for o in question.options if o.is_neutral)
        option = question.option(option_id)
        assert option is not None
        assert question.prompt in ana.last_message().text
        await ana.press(option.label)
        answers[question.id] = option_id
    rec = recommend(k, answers)
    shown = all_text(ana)
    assert hire_line(rec, k) in shown
    assert [m.kind for m in ana.messages()][-2:] == ["photo", "text"]
    assert knowledge.text("result.title") not in shown  # nothing of it in English
    assert "Recommendation:" not in shown
    # Details, in place, in the same language.
    await ana.press(k.text("telegram.button.details"))
    assert k.text("telegram.details_menu") in ana.last_message().text
    labels = [label for row in ana.buttons() for label in row]
    await ana.press(next(label for label in labels if k.criteria[0].title == label))
    page = ana.last_message().text
    assert k.criteria[0].title in page and k.criteria[0].quote_translation in page
    assert fake.unanswered_callback_queries() == []


async def test_language_switches_mid_dialog_without_losing_answers(
    fake: FakeTelegram, bot: object, knowledge: Knowledge
) -> None:
    es, ru = knowledge.speaking("es"), knowledge.speaking("ru")
    ana = fake.user("Ana", language_code="es")
    await ana.send_command("start")
    await ana.press(es.questions[0].options[0].label)
    assert es.questions[1].prompt in ana.last_message().text
    await ana.send_command("language")
    assert es.text("language.choose") in ana.last_message().text
    assert ana.buttons() == [
        [knowledge.speaking(code).text("language.name")]
        if code != "es"
        else [es.text("telegram.button.chosen", label=es.text("language.name"))]
        for code in knowledge.languages
    ]
    await ana.press("Русский")
    shown = all_text(ana)
    assert ru.text("language.changed") in shown
    assert ru.questions[1].prompt in ana.last_message().text
    await ana.press(ru.questions[1].options[0].label)
    assert ru.questions[2].prompt in ana.last_message().text
    await ana.send_command("back")
    await ana.send_command("back")
    chosen = ru.text("telegram.button.chosen", label=ru.questions[0].options[0].label)
    assert chosen in [label for row in ana.buttons() for label in row]


async def test_the_command_menu_is_registered_in_every_language(
    fake: FakeTelegram, bot: object, knowledge: Knowledge
) -> None:
    for code in knowledge.languages:
        k = knowledge.speaking(code)
        menu = fake.commands(language_code=code)
        assert [c["command"] for c in menu][-1] == "language"
        assert menu[0]["description"] == k.text("telegram.commands.start")
    assert fake.commands() == fake.commands(language_code="en")


async def test_help_and_unknown_commands_answer_in_the_users_language(
    fake: FakeTelegram, bot: object, knowledge: Knowledge
) -> None:
    pt = knowledge.speaking("pt")
    ana = fake.user("Ana", language_code="pt-BR")
    await ana.send_command("help")
    assert ana.last_message().text.startswith(pt.text("telegram.help").split("\n")[0][:20])
    await ana.send_sticker()
    assert pt.text("telegram.unsupported")[:20] in ana.last_message().text


async def test_a_shared_result_opens_in_the_recipients_language_and_the_card_in_the_sharers(
    office: Office, knowledge: Knowledge
) -> None:
    es, ru = knowledge.speaking("es"), knowledge.speaking("ru")
    ana = office.fake.user("Ana", language_code="es")
    await ana.send_command("start")
    for question in es.questions:
        if question.prompt in ana.last_message().text:
            await ana.press(question.options[0].label)
    message = ana.last_message().raw
    assert message is not None
    share = next(b for row in message.inline_keyboard for b in row if "switch_inline_query" in b)
    code = share["switch_inline_query"]
    await ana.inline_query(code)
    [card] = ana.inline_results()
    content = card["input_message_content"]["message_text"]
    assert es.text("summary.they.invite") in content
    ivan = office.fake.user("Ivan", language_code="ru")
    await ivan.send_command("start", code)
    shown = all_text(ivan)
    assert ru.text("summary.they.invite") in shown
    assert [m.kind for m in ivan.messages()] == ["photo", "text"]


async def test_leads_reach_the_sales_chat_in_the_admins_language_and_stats_answer_in_the_askers(
    fake: FakeTelegram, make_settings: MakeSettings, knowledge: Knowledge
) -> None:
    es, ru = knowledge.speaking("es"), knowledge.speaking("ru")
    admin = fake.user("Olga", language_code="ru")
    sales = fake.group("Ventas")
    settings = make_settings(
        ADMIN_IDS=str(admin.id), SALES_CHAT_ID=str(sales.id), ADMIN_LANGUAGE="ru"
    )
    async with running(settings, knowledge):
        ana = fake.user("Ana", language_code="es")
        await ana.send_command("start")
        for question in es.questions:
            if question.prompt in ana.last_message().text:
                await ana.press(question.options[0].label)
        await ana.press(es.text("lead.button"))
        await ana.press(es.text("lead.consent_yes"))
        await ana.send_text("ana@example.com")
        assert es.text("lead.thanks")[:15] in ana.last_message().text
        await fake.wait_for(lambda: bool(fake.messages(sales)), timeout=10)
        summary = fake.messages(sales)[0].visible_text
        assert ru.questions[0].prompt in summary and es.questions[0].prompt not in summary
        await admin.send_command("stats")
        assert ru.text("admin.stats_title") in last_text(admin)
