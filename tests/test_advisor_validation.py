"""Broken data fails at start-up with one precise message naming the file and the key path."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from advisor import DataError, Knowledge

KNOWN_CRITERIA = "community, scalability, architecture, security, usability, performance"


def fails_with(broken_data: Any, message: str) -> None:
    """Loading the broken copy raises DataError with exactly this message."""
    with pytest.raises(DataError, match=f"^{re.escape(message)}$"):
        broken_data.load()


def test_the_real_data_loads(knowledge: Knowledge) -> None:
    assert [c.id for c in knowledge.criteria] == KNOWN_CRITERIA.split(", ")
    assert knowledge.questions[0].id == "team"


def test_a_misspelt_criterion_in_weights_names_the_option_and_the_known_criteria(
    broken_data: Any,
) -> None:
    broken_data.replace("questions.yaml", "weights: {security: 3}", "weights: {secrity: 3}")
    fails_with(
        broken_data,
        "data/questions.yaml: questions[1].options[0].weights.secrity: "
        f"unknown criterion 'secrity' (known: {KNOWN_CRITERIA})",
    )


def test_an_option_without_a_label_is_reported_missing(broken_data: Any) -> None:
    broken_data.replace("questions.yaml", "        label: JavaScript\n", "")
    fails_with(broken_data, "data/questions.yaml: questions[0].options[1].label: missing")


@pytest.mark.parametrize("weight", [4, -1])
def test_a_weight_out_of_range_shows_the_allowed_range(broken_data: Any, weight: int) -> None:
    broken_data.replace(
        "questions.yaml", "weights: {security: 3}", f"weights: {{security: {weight}}}"
    )
    fails_with(
        broken_data,
        f"data/questions.yaml: questions[1].options[0].weights.security: "
        f"{weight} is out of range (0 to 3)",
    )


def test_a_weight_that_is_not_a_whole_number_is_rejected(broken_data: Any) -> None:
    broken_data.replace("questions.yaml", "weights: {security: 3}", "weights: {security: 1.5}")
    fails_with(
        broken_data,
        "data/questions.yaml: questions[1].options[0].weights.security: "
        "expected a whole number, got float",
    )


def test_two_questions_with_the_same_id_are_rejected(broken_data: Any) -> None:
    broken_data.replace("questions.yaml", "  - id: security\n", "  - id: team\n")
    fails_with(broken_data, "data/questions.yaml: questions[1].id: duplicate question id 'team'")


def test_two_options_with_the_same_id_are_rejected(broken_data: Any) -> None:
    broken_data.replace("questions.yaml", "      - id: javascript\n", "      - id: python\n")
    fails_with(
        broken_data, "data/questions.yaml: questions[0].options[1].id: duplicate option id 'python'"
    )


def test_a_label_too_long_for_a_button_is_rejected_with_its_length(broken_data: Any) -> None:
    long_label = "Python, and a little bit of Go too"
    broken_data.replace("questions.yaml", "label: Python\n", f"label: {long_label}\n")
    fails_with(
        broken_data,
        "data/questions.yaml: questions[0].options[0].label: "
        f"34 characters, at most 30 allowed: {long_label!r}",
    )


OWN = "team_language, hiring, live_features, heavy_work, ready_parts, deadline, app_size"


def test_points_beyond_the_article_without_their_mark_are_refused(broken_data: Any) -> None:
    def unmark(data: dict[str, Any]) -> None:
        del data["questions"][0]["options"][0]["beyond_article"]

    broken_data.edit("questions.yaml", unmark)
    fails_with(
        broken_data,
        "data/questions.yaml: questions[0].options[0].beyond_article: missing the mark: this "
        "answer gives points by one of the advisor's own reasons (fit), so it must say "
        "beyond_article: true",
    )


def test_a_mark_without_points_beyond_the_article_is_refused(broken_data: Any) -> None:
    def mark(data: dict[str, Any]) -> None:
        data["questions"][0]["options"][2]["beyond_article"] = True  # "both": no fit

    broken_data.edit("questions.yaml", mark)
    fails_with(
        broken_data,
        "data/questions.yaml: questions[0].options[2].beyond_article: this answer gives no "
        "points beyond the article (no fit), so it is not beyond it",
    )


def test_points_beyond_the_article_must_name_one_of_the_advisors_own_reasons(
    broken_data: Any,
) -> None:
    def unname(data: dict[str, Any]) -> None:
        del data["questions"][0]["options"][0]["fit"]["django"]["rule"]

    broken_data.edit("questions.yaml", unname)
    fails_with(
        broken_data,
        "data/questions.yaml: questions[0].options[0].fit.django.rule: missing: points given "
        "outside the article's six criteria are one of the advisor's own reasons; name it "
        f"(known: {OWN})",
    )


def test_an_unknown_own_reason_lists_the_known_ones(broken_data: Any) -> None:
    broken_data.replace("questions.yaml", "rule: team_language", "rule: gut_feeling")
    fails_with(
        broken_data,
        "data/questions.yaml: questions[0].options[0].fit.django.rule: unknown own reason "
        f"'gut_feeling' (known: {OWN})",
    )


def test_an_own_reason_no_answer_gives_points_by_is_refused(broken_data: Any) -> None:
    def add(data: dict[str, Any]) -> None:
        data["own_reasons"].append({"id": "mood", "name": "Mood", "summary": "How you feel."})

    broken_data.edit("criteria.yaml", add)
    fails_with(
        broken_data,
        "data/criteria.yaml: own_reasons.mood: no answer gives points by this reason; remove it "
        "or name it in a fit's rule",
    )


def test_an_unknown_verdict_lists_the_known_ones(broken_data: Any) -> None:
    broken_data.replace("criteria.yaml", "verdict: nodejs", "verdict: node")
    fails_with(
        broken_data,
        "data/criteria.yaml: criteria[0].verdict: unknown verdict 'node' "
        "(known: django, nodejs, tie)",
    )


def test_invalid_yaml_names_the_file_and_the_line(broken_data: Any) -> None:
    broken_data.replace("questions.yaml", "label: Both\n", "label: Both: or neither\n")
    text = broken_data.text("questions.yaml")
    line = text[: text.index("label: Both: or neither")].count("\n") + 1
    fails_with(
        broken_data,
        f"data/questions.yaml: invalid YAML: line {line}, column 20: "
        "mapping values are not allowed here",
    )


def test_a_missing_data_file_is_named(broken_data: Any) -> None:
    broken_data.path("texts.yaml").unlink()
    fails_with(broken_data, "data/texts.yaml: file not found")


def test_an_unquoted_yes_among_words_asks_for_quotes(broken_data: Any) -> None:
    broken_data.replace("vocabulary.yaml", '"yes": ["yes", yep,', '"yes": [yes, yep,')
    fails_with(
        broken_data,
        "data/vocabulary.yaml: replies.yes[0]: "
        "expected text, got true/false (put yes, no, on and off in quotes)",
    )


@pytest.mark.parametrize(
    ("condition", "named"),
    [("{realtimee: [core]}", "realtimee"), ("{compute: [heavy]}", "compute")],
    ids=["unknown question", "later question"],
)
def test_a_condition_on_a_question_not_asked_before_is_rejected(
    broken_data: Any, condition: str, named: str
) -> None:
    broken_data.replace(
        "questions.yaml", "ask_if: {realtime: [core, some]}", f"ask_if: {condition}"
    )
    fails_with(
        broken_data,
        f"data/questions.yaml: questions[5].ask_if.{named}: "
        f"condition on {named!r}, which is not an earlier question",
    )


def test_a_condition_on_an_unknown_option_lists_the_known_ones(broken_data: Any) -> None:
    broken_data.replace(
        "questions.yaml", "ask_if: {realtime: [core, some]}", "ask_if: {realtime: [cor]}"
    )
    fails_with(
        broken_data,
        "data/questions.yaml: questions[5].ask_if.realtime[0]: unknown option 'cor' of question "
        "'realtime' (known: core, some, none, not_sure)",
    )


def test_a_question_without_a_neutral_answer_is_rejected(broken_data: Any) -> None:
    def drop_not_sure(data: dict[str, Any]) -> None:
        size = next(q for q in data["questions"] if q["id"] == "size")
        size["options"] = [o for o in size["options"] if o["id"] != "not_sure"]

    broken_data.edit("questions.yaml", drop_not_sure)
    fails_with(
        broken_data,
        "data/questions.yaml: questions[2].options: no neutral option: "
        "every question needs a 'not sure' answer with no weights or fit",
    )


@pytest.mark.parametrize(
    ("section", "key"), [("console", "goodbye"), ("result", "title")], ids=["dialog", "result"]
)
def test_a_missing_required_text_is_named_by_its_dotted_key(
    broken_data: Any, section: str, key: str
) -> None:
    broken_data.edit("texts.yaml", lambda data: data[section].pop(key))
    fails_with(broken_data, f"data/texts.yaml: {section}.{key}: missing text")


def test_a_misspelt_placeholder_in_a_text_is_named_at_load(broken_data: Any) -> None:
    broken_data.replace("texts.yaml", "{stack}", "{stak}")
    with pytest.raises(
        DataError, match=r"^data/texts.yaml: [a-z_.]+: unknown placeholder \{stak\}"
    ):
        broken_data.load()


def test_an_unbalanced_brace_in_a_text_is_named_at_load(broken_data: Any) -> None:
    broken_data.replace("texts.yaml", "{stack}", "{stack")
    with pytest.raises(DataError, match=r"^data/texts.yaml: [a-z_.]+: broken placeholder"):
        broken_data.load()


def run_bot(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    script = Path(__file__).resolve().parent.parent / "bot.py"
    return subprocess.run(
        [sys.executable, str(script), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_data_prints_a_one_line_summary_and_succeeds(repo_root: Path) -> None:
    done = run_bot("--check-data", cwd=repo_root)
    assert done.returncode == 0, done.stderr
    assert (
        done.stdout == "data OK: 6 criteria, 10 questions, 40 options; languages: en, es, pt, ru\n"
    )
    assert done.stderr == ""


def test_check_data_on_broken_data_prints_one_error_line_and_fails(broken_data: Any) -> None:
    broken_data.replace("questions.yaml", "weights: {security: 3}", "weights: {secrity: 3}")
    done = run_bot("--check-data", "--data", "data", cwd=broken_data.dir.parent)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.startswith(
        "error: data/questions.yaml: questions[1].options[0].weights.secrity: unknown criterion"
    )
    assert done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr


# -- the words typed answers are read with -------------------------------------------------

KNOWN_COMMANDS = "back, restart, why, help, quit, skip, bye"


def test_a_missing_vocabulary_file_is_named(broken_data: Any) -> None:
    broken_data.path("vocabulary.yaml").unlink()
    fails_with(broken_data, "data/vocabulary.yaml: file not found")


def test_an_unknown_command_lists_the_known_ones(broken_data: Any) -> None:
    broken_data.edit("vocabulary.yaml", lambda data: data["commands"].update(jump=["jump"]))
    fails_with(
        broken_data,
        f"data/vocabulary.yaml: commands.jump: unknown command 'jump' (known: {KNOWN_COMMANDS})",
    )


def test_a_command_without_words_is_reported_missing(broken_data: Any) -> None:
    broken_data.edit("vocabulary.yaml", lambda data: data["commands"].pop("skip"))
    fails_with(broken_data, "data/vocabulary.yaml: commands.skip: missing")


def test_an_unknown_reply_lists_the_known_ones(broken_data: Any) -> None:
    broken_data.edit("vocabulary.yaml", lambda data: data["replies"].update(maybe=["perhaps"]))
    fails_with(
        broken_data,
        "data/vocabulary.yaml: replies.maybe: unknown reply 'maybe' (known: yes, no, not_sure)",
    )


def test_an_unknown_section_of_the_vocabulary_is_named(broken_data: Any) -> None:
    broken_data.edit("vocabulary.yaml", lambda data: data.update(synonyms=["x"]))
    with pytest.raises(
        DataError, match=r"^data/vocabulary.yaml: synonyms: unknown section 'synonyms' \(known: "
    ):
        broken_data.load()


def test_a_missing_word_list_is_named(broken_data: Any) -> None:
    broken_data.edit("vocabulary.yaml", lambda data: data.pop("negations"))
    fails_with(broken_data, "data/vocabulary.yaml: negations: missing")


def test_a_phrase_without_words_is_rejected(broken_data: Any) -> None:
    broken_data.edit("vocabulary.yaml", lambda data: data["negations"].insert(0, "?!"))
    fails_with(broken_data, "data/vocabulary.yaml: negations[0]: '?!' has no words")


def test_a_phrase_of_filler_words_only_is_rejected(broken_data: Any) -> None:
    broken_data.edit("vocabulary.yaml", lambda data: data["hedges"].insert(0, "so that"))
    fails_with(
        broken_data,
        "data/vocabulary.yaml: hedges[0]: 'so that' has only filler words "
        "(vocabulary.yaml, fillers), so it would never match",
    )


def test_a_wildcard_outside_a_command_is_rejected(broken_data: Any) -> None:
    broken_data.edit("vocabulary.yaml", lambda data: data["replies"]["yes"].insert(0, "yes *"))
    fails_with(
        broken_data, "data/vocabulary.yaml: replies.yes[0]: 'yes *': '*' works only in commands"
    )


def test_a_command_starting_with_a_wildcard_is_rejected(broken_data: Any) -> None:
    broken_data.edit("vocabulary.yaml", lambda data: data["commands"]["why"].insert(0, "* mean"))
    fails_with(
        broken_data,
        "data/vocabulary.yaml: commands.why[0]: '* mean': one '*' at most, after a word",
    )


def test_an_unquoted_no_as_a_rewrite_asks_for_quotes(broken_data: Any) -> None:
    broken_data.replace("vocabulary.yaml", 'not that i know of: "no"', "not that i know of: no")
    fails_with(
        broken_data,
        "data/vocabulary.yaml: rewrites.not that i know of: "
        "expected text, got true/false (put yes, no, on and off in quotes)",
    )


def test_a_question_without_a_hint_is_reported_missing(broken_data: Any) -> None:
    broken_data.edit("questions.yaml", lambda data: data["questions"][2].pop("hint"))
    fails_with(broken_data, "data/questions.yaml: questions[2].hint: missing")


def test_an_unknown_reply_of_an_option_lists_the_known_ones(broken_data: Any) -> None:
    broken_data.replace("questions.yaml", "        reply: not_sure", "        reply: dunno")
    fails_with(
        broken_data,
        "data/questions.yaml: questions[0].options[4].reply: "
        "unknown reply 'dunno' (known: yes, no, not_sure)",
    )


def test_a_question_no_not_sure_reply_can_pick_is_rejected(broken_data: Any) -> None:
    broken_data.replace("questions.yaml", "        reply: not_sure", '        reply: "no"')
    fails_with(
        broken_data,
        "data/questions.yaml: questions[0].options: no option has reply: not_sure, "
        "so “dunno” would pick nothing; give it to the neutral option",
    )


def test_combining_an_unknown_option_lists_the_others(broken_data: Any) -> None:
    broken_data.replace(
        "questions.yaml", "combines: [python, javascript]", "combines: [python, rust]"
    )
    fails_with(
        broken_data,
        "data/questions.yaml: questions[0].options[2].combines[1]: 'rust' is not another option "
        "of question 'team' (known: python, javascript, neither, not_sure)",
    )


def test_a_synonym_of_filler_words_only_is_rejected(broken_data: Any) -> None:
    broken_data.replace("questions.yaml", "synonyms: [py,", "synonyms: [the, py,")
    fails_with(
        broken_data,
        "data/questions.yaml: questions[0].options[0].synonyms[0]: 'the' has only filler words "
        "(vocabulary.yaml, fillers), so it would never match",
    )


def test_a_negated_word_without_letters_is_rejected(broken_data: Any) -> None:
    broken_data.replace(
        "questions.yaml", "if_negated: [developer,", "if_negated: ['...', developer,"
    )
    fails_with(
        broken_data,
        "data/questions.yaml: questions[0].options[3].if_negated[0]: '...' has no words",
    )


def test_beyond_article_must_be_true_or_false(broken_data: Any) -> None:
    broken_data.replace("questions.yaml", "beyond_article: true", "beyond_article: maybe")
    fails_with(
        broken_data,
        "data/questions.yaml: questions[0].options[0].beyond_article: "
        "expected true or false, got text",
    )


def test_an_answer_with_a_because_needs_its_third_person_version(broken_data: Any) -> None:
    broken_data.replace("questions.yaml", "\n        because_they: their team knows Python", "")
    fails_with(broken_data, "data/questions.yaml: questions[0].options[0].because_they: missing")


def test_a_why_that_hides_points_beyond_the_article_is_refused(broken_data: Any) -> None:
    broken_data.replace(
        "questions.yaml", "Beyond the article: I\n      count a tight deadline", "I count a tight"
    )
    fails_with(
        broken_data,
        "data/questions.yaml: questions[9].why: its answers give points beyond the article, so "
        "its why must say so with the mark “Beyond the article” (texts.yaml, "
        "result.beyond_article)",
    )


def test_between_naming_one_option_says_it_needs_two(broken_data: Any) -> None:
    broken_data.replace("questions.yaml", "between: [small, large]", "between: [small]")
    with pytest.raises(DataError) as raised:
        broken_data.load()
    assert "1 options: between names 2, for now and later" in str(raised.value)
    assert "questions.yaml" in str(raised.value) and "between" in str(raised.value)


def test_between_naming_an_unknown_option_names_it_and_the_question(broken_data: Any) -> None:
    broken_data.replace("questions.yaml", "between: [small, large]", "between: [small, huge]")
    with pytest.raises(DataError) as raised:
        broken_data.load()
    assert "'huge' is not another option of question 'size'" in str(raised.value)
