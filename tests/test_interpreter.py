"""Typed answers read as whole sentences: words anywhere, typos, scoped negation, replies,
asking instead of guessing, and commands beside answers."""

from __future__ import annotations

import statistics
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from advisor import Knowledge, Question
from dialogs.interpreter import NOTHING, Interpreter, Understood

LANGUAGES = ("en", "es", "pt", "ru")


@pytest.fixture(scope="module")
def interpreter(knowledge: Knowledge) -> Interpreter:
    return Interpreter(knowledge)


@pytest.fixture(scope="module")
def interpreters(knowledge: Knowledge) -> dict[str, tuple[Interpreter, Knowledge]]:
    """An interpreter for each language, with the knowledge it reads in."""
    return {
        language: (Interpreter(knowledge.speaking(language)), knowledge.speaking(language))
        for language in LANGUAGES
    }


def read_in(
    interpreters: dict[str, tuple[Interpreter, Knowledge]], language: str, question: str, text: str
) -> Understood:
    reader, spoken = interpreters[language]
    asked = spoken.question(question)
    assert asked is not None
    return reader.understand(text, asked)


def picked_in(
    interpreters: dict[str, tuple[Interpreter, Knowledge]], language: str, question: str, text: str
) -> str | None:
    understood = read_in(interpreters, language, question, text)
    return understood.option.id if understood.option else None


def read(interpreter: Interpreter, knowledge: Knowledge, question: str, text: str) -> Understood:
    asked = knowledge.question(question)
    assert asked is not None
    return interpreter.understand(text, asked)


def picked(interpreter: Interpreter, knowledge: Knowledge, question: str, text: str) -> str | None:
    understood = read(interpreter, knowledge, question, text)
    return understood.option.id if understood.option else None


# -- whole sentences -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "text", "meant"),
    [
        ("team", "we've got two python guys", "python"),
        ("team", "no developers at the moment, will hire", "neither"),
        ("security", "card payments yes", "payments"),
        ("realtime", "nah, nothing live", "none"),
        ("compute", "lots of reporting and number crunching", "heavy"),
        ("deadline", "asap!!", "tight"),
    ],
)
def test_options_are_found_anywhere_in_a_sentence(
    interpreter: Interpreter, knowledge: Knowledge, question: str, text: str, meant: str
) -> None:
    assert picked(interpreter, knowledge, question, text) == meant


def test_python_and_javascript_named_together_mean_both_and_named_as_a_choice_ask(
    interpreter: Interpreter, knowledge: Knowledge
) -> None:
    assert picked(interpreter, knowledge, "team", "python and js") == "both"
    understood = read(interpreter, knowledge, "team", "python or js?")
    assert [o.id for o in understood.candidates] == ["python", "javascript"]


# -- negation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "text", "negated"),
    [
        ("size", "it's not a small thing", "small"),
        ("size", "not small at all", "small"),
        ("team", "not python", "python"),
        ("team", "definitely not javascript", "javascript"),
        ("realtime", "live stuff isn't needed", "core"),
        ("compute", "nothing too demanding", "heavy"),
        ("hiring", "it's not that important to us", "lot"),
        ("services", "i don't want microservices", "microservices"),
        ("deadline", "not urgent at all", "tight"),
    ],
)
def test_a_negated_option_is_never_chosen(
    interpreter: Interpreter, knowledge: Knowledge, question: str, text: str, negated: str
) -> None:
    understood = read(interpreter, knowledge, question, text)
    assert negated not in [o.id for o in (understood.option, *understood.candidates) if o]


@pytest.mark.parametrize(
    ("question", "text", "meant"),
    [
        ("team", "no programmers so far", "neither"),
        ("compute", "nothing too demanding", "light"),
        ("realtime", "live stuff isn't needed", "none"),
        ("hiring", "it's not that important to us", "little"),
        ("team", "definitely not javascript, we use python", "python"),
        ("security", "no payments but we store home addresses", "personal"),
        ("compute", "no ML, just a few reports", "some"),
    ],
)
def test_a_negation_reaches_only_its_part_of_the_sentence(
    interpreter: Interpreter, knowledge: Knowledge, question: str, text: str, meant: str
) -> None:
    assert picked(interpreter, knowledge, question, text) == meant


