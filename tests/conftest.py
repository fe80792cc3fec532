"""Shared builders for the advisor and dialog tests."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import strategies as st

import bot
from advisor import Knowledge
from advisor.loading import DEFAULT_DATA_DIR
from dialogs.engine import DialogEngine
from tests.postgres import postgres, skipped_because
from tests.storage_backends import backend, clock, store, where

# The fixtures: a real PostgreSQL schema per test (tests/postgres.py); a fresh store of each
# backend on a clock moved by hand (tests/storage_backends.py).
__all__ = ["backend", "clock", "postgres", "store", "where"]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say in one line why the PostgreSQL tests were skipped, and how to run them."""
    for reason in skipped_because:
        terminalreporter.write_line(f"PostgreSQL tests skipped: {reason}")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository, the working folder for running ``bot.py``."""
    return Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def knowledge() -> Knowledge:
    """The real data, with every text the front ends need."""
    return bot.load(None)


@pytest.fixture
def engine(knowledge: Knowledge) -> DialogEngine:
    return DialogEngine(knowledge)


class DataCopy:
    """A copy of ``data/`` in a temporary folder that a test may break one file at a time."""

    def __init__(self, root: Path) -> None:
        self.dir = root / "data"
        shutil.copytree(DEFAULT_DATA_DIR, self.dir)

    def path(self, name: str) -> Path:
        return self.dir / name

    def text(self, name: str) -> str:
        return self.path(name).read_text(encoding="utf-8")

    def replace(self, name: str, old: str, new: str) -> None:
        """Replace the first occurrence of ``old`` (which must be there) in one file."""
        text = self.text(name)
        assert old in text, f"{old!r} not in {name}"
        self.path(name).write_text(text.replace(old, new, 1), encoding="utf-8")

    def edit(self, name: str, change: Callable[[Any], None]) -> None:
        """Load one file, let ``change`` mutate the parsed YAML, and write it back."""
        value = yaml.safe_load(self.text(name))
        change(value)
        dumped = yaml.safe_dump(value, allow_unicode=True, sort_keys=False, width=1000)
        self.path(name).write_text(dumped, encoding="utf-8")

    def load(self) -> Knowledge:
        return bot.load(self.dir)


@pytest.fixture
def broken_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DataCopy:
    """A copy of the data; the working folder is its parent, so errors say ``data/…``."""
    copy = DataCopy(tmp_path)
    monkeypatch.chdir(tmp_path)
    return copy


@pytest.fixture(scope="session")
def article_order() -> tuple[str, ...]:
    """The six criteria, in the order the article compares them."""
    return ("Community", "Scalability", "Architecture", "Security", "Usability", "Performance")


@pytest.fixture(scope="session")
def any_answers(knowledge: Knowledge) -> st.SearchStrategy[dict[str, str]]:
    """Any answers: each question (conditional ones too) unanswered or one of its options."""
    return st.fixed_dictionaries(
        {},
        optional={q.id: st.sampled_from([o.id for o in q.options]) for q in knowledge.questions},
    )


@pytest.fixture(scope="session")
def complete(knowledge: Knowledge) -> Callable[..., dict[str, str]]:
    """A builder: these answers, every other question answered with its neutral option."""

    def build(**answers: str) -> dict[str, str]:
        full = {}
        for question in knowledge.questions:
            neutral = next(o.id for o in question.options if o.is_neutral)
            full[question.id] = answers.pop(question.id, neutral)
        assert not answers, f"unknown questions: {answers}"
        return full

    return build
