"""The console chat, run as a user would run it: ``python bot.py`` with piped input."""

from __future__ import annotations

import os
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


def test_a_complete_run_ends_with_a_recommendation_and_all_six_criteria(
    repo_root: Path,
) -> None:
    output = chat(repo_root, "1", "payments", "large", "1", "3", "heavy", "2", "1", "1", "quit")
    first = screens(output)[0]
    assert "Question 1 of 9" in first
    assert "1. Python\n2. JavaScript\n3. Both\n" in first
    assert "\nRecommendation: Django\n" in output
    for number, title in enumerate(CRITERIA, start=1):
        assert f"\n{number}. {title}\n" in output
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
    assert "Why we ask: Building on what your team already knows" in after_why
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