def test_it_is_not_a_small_thing_picks_nothing_rather_than_small(
    interpreter: Interpreter, knowledge: Knowledge
) -> None:
    assert read(interpreter, knowledge, "size", "it's not a small thing").option is None


# -- short replies ---------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["yep", "yeah", "yes!", "Yup", "sure"])
def test_yes_slang_picks_the_yes_option_where_the_question_has_one(
    interpreter: Interpreter, knowledge: Knowledge, text: str
) -> None:
    assert picked(interpreter, knowledge, "realtime", text) == "core"
    assert picked(interpreter, knowledge, "compute", text) == "heavy"
    assert picked(interpreter, knowledge, "size", text) is None, "no yes on a size question"


@pytest.mark.parametrize("text", ["nah", "nope", "no", "not really", "Nah."])
def test_no_slang_picks_the_no_option_where_the_question_has_one(
    interpreter: Interpreter, knowledge: Knowledge, text: str
) -> None:
    assert picked(interpreter, knowledge, "realtime", text) == "none"
    assert picked(interpreter, knowledge, "security", text) == "nothing"
    assert picked(interpreter, knowledge, "compute", text) == "light"


@pytest.mark.parametrize("text", ["idk", "dunno", "no clue", "no idea", "not sure", "Not sure!"])
def test_not_sure_slang_picks_the_not_sure_option_of_every_question(
    interpreter: Interpreter, knowledge: Knowledge, text: str
) -> None:
    for question in knowledge.questions:
        understood = interpreter.understand(text, question)
        assert understood.option is not None and understood.option.reply == "not_sure"


def test_a_guess_after_not_sure_is_taken_as_the_answer(
    interpreter: Interpreter, knowledge: Knowledge
) -> None:
    assert picked(interpreter, knowledge, "team", "idk, maybe python") == "python"
    assert picked(interpreter, knowledge, "realtime", "idk maybe") == "not_sure"


def test_a_yes_with_a_more_precise_answer_is_that_answer(
    interpreter: Interpreter, knowledge: Knowledge
) -> None:
    assert picked(interpreter, knowledge, "realtime", "yes, some") == "some"
    assert picked(interpreter, knowledge, "compute", "nah, just a few reports") == "some"


# -- asking instead of guessing --------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "text", "candidates"),
    [
        ("size", "small or medium", ["small", "medium"]),
        ("realtime", "we need chat", ["core", "some"]),
        ("security", "yes", ["payments", "personal"]),
        ("deadline", "soon or in a few months", ["tight", "normal"]),
    ],
)
def test_two_close_options_are_returned_as_exactly_those_two_candidates(
    interpreter: Interpreter,
    knowledge: Knowledge,
    question: str,
    text: str,
    candidates: list[str],
) -> None:
    understood = read(interpreter, knowledge, question, text)
    assert understood.option is None
    assert [o.id for o in understood.candidates] == candidates


@pytest.mark.parametrize(
    ("question", "text"),
    [
        ("team", "cobol"),
        ("team", "it has to handle card payments"),
        ("hiring", "very tight deadline"),
        ("compute", "some chat"),
        ("compute", "yes, we take payments"),
        ("hiring", "a lot of video streaming"),
        ("freedom", "python"),
        ("size", "🐍🚀"),
    ],
)
def test_an_answer_to_another_question_or_to_none_fits_nothing(
    interpreter: Interpreter, knowledge: Knowledge, question: str, text: str
) -> None:
    assert read(interpreter, knowledge, question, text) == NOTHING


def test_every_question_says_what_kinds_of_answers_work_when_nothing_fits(
    knowledge: Knowledge,
) -> None:
    hints = [q.hint for q in knowledge.questions]
    assert all(hints) and len(set(hints)) == len(hints)


# -- typos -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "text", "meant"),
    [
        ("team", "pyhton", "python"),
        ("team", "javscript", "javascript"),
        ("security", "paymnets", "payments"),
        ("size", "smal", "small"),
        ("services", "mircoservices", "microservices"),
        ("realtime_kind", "dashbords", "dashboards"),
        ("compute", "machine lerning", "heavy"),
        ("deadline", "relaxd", "relaxed"),
    ],
)
def test_typos_in_longer_words_are_forgiven(
    interpreter: Interpreter, knowledge: Knowledge, question: str, text: str, meant: str
) -> None:
    assert picked(interpreter, knowledge, question, text) == meant


