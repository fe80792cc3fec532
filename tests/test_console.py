"""The console chat, run as a user would run it: ``python bot.py`` with piped input."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

GOODBYE = "Goodbye! Run me again any time."
CRITERIA = ("Community", "Scalability", "Architecture", "Security", "Usability", "Performance")


def chat(repo_root: Path, *lines: str, args: tuple[str, ...] = ("--console",)) -> str:
    """Run the bot with these lines as input; return its output (it must exit cleanly)."""
    environ = {k: v for k, v in os.environ.items() if k != "BOT_TOKEN"}
    done = subprocess.run(
        [sys.executable, "bot.py", *args],
        cwd=repo_root,
        input="".join(f"{line}\n" for line in lines),
        capture_output=True,
        text=True,
        env=environ,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


def screens(output: str) -> list[str]:
    """The output split at each prompt, one screen per answer typed."""
    return output.split("\n> ")


def test_a_complete_run_ends_with_a_recommendation_and_details_shows_all_six_criteria(
    repo_root: Path,
) -> None:
    answers = ("1", "payments", "large", "1", "3", "heavy", "2", "1", "1")
    output = chat(repo_root, *answers, "details", "quit")
    first = screens(output)[0]
    assert "Question 1 of 9" in first
    assert "1. Python\n2. JavaScript\n3. Both\n" in first
    result, details = screens(output)[len(answers)], screens(output)[len(answers) + 1]
    assert "\nRecommendation: Django\n" in result
    for number, title in enumerate(CRITERIA, start=1):
        assert f"\n{number}. {title} (" in details
    assert details.count("The article: “") == len(CRITERIA)
    assert "\n7. Beyond the article: my own rules\n" in details
    assert "• Team's language, beyond the article: +3 for Django" in details
    assert output.rstrip().endswith(GOODBYE)


def test_back_and_restart_mid_way_go_where_the_user_expects(repo_root: Path) -> None:
    output = chat(repo_root, "python", "payments", "back", "restart", "js")
    after_back, after_restart, after_js = screens(output)[3:6]
    assert "Question 2 of 9" in after_back
    assert "1. Yes, payments or money (your answer)" in after_back
    assert "Let's start over." in after_restart
    assert "Question 1 of 9" in after_restart and "(your answer)" not in after_restart
    assert "Question 2 of 9" in after_js


def test_why_explains_the_question_and_asks_it_again(repo_root: Path) -> None:
    output = chat(repo_root, "why")
    after_why = screens(output)[1]
    assert "Why we ask: Django is built on Python. Node.js runs JavaScript." in after_why
    assert "Question 1 of 9" in after_why


def test_input_ending_mid_dialog_says_goodbye_without_a_traceback(repo_root: Path) -> None:
    output = chat(repo_root, "1", "2")
    assert "Question 3 of 9" in output
    assert output.rstrip().endswith(GOODBYE)


def test_without_a_bot_token_the_bot_starts_the_console_with_a_hint(
    repo_root: Path, tmp_path: Path
) -> None:
    output = chat(repo_root, args=("--env-file", str(tmp_path / "no-such-file.env")))
    hint = output.splitlines()[0]
    assert hint.startswith("No BOT_TOKEN configured, so this is the console chat.")
    assert "BOT_TOKEN=" in hint
    assert "Question 1 of 9" in output
    assert output.rstrip().endswith(GOODBYE)


FINTECH = ("1", "payments", "large", "1", "3", "heavy", "2", "1", "1")


def test_the_result_fits_one_screen_and_keeps_its_recommendation_line(repo_root: Path) -> None:
    chat_app = ("js", "no", "small", "2", "1", "1", "3", "1", "not sure")
    for answers in (FINTECH, ("not sure",) * 9, chat_app):
        output = chat(repo_root, *answers, "not sure", "quit")
        result = next(s for s in screens(output) if "Recommendation: " in s)
        shown = result.split("\n")[1:]  # the typed answer echoed on the prompt line
        assert len(shown) <= 25, result
        assert any(
            line in shown
            for line in (
                "Recommendation: Django",
                "Recommendation: Node.js",
                "Recommendation: Either",
            )
        ), result
        assert "• Security (safe from attacks): " in result, "the article's names, glossed"


def test_details_with_a_number_or_a_name_shows_one_criterion_with_its_quote(
    repo_root: Path,
) -> None:
    output = chat(repo_root, *FINTECH, "details 4", "details performance", "details pizza")
    by_number, by_name, unknown = screens(output)[len(FINTECH) + 1 : len(FINTECH) + 4]
    assert "\n4. Security (" in by_number and by_number.count("The article: “") == 1
    assert "\n6. Performance (" in by_name and by_name.count("The article: “") == 1
    assert "couldn't find that criterion" in unknown and unknown.count("The article: “") == 6


def test_report_answers_and_what_if_work_in_the_console(repo_root: Path) -> None:
    output = chat(repo_root, *FINTECH, "report", "answers", "change 1", "2", "keep", "answers")
    report, answers, revising, preview, kept, after = screens(output)[len(FINTECH) + 1 :][:6]
    for title in CRITERIA:
        assert title in report
    assert "1. Team's language: Python" in answers
    assert "What if you answered differently?" in revising
    assert "1. Python (your answer)" in revising
    assert "If you answered “JavaScript” to “Team's language”:" in preview
    assert "Changed “Team's language” to “JavaScript”." in kept
    assert "Recommendation: " in kept
    assert "1. Team's language: JavaScript" in after


def summary_of(screen: str) -> str:
    """The result's summary on a screen: from the recommendation to the hint under it."""
    start = screen.index("Recommendation: ")
    return screen[start : screen.index("\nMore: ", start)]


def test_the_result_is_the_same_screen_every_time_it_is_shown(repo_root: Path) -> None:
    output = chat(repo_root, *FINTECH, "change 2", "back", "change 3", "back", "quit")
    first, _revising, again, _revising_too, once_more = screens(output)[
        len(FINTECH) : len(FINTECH) + 5
    ]
    assert "Got it: Very tight." in first, "the first time, with a line said before it"
    assert summary_of(again) == summary_of(first)
    assert summary_of(once_more) == summary_of(first)


def test_why_on_the_result_explains_the_result_and_help_lists_the_results_commands(
    repo_root: Path,
) -> None:
    output = chat(repo_root, *FINTECH, "why", "help", "quit")
    why, help_ = screens(output)[len(FINTECH) + 1 : len(FINTECH) + 3]
    assert "Why Django?" in why and "reached your result" not in why
    assert "Points: Django " in why
    assert "• Security: +4, because you handle payments" in why
    assert re.search(r"\nSecurity +\.+\|#+\.+  Django \+4\n", why), "the chart as text bars"
    assert "Beyond the article" not in why.split("For Node.js")[0] or ", beyond the article:" in why
    assert "“why” (why this result)" in help_ and "“details 4”" in help_
    assert "skip" not in help_, "no question commands on the result"


def test_back_on_a_page_of_the_result_goes_back_to_the_result(repo_root: Path) -> None:
    output = chat(repo_root, *FINTECH, "answers", "back", "details 2", "back", "quit")
    first, _answers, back_once, _details, back_twice = screens(output)[
        len(FINTECH) : len(FINTECH) + 5
    ]
    assert summary_of(back_once) == summary_of(first)
    assert summary_of(back_twice) == summary_of(first)
    assert "Question 9 of 9" not in back_once + back_twice
