"""Questions a non-programmer can answer: plain words, jargon explained, distinct options."""

from __future__ import annotations

import re

import pytest
import textstat

from advisor import Knowledge, Question

MIN_READING_EASE = 60
#: Words a shop owner would not know; the questions explain or avoid them.
JARGON = ("asynchronous", "monolithic", "mvp", "event-driven", "single-threaded", "npm", "runtime")
#: Labels that, to a lay reader, all say "it hardly matters": a question offers one at most.
HARDLY_MATTERS = ("not much", "doesn't matter", "not important", "little", "no preference")


def syllables(word: str) -> int:
    """Syllables by the well-known vowel-group rule (silent final e, -es, -ed dropped)."""
    word = re.sub(r"[^a-z]", "", word.lower())
    if len(word) <= 3:
        return 1 if word else 0
    word = re.sub(r"(?:[^laeiouy]es|ed|[^laeiouy]e)$", "", word)
    word = re.sub(r"^y", "", word)
    return max(1, len(re.findall(r"[aeiouy]{1,2}", word)))


def flesch(text: str) -> float:
    """Flesch reading ease: 206.835 - 1.015 * words per sentence - 84.6 * syllables per word."""
    sentences = max(1, len(re.findall(r"[.!?]+(?:\s|$)", text)))
    words = re.findall(r"[A-Za-z][A-Za-z'’.-]*", text)
    total = sum(syllables(w) for w in words)
    return 206.835 - 1.015 * len(words) / sentences - 84.6 * total / len(words)


def texts(question: Question) -> dict[str, str]:
    return {"prompt": question.prompt, "why": question.why, "hint": question.hint}


def test_the_syllable_rule_counts_plain_words_as_people_say_them() -> None:
    assert [syllables(w) for w in ("app", "live", "simple", "developers", "asked")] == [
        1,
        1,
        2,
        4,
        1,
    ]
    assert round(flesch("The cat sat on the mat.")) == 116


def test_every_prompt_explanation_and_hint_is_easy_to_read(knowledge: Knowledge) -> None:
    hard = {
        f"{q.id}.{kind}": (round(flesch(text)), round(textstat.flesch_reading_ease(text)))
        for q in knowledge.questions
        for kind, text in texts(q).items()
        if min(flesch(text), textstat.flesch_reading_ease(text)) < MIN_READING_EASE
    }
    assert hard == {}, f"Flesch reading ease under {MIN_READING_EASE} (rule, textstat)"


@pytest.mark.parametrize("word", JARGON)
def test_jargon_is_left_out_of_questions_explanations_and_buttons(
    knowledge: Knowledge, word: str
) -> None:
    for question in knowledge.questions:
        shown = " ".join([*texts(question).values(), *(o.label for o in question.options)])
        assert not re.search(rf"\b{re.escape(word)}\b", shown, re.IGNORECASE), question.id


def test_microservices_are_explained_where_they_are_asked_about(knowledge: Knowledge) -> None:
    services = knowledge.question("services")
    assert services is not None
    assert "small parts" in services.prompt and "microservices" in services.prompt
    assert "small parts" in services.why


def test_no_question_offers_two_options_that_mean_the_same_to_a_lay_reader(
    knowledge: Knowledge,
) -> None:
    for question in knowledge.questions:
        labels = [o.label.casefold() for o in question.options]
        assert sum(label in HARDLY_MATTERS for label in labels) <= 1, question.id
        for option in question.options:
            others = {s.casefold() for o in question.options if o is not option for s in o.synonyms}
            assert option.label.casefold() not in others, (question.id, option.label)


def test_every_button_label_fits_on_a_phone(knowledge: Knowledge) -> None:
    assert all(len(o.label) <= 30 for q in knowledge.questions for o in q.options)


#: Each translation's Flesch-type formula, on textstat's syllable counts for that language:
#: Spanish, Fernández Huerta's; Portuguese, Martins et al.'s adaptation of Flesch (1996);
#: Russian, Oborneva's (2006). Each reads like Flesch's scale, 60 and more being plain language;
#: Russian's runs lower for the same plainness (its everyday words have three syllables and
#: more: "приложение" has five), so it is held to 50.
MIN_TRANSLATED_EASE = {"es": MIN_READING_EASE, "pt": MIN_READING_EASE, "ru": 50}
READING_EASE: dict[str, tuple[float, float, float]] = {
    "es": (206.84, 0.60 * 100, 1.02),  # 206.84 - 60 * syllables/word - 1.02 * words/sentence
    "pt": (248.835, 84.6, 1.015),
    "ru": (206.835, 60.1, 1.3),
}


def reading_ease(text: str, language: str) -> float:
    """A Flesch-type reading ease of a text in one of the translations' languages."""
    base, per_syllable, per_word = READING_EASE[language]
    textstat.set_lang(language)
    try:
        words = textstat.lexicon_count(text) or 1
        sentences = max(1, textstat.sentence_count(text))
        syllables_ = textstat.syllable_count(text)
    finally:
        textstat.set_lang("en")
    return base - per_syllable * syllables_ / words - per_word * words / sentences


@pytest.mark.parametrize("language", sorted(READING_EASE))
def test_every_translated_prompt_explanation_and_hint_is_easy_to_read(
    knowledge: Knowledge, language: str
) -> None:
    hard = {
        f"{q.id}.{kind}": round(reading_ease(text, language))
        for q in knowledge.speaking(language).questions
        for kind, text in texts(q).items()
        if reading_ease(text, language) < MIN_TRANSLATED_EASE[language]
    }
    assert hard == {}, f"{language}: reading ease under {MIN_TRANSLATED_EASE[language]}"