@pytest.mark.parametrize(
    ("question", "text", "meant"),
    [
        ("security", "we take deposits by card", "payments"),
        ("realtime_kind", "live dashboard", "dashboards"),
        ("compute", "a few reports", "some"),
    ],
)
def test_another_ending_of_a_word_means_the_same(
    interpreter: Interpreter, knowledge: Knowledge, question: str, text: str, meant: str
) -> None:
    assert picked(interpreter, knowledge, question, text) == meant


def test_a_common_word_is_never_taken_for_a_typo_of_an_answer(
    interpreter: Interpreter, knowledge: Knowledge
) -> None:
    assert picked(interpreter, knowledge, "realtime", "like") is None, "like is not live"
    assert picked(interpreter, knowledge, "realtime", "care") is None, "care is not core"
    assert picked(interpreter, knowledge, "size", "smell") is None, "not a slip of the fingers"


# -- commands beside answers -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("just tell me what to use", "skip"),
        ("skip the rest", "skip"),
        ("skip", "skip"),
        ("thanks bye", "bye"),
        ("ok bye!", "bye"),
        ("what does microservices mean?", "why"),
        ("what is that", "why"),
        ("What's an MVP?", "why"),
        ("i have no idea what that is", "why"),
        ("go back please", "back"),
        ("can we start over", "restart"),
        ("restrat", "restart"),
        ("help", "help"),
        ("quit", "quit"),
    ],
)
def test_commands_are_understood_at_any_question_and_outside_one(
    interpreter: Interpreter, knowledge: Knowledge, text: str, command: str
) -> None:
    for question in (*knowledge.questions, None):
        understood = interpreter.understand(text, question)
        assert (understood.command, understood.option) == (command, None), question
    assert interpreter.command(text) == command


def test_a_command_word_inside_an_answer_is_no_command(
    interpreter: Interpreter, knowledge: Knowledge
) -> None:
    assert read(interpreter, knowledge, "size", "big, it will help us grow").command is None
    assert interpreter.command("we want to get back to customers fast") is None


# -- properties ------------------------------------------------------------------------------

WORDS = [
    "not",
    "no",
    "yes",
    "nah",
    "idk",
    "or",
    "and",
    "but",
    ",",
    ".",
    "?",
    "!",
    "python",
    "js",
    "hire",
    "big",
    "small",
    "live",
    "chat",
    "none",
    "heavy",
    "reports",
    "a",
    "lot",
    "some",
    "very",
    "tight",
    "asap",
    "important",
    "why",
    "back",
    "skip",
    "1",
    "2",
    "🐍",
    "é",
]
texts = st.one_of(
    st.text(max_size=120),
    st.lists(st.sampled_from(WORDS), max_size=12).map(" ".join),
)


@settings(max_examples=300, deadline=None)
@given(text=texts, index=st.integers(min_value=0, max_value=9))
def test_reading_any_text_never_fails_and_answers_only_with_the_question_s_own_options(
    interpreter: Interpreter, knowledge: Knowledge, text: str, index: int
) -> None:
    question: Question = knowledge.questions[index]
    understood = interpreter.understand(text, question)
    chosen = [o for o in (understood.option, *understood.candidates) if o is not None]
    assert all(o in question.options for o in chosen)
    assert understood.candidates == () or len(set(understood.candidates)) == 2
    assert not (understood.option and understood.candidates)
    assert not (understood.command and chosen)
    assert interpreter.understand(text, question) == understood, "the same every time"


@settings(max_examples=200, deadline=None)
@given(text=texts)
def test_without_a_question_only_commands_are_understood(
    interpreter: Interpreter, text: str
) -> None:
    understood = interpreter.understand(text, None)
    assert understood.option is None and understood.candidates == ()


