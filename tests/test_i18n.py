"""Speaking the user's language: the translations' checks, the choice of language, and the
dialog in each language (through the conversation service and the console)."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from advisor import DataError, Knowledge, recommend
from advisor.loading import placeholders
from advisor.render import render_text
from advisor.summary import render_summary_text
from advisor.translation import ENGLISH_MARKERS
from bot import system_language
from dialogs.conversation import Conversation
from dialogs.engine import DialogEngine
from dialogs.interpreter import Interpreter
from dialogs.turns import Begin, Commanded, Person, Tapped, Typed
from frontends.console.chat import ConsolePresenter, run_console
from storage.sqlite import SqliteStore
from tests.test_result_pages import FINTECH

TRANSLATED = ("es", "pt", "ru")
#: How each language says "I don't know" (the neutral answer), typed.
DUNNO = {"es": "no sé", "pt": "não sei", "ru": "не знаю"}


def fails_with(broken_data: Any, *messages: str) -> None:
    """Loading the broken copy fails, naming file and key of each of these problems."""
    with pytest.raises(DataError) as caught:
        broken_data.load()
    shown = str(caught.value)
    for message in messages:
        assert message in shown, shown


# -- what is loaded ------------------------------------------------------------------------------


def test_every_language_is_loaded_with_english_first(knowledge: Knowledge) -> None:
    assert knowledge.languages == ("en", *TRANSLATED)


@pytest.mark.parametrize("language", TRANSLATED)
def test_a_translation_gives_the_same_advice_as_english_for_any_answers(
    knowledge: Knowledge, language: str, complete: Any
) -> None:
    translated = knowledge.speaking(language)
    for answers in ({}, complete(team="python"), complete(team="javascript", realtime="core")):
        ours, theirs = recommend(knowledge, answers), recommend(translated, answers)
        assert (ours.choice, ours.confidence, ours.margin) == (
            theirs.choice,
            theirs.confidence,
            theirs.margin,
        )


@pytest.mark.parametrize("language", TRANSLATED)
def test_questions_and_options_keep_their_ids_and_order_in_every_language(
    knowledge: Knowledge, language: str
) -> None:
    translated = knowledge.speaking(language)
    assert [(q.id, [o.id for o in q.options]) for q in translated.questions] == [
        (q.id, [o.id for o in q.options]) for q in knowledge.questions
    ]
    assert [q.prompt for q in translated.questions] != [q.prompt for q in knowledge.questions]


@pytest.mark.parametrize("language", TRANSLATED)
def test_article_quotes_stay_in_english_with_a_translation_beside_them(
    knowledge: Knowledge, language: str
) -> None:
    translated = knowledge.speaking(language)
    for english, criterion in zip(knowledge.criteria, translated.criteria, strict=True):
        assert criterion.quote == english.quote
        assert criterion.quote_translation and criterion.quote_translation != english.quote
    report = " ".join(render_text(recommend(translated, {}), translated).split())
    assert translated.criteria[0].quote in report
    assert translated.criteria[0].quote_translation in report


@pytest.mark.parametrize(
    ("code", "language"),
    [("es-419", "es"), ("pt-br", "pt"), ("pt_BR", "pt"), ("ru", "ru"), ("RU-ru", "ru"),
     ("en-GB", "en"), ("de", "en"), ("", "en"), (None, "en"), ("zz-top", "en")],
)  # fmt: skip
def test_telegrams_language_code_picks_the_base_language_or_english(
    knowledge: Knowledge, code: str | None, language: str
) -> None:
    assert knowledge.language_for(code) == language


@pytest.mark.parametrize(
    ("environ", "language"),
    [({"LANG": "pt_BR.UTF-8"}, "pt_BR"), ({"LC_ALL": "ru_RU.UTF-8", "LANG": "en_US"}, "ru_RU"),
     ({"LANG": "C"}, None), ({}, None), ({"LC_MESSAGES": "es_ES@euro"}, "es_ES")],
)  # fmt: skip
def test_the_console_defaults_to_the_system_locales_language(
    environ: dict[str, str], language: str | None
) -> None:
    assert system_language(environ) == language


def test_plural_forms_follow_each_languages_rules(knowledge: Knowledge) -> None:
    ru = knowledge.speaking("ru")
    forms = {key for key in ru.plurals if "count" in ru.texts[key]}
    assert forms, "Russian has texts with plural forms"
    key = sorted(forms)[0]
    one, few, many = (ru.text(key, **_values(ru, key, n)) for n in (1, 3, 5))
    assert len({one, few, many}) == 3, (one, few, many)


def test_big_numbers_are_written_the_languages_way(knowledge: Knowledge) -> None:
    key = "admin.stats_others"
    assert "12,345" in knowledge.text(key, count=12345)
    assert "12.345" in knowledge.speaking("es").text(key, count=12345)
    assert "12\xa0345" in knowledge.speaking("ru").text(key, count=12345)


def _values(k: Knowledge, key: str, count: int) -> dict[str, object]:
    names = placeholders(k.texts[key])
    return {name: count if name == "count" else "x" for name in names}


@pytest.mark.parametrize("language", TRANSLATED)
def test_no_translated_text_is_left_in_english(knowledge: Knowledge, language: str) -> None:
    translated = knowledge.speaking(language)
    same = [
        key
        for key, text in translated.texts.items()
        if text == knowledge.texts[key]
        and re.search(r"[^\W\d_]{3,}", re.sub(r"\{\w+\}", "", text))
        and not any(name in text for name in ("Django", "Node.js", "Python", "JavaScript"))
    ]
    assert same == []
    english_words = [
        key
        for key, text in translated.texts.items()
        if len(ENGLISH_MARKERS.intersection(re.findall(r"[^\W\d_]+", text.casefold()))) >= 2
    ]
    assert english_words == []


# -- --check-data on a broken translation ---------------------------------------------------------


def test_a_removed_translation_key_is_an_error_naming_file_and_key(broken_data: Any) -> None:
    broken_data.edit("i18n/es/texts.yaml", lambda data: data["result"].pop("title"))
    fails_with(broken_data, "data/i18n/es/texts.yaml: result.title: missing translation")


def test_a_changed_placeholder_is_an_error_naming_file_and_key(broken_data: Any) -> None:
    def rename(data: Any) -> None:
        data["result"]["recommendation"] = data["result"]["recommendation"].replace(
            "{stack}", "{pila}"
        )

    broken_data.edit("i18n/pt/texts.yaml", rename)
    fails_with(
        broken_data,
        "data/i18n/pt/texts.yaml: result.recommendation: placeholders {pila} differ from "
        "English {stack}",
    )


def test_an_untranslated_field_is_an_error_naming_file_and_key(
    broken_data: Any, knowledge: Knowledge
) -> None:
    english = knowledge.question("team")
    assert english is not None

    def untranslate(data: Any) -> None:
        data["questions"]["team"]["prompt"] = english.prompt

    broken_data.edit("i18n/ru/questions.yaml", untranslate)
    fails_with(
        broken_data,
        "data/i18n/ru/questions.yaml: questions.team.prompt: not translated (the same as English)",
    )


def test_english_words_left_in_a_translation_are_an_error(broken_data: Any) -> None:
    def half(data: Any) -> None:
        data["telegram"]["stale"] = "Ese botón is from an earlier question."

    broken_data.edit("i18n/es/texts.yaml", half)
    fails_with(broken_data, "data/i18n/es/texts.yaml: telegram.stale: looks like English")


def test_a_missing_option_and_a_too_long_label_are_both_reported_at_once(
    broken_data: Any,
) -> None:
    def damage(data: Any) -> None:
        data["questions"]["team"]["options"].pop("both")
        data["questions"]["security"]["options"]["payments"]["label"] = "x" * 31

    broken_data.edit("i18n/pt/questions.yaml", damage)
    fails_with(
        broken_data,
        "data/i18n/pt/questions.yaml: questions.team.options.both: missing option",
        "data/i18n/pt/questions.yaml: questions.security.options.payments.label: 31 characters",
    )


def test_a_missing_plural_form_names_the_forms_the_language_needs(broken_data: Any) -> None:
    def drop_few(data: Any) -> None:
        admin = data["admin"]
        admin["stats_others"] = {k: v for k, v in admin["stats_others"].items() if k != "few"}

    broken_data.edit("i18n/ru/texts.yaml", drop_few)
    fails_with(broken_data, "data/i18n/ru/texts.yaml: admin.stats_others: missing plural form few")


def test_check_data_prints_every_problem_of_a_translation_on_its_own_line(
    broken_data: Any,
) -> None:
    def damage(data: Any) -> None:
        data["result"].pop("title")
        data["result"]["recommendation"] = "{pila}"

    broken_data.edit("i18n/es/texts.yaml", damage)
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve().parent.parent / "bot.py"), "--check-data",
         "--data", "data"],
        cwd=broken_data.dir.parent, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) >= 2
    assert all(line.startswith("error: data/i18n/es/texts.yaml: result.") for line in lines)


def test_check_data_names_every_language(repo_root: Path) -> None:
    done = subprocess.run(
        [sys.executable, "bot.py", "--check-data"],
        cwd=repo_root, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert "languages: en, es, pt, ru" in done.stdout


# -- the dialog in each language ------------------------------------------------------------------


@pytest.fixture
async def chat(knowledge: Knowledge) -> Any:
    store = SqliteStore(":memory:", knowledge)
    await store.open()
    conversation = Conversation(DialogEngine(knowledge), store, ConsolePresenter(knowledge))
    printed: list[str] = []

    async def say(person: Person, action: Any) -> str:
        await conversation.handle(person, action)
        printed.clear()

        async def collect(message: Any) -> None:
            printed.append(message.body["text"])

        await conversation.deliver(person.user_id, collect)
        return "\n".join(printed)

    yield say
    await store.close()


@pytest.mark.parametrize("language", TRANSLATED)
async def test_a_new_user_is_asked_in_their_telegrams_language_and_understood_typing_it(
    chat: Any, knowledge: Knowledge, language: str
) -> None:
    k = knowledge.speaking(language)
    person = Person(1, 1, "Ana", "Ana", language=f"{language}-XX")
    shown = await chat(person, Begin())
    assert k.questions[0].prompt in shown
    shown = await chat(person, Typed(DUNNO[language]))
    assert k.questions[1].prompt in shown


async def test_switching_language_mid_dialog_keeps_the_answers_and_the_question(
    chat: Any, knowledge: Knowledge
) -> None:
    person = Person(2, 2, "Ann", "Ann", language="en")
    await chat(person, Begin())
    await chat(person, Typed("python"))
    menu = await chat(person, Commanded("language"))
    assert menu == "" or "language" in menu.casefold()
    ru = knowledge.speaking("ru")
    shown = await chat(person, Tapped(0, None, "lang_ru"))
    assert ru.text("language.changed") in shown
    assert ru.questions[1].prompt in shown
    shown = await chat(person, Typed(DUNNO["ru"]))
    assert ru.questions[2].prompt in shown


async def test_a_forged_language_button_changes_nothing(chat: Any, knowledge: Knowledge) -> None:
    person = Person(3, 3, "Ann", "Ann", language="es")
    await chat(person, Begin())
    shown = await chat(person, Tapped(0, None, "lang_xx"))
    assert shown == ""
    shown = await chat(person, Typed(DUNNO["es"]))
    assert knowledge.speaking("es").questions[1].prompt in shown


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_console_speaks_the_language_asked_for(knowledge: Knowledge, language: str) -> None:
    k = knowledge.speaking(language)
    typed = "\n".join([DUNNO[language]] * 12) + "\n"
    out = io.StringIO()
    assert run_console(knowledge, io.StringIO(typed), out, language) == 0
    shown = out.getvalue()
    assert k.questions[0].prompt in shown
    assert k.questions[1].prompt in shown
    summary = render_summary_text(recommend(k, {}), k, bars=True)
    assert summary.splitlines()[0] in shown


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("здаровье", "personal"), ("злоровье", "personal"), ("пдатежи", "payments")],
)
def test_russian_typos_are_forgiven_like_english_ones(
    knowledge: Knowledge, typed: str, meant: str
) -> None:
    ru = knowledge.speaking("ru")
    understood = Interpreter(ru).understand(typed, ru.question("security"))
    assert understood.option is not None and understood.option.id == meant


def test_a_russian_word_with_its_first_letter_wrong_is_not_guessed(knowledge: Knowledge) -> None:
    ru = knowledge.speaking("ru")
    understood = Interpreter(ru).understand("жлоровье", ru.question("security"))
    assert understood.option is None


# -- one ledger in every language ------------------------------------------------------------------

SIDE = re.compile(r"(Django|Node\.js) \+(\d+)\.?$")
STATED = re.compile(r"Django (\d+), Node\.js (\d+)\.")


@pytest.mark.parametrize("language", ["en", *TRANSLATED])
def test_in_every_language_the_summary_and_report_add_up_to_the_points_they_state(
    knowledge: Knowledge, language: str
) -> None:
    k = knowledge.speaking(language)
    for answers in ({}, {"team": "python", "security": "payments", "compute": "heavy"}, FINTECH):
        rec = recommend(k, answers)
        for voice in ("you", "they"):
            text = render_summary_text(rec, k, voice=voice)
            counted = {"Django": 0, "Node.js": 0}
            for line in " ".join(text.split("\n  ")).splitlines():
                if line.startswith("• ") and (found := SIDE.search(line)):
                    counted[found[1]] += int(found[2])
            stated = STATED.search(text)
            assert stated is not None, text
            assert (counted["Django"], counted["Node.js"]) == tuple(map(int, stated.groups()))
            assert tuple(map(int, stated.groups())) == (rec.points("django"), rec.points("nodejs"))
        report = " ".join(render_text(rec, k).split())
        assert report.count(f"Django {rec.points('django')}, Node.js {rec.points('nodejs')}") == 2


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_translated_criterion_has_one_name_everywhere_and_own_rules_carry_the_mark(
    knowledge: Knowledge, language: str
) -> None:
    k = knowledge.speaking(language)
    rec = recommend(k, FINTECH)
    summary = render_summary_text(rec, k)
    report = render_text(rec, k)
    mark = k.text("result.beyond_article", reason="").strip(" :—-").casefold()
    for criterion in k.criteria:
        assert f"• {criterion.title} (" in summary
        assert criterion.title in report
    assert rec.own and all(e.title in summary for e in rec.own)
    assert mark in k.text("summary.own").casefold()
    assert mark in k.text("chart.own").casefold()
    for entry in rec.own:
        line = next(x for x in report.replace("\n  ", " ").splitlines() if entry.title in x)
        assert mark in line.casefold(), line


def test_a_translated_why_that_hides_points_beyond_the_article_is_refused(
    broken_data: Any,
) -> None:
    broken_data.replace("i18n/es/questions.yaml", "Más allá del artículo:", "Además:")
    fails_with(
        broken_data,
        "data/i18n/es/questions.yaml: questions.team.why: its answers give points beyond the "
        "article, so its why must say so with the mark “Más allá del artículo”",
    )