def test_reading_one_message_takes_well_under_a_millisecond(
    interpreter: Interpreter, knowledge: Knowledge
) -> None:
    """A loose guard for the tests; bench/advisor_bench.py measures it properly."""
    question = knowledge.question("realtime")
    messages = ["nah, nothing live", "we've got two python guys", "live stuff isn't needed"] * 50
    timings = []
    for text in messages:
        start = time.perf_counter()
        interpreter.understand(text, question)
        timings.append(time.perf_counter() - start)
    assert statistics.median(timings) < 0.005


# -- precision: ask rather than guess (issue 11b) ---------------------------------------------


@pytest.mark.parametrize(
    ("question", "text"),
    [
        ("team", "is python better?"),  # a question back answers nothing
        ("compute", "heavy? what do you mean"),  # ... or asks what the question means
        ("size", "between medium and large"),  # a range is a choice
        ("size", "a small team, a big platform"),  # rival answers, not one now and one later
        ("compute", "a lot of reports every day"),  # heavy work, or some reports?
        ("compute", "no ml but heavy reports"),  # said and denied: no "light" from it
        ("team", "python i think, maybe js"),  # hedged names are no "both"
        ("security", "we sell used cars"),  # "cars" is no typo of "cards"
        ("security", "wealth management"),  # nor "wealth" of "health"
    ],
)
def test_unclear_or_mixed_answers_pick_nothing(
    interpreter: Interpreter, knowledge: Knowledge, question: str, text: str
) -> None:
    assert picked(interpreter, knowledge, question, text) is None


@pytest.mark.parametrize(
    ("question", "text", "meant"),
    [
        ("hiring", "we've got our own team so no", "little"),
        ("hiring", "meh, not really", "little"),
        ("security", "no just public info", "nothing"),
        ("compute", "a lot of users but not much processing", "light"),
        ("realtime", "hmm i think so", "core"),
        ("services", "1 app", "monolith"),
        ("security", "patient notes", "personal"),
        ("services", "microservises", "microservices"),
    ],
)
def test_a_no_agrees_with_the_no_option_and_small_words_read_right(
    interpreter: Interpreter, knowledge: Knowledge, question: str, text: str, meant: str
) -> None:
    assert picked(interpreter, knowledge, question, text) == meant


# -- issue 24: indifference, negated sizes, now and later, the product, idioms ------------------

INDIFFERENT = {
    "en": ["don't care", "idc", "whatever", "doesn't matter to me", "no preference either way"],
    "es": ["me da lo mismo", "me da igual", "lo que sea", "cualquiera, me es indiferente"],
    "pt": ["tanto faz", "tanto fez", "não faz diferença pra mim", "tô nem aí"],
    "ru": ["без разницы", "всё равно", "мне пофиг", "да без разницы вообще"],
}


@pytest.mark.parametrize(
    ("language", "text"), [(lang, text) for lang, texts in INDIFFERENT.items() for text in texts]
)
def test_indifference_is_read_as_not_sure_at_every_question_in_every_language(
    interpreters: dict[str, tuple[Interpreter, Knowledge]], language: str, text: str
) -> None:
    """Where an option lists such words itself (how much hiring matters: "not much"), that
    option; everywhere else the neutral one."""
    reader, spoken = interpreters[language]
    for question in spoken.questions:
        understood = reader.understand(text, question)
        assert understood.option is not None, question.id
        expected = "little" if question.id == "hiring" else "not_sure"
        assert understood.option.id == expected, question.id


@pytest.mark.parametrize(
    ("language", "question", "text", "meant"),
    [
        ("en", "services", "whatever is simpler", None),  # a word alone heads something else
        ("en", "team", "whatever you think", None),
        ("en", "team", "i don't care about the language, we'll hire", "neither"),
        ("en", "services", "i don't care, one app is fine", "monolith"),
        ("en", "team", "honestly i don't care what they use", "not_sure"),
        ("es", "team", "me da igual el lenguaje", "not_sure"),
        ("pt", "team", "tanto faz a linguagem", "not_sure"),
        ("ru", "team", "без разницы какой язык", "not_sure"),
        ("ru", "security", "да мне фиолетово", "not_sure"),  # "да" is no yes beside it
    ],
)
def test_indifference_counts_only_where_it_says_nothing_else(
    interpreters: dict[str, tuple[Interpreter, Knowledge]],
    language: str,
    question: str,
    text: str,
    meant: str | None,
) -> None:
    assert picked_in(interpreters, language, question, text) == meant


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "not big"),
        ("en", "not very big"),
        ("en", "nothing huge, a few screens"),
        ("en", "it won't be complicated"),
        ("en", "no, not a big thing"),
        ("es", "no es nada grande"),
        ("es", "nada grande"),
        ("es", "no va a ser enorme"),
        ("es", "grande no es, es una web chiquita"),
        ("pt", "não é grande"),
        ("pt", "não vai ser nada complexo"),
        ("pt", "grande não é, é um sitezinho"),
        ("ru", "ничего большого"),
        ("ru", "не очень большой"),
        ("ru", "не слишком сложное"),
    ],
)
def test_a_negated_size_word_means_small_in_every_language(
    interpreters: dict[str, tuple[Interpreter, Knowledge]], language: str, text: str
) -> None:
    assert picked_in(interpreters, language, "size", text) == "small"


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "not small"),
        ("en", "not big, not tiny"),
        ("en", "it's a big thing"),
        ("es", "no es pequeña"),
        ("pt", "não é pequeno"),
        ("ru", "не маленькое"),
    ],
)
def test_a_negated_small_word_or_both_ends_negated_pick_nothing(
    interpreters: dict[str, tuple[Interpreter, Knowledge]], language: str, text: str
) -> None:
    assert picked_in(interpreters, language, "size", text) != "small"
    assert picked_in(interpreters, language, "size", text) in (None, "large")


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "small now, big later"),
        ("en", "start with a small mvp then grow into a big platform"),
        ("en", "a prototype first, then a big platform"),
        ("en", "tiny at first but huge one day"),
        ("en", "simple for now, might grow later"),
        ("es", "pequeño ahora pero crecerá"),
        ("es", "al principio algo chiquito y luego grande"),
        ("es", "primero un mvp y luego una plataforma grande"),
        ("pt", "pequeno agora, grande depois"),
        ("pt", "no começo simples, depois vai crescer"),
        ("ru", "сейчас маленький, потом вырастет"),
        ("ru", "сначала простое, через год большое"),
    ],
)
def test_small_now_and_big_later_is_the_option_that_grows_in_every_language(
    interpreters: dict[str, tuple[Interpreter, Knowledge]], language: str, text: str
) -> None:
    assert picked_in(interpreters, language, "size", text) == "medium"


@pytest.mark.parametrize(
    ("text", "meant"),
    [
        ("small for now", "small"),  # nothing later
        ("big later", "large"),  # nothing now
        ("small now or big later?", None),  # a choice
        ("small, and it won't grow", "small"),
    ],
)
def test_now_and_later_needs_both_and_no_choice(
    interpreter: Interpreter, knowledge: Knowledge, text: str, meant: str | None
) -> None:
    assert picked(interpreter, knowledge, "size", text) == meant


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "the app is basically a live auction"),
        ("en", "video calls between doctor and patient, that's the product"),
        ("en", "live streaming is the whole product"),
        ("en", "without live video there is no app"),
        ("es", "la app es básicamente una subasta en vivo"),
        ("es", "videollamadas entre médico y paciente, ese es el producto"),
        ("es", "sin el chat en tiempo real no hay app"),
        ("pt", "o app é basicamente um leilão ao vivo"),
        ("pt", "rastreamento em tempo real, esse é o produto"),
        ("ru", "видеозвонки врач пациент, это и есть продукт"),
        ("ru", "весь смысл в чате между покупателем и продавцом"),
        ("ru", "без чата в реальном времени приложения нет"),
    ],
)
def test_a_live_feature_said_to_be_the_product_is_the_core_in_every_language(
    interpreters: dict[str, tuple[Interpreter, Knowledge]], language: str, text: str
) -> None:
    assert picked_in(interpreters, language, "realtime", text) == "core"


@pytest.mark.parametrize(
    ("text", "candidates"),
    [
        ("there's a chat in the app", ["core", "some"]),
        ("the app has a chat", ["core", "some"]),
        ("the app is a shop with a chat", ["core", "some"]),
    ],
)
def test_a_live_feature_merely_named_is_still_asked_about(
    interpreter: Interpreter, knowledge: Knowledge, text: str, candidates: list[str]
) -> None:
    understood = read(interpreter, knowledge, "realtime", text)
    assert [o.id for o in understood.candidates] == candidates


@pytest.mark.parametrize(
    ("language", "question", "text", "meant"),
    [
        ("en", "freedom", "I don't want to reinvent the wheel", "builtin"),
        ("en", "freedom", "we don't want to build everything from scratch", "builtin"),
        ("en", "freedom", "we want to build it from scratch", "freedom"),
        ("en", "deadline", "we're already late lol", "tight"),
        ("en", "deadline", "we have all year", "relaxed"),
        ("es", "freedom", "no quiero reinventar la rueda", "builtin"),
        ("es", "freedom", "no queremos hacer todo desde cero", "builtin"),
        ("es", "deadline", "ya vamos tarde jaja", "tight"),
        ("es", "deadline", "tenemos todo el año", "relaxed"),
        ("pt", "freedom", "não quero reinventar a roda", "builtin"),
        ("pt", "deadline", "tamo atrasadíssimo kkk", "tight"),
        ("pt", "deadline", "temos o ano todo", "relaxed"),
        ("ru", "freedom", "не хотим писать всё с нуля", "builtin"),
        ("ru", "deadline", "уже горим по срокам", "tight"),
        ("ru", "deadline", "у нас весь год", "relaxed"),
    ],
)
def test_idioms_are_read_as_what_they_mean_in_every_language(
    interpreters: dict[str, tuple[Interpreter, Knowledge]],
    language: str,
    question: str,
    text: str,
    meant: str,
) -> None:
    assert picked_in(interpreters, language, question, text) == meant


@pytest.mark.parametrize(
    ("language", "question", "text", "meant"),
    [
        ("en", "size", "huuuge", "large"),
        ("en", "size", "soooo small", "small"),
        ("en", "deadline", "sooooon", "tight"),
        ("en", "realtime", "noooo", "none"),
        ("es", "deadline", "muuuy urgente", "tight"),
        ("es", "size", "enoooorme", "large"),
        ("pt", "deadline", "muuuito urgente", "tight"),
        ("ru", "size", "оооочень большое", "large"),
        ("ru", "size", "огроооомный", "large"),
        ("pt", "compute", "tanto faz kkk", "not_sure"),  # "kkk" is a laugh, not a held "k"
    ],
)
def test_letters_held_down_are_let_go_in_every_language(
    interpreters: dict[str, tuple[Interpreter, Knowledge]],
    language: str,
    question: str,
    text: str,
    meant: str,
) -> None:
    assert picked_in(interpreters, language, question, text) == meant


@pytest.mark.parametrize(("question", "meant"), [("hiring", "lot"), ("compute", "heavy")])
def test_yes_a_lot_reads_like_yes_comma_a_lot(
    interpreter: Interpreter, knowledge: Knowledge, question: str, meant: str
) -> None:
    assert picked(interpreter, knowledge, question, "yes a lot") == meant
    assert picked(interpreter, knowledge, question, "yes, a lot") == meant


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "we don't store card numbers, stripe does that. but yes people pay"),
        ("en", "no card data on our side, the payment provider keeps it. people do pay though"),
        ("es", "tarjetas no guardamos nada, pero los clientes pagan online"),
        ("pt", "não guardamos cartão, o stripe guarda, mas as pessoas pagam sim"),
        ("ru", "карточки не храним но оплата на сайте будет"),
    ],
)
def test_not_storing_cards_yet_taking_payments_is_payments_in_every_language(
    interpreters: dict[str, tuple[Interpreter, Knowledge]], language: str, text: str
) -> None:
    assert picked_in(interpreters, language, "security", text) == "payments"


@pytest.mark.parametrize("text", ["?", "??", " ? ", "¿?", "?!"])
def test_a_bare_question_mark_asks_why_at_any_question_and_outside_one(
    interpreter: Interpreter, knowledge: Knowledge, text: str
) -> None:
    for question in (*knowledge.questions, None):
        assert interpreter.understand(text, question) == Understood(command="why")
    assert interpreter.command(text) == "why"
    assert interpreter.command("python?") is None
