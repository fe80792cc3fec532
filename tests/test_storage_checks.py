"""STATE_DB checks and the one-process lock: each problem is one line naming STATE_DB."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from advisor import StackAdvisorError
from storage import checks
from storage.checks import StateDbError, check_state_db
from storage.lock import lock_path, lock_state_db


def test_a_new_database_in_a_new_folder_passes_and_is_created(tmp_path: Path) -> None:
    state_db = tmp_path / "deep" / "er" / "bot.sqlite3"
    check_state_db(state_db)
    assert state_db.is_file()


def test_an_existing_healthy_database_passes(tmp_path: Path) -> None:
    state_db = tmp_path / "bot.sqlite3"
    with sqlite3.connect(state_db) as db:
        db.execute("CREATE TABLE t (x)")
    db.close()
    check_state_db(state_db)


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda p: p.mkdir(), r"this is a folder; STATE_DB must name a file in it$"),
        (lambda p: p.write_bytes(b"\x00garbage" * 512), r"this file is not an SQLite database"),
    ],
)
def test_a_path_that_cannot_be_a_database_is_one_line_naming_state_db(
    tmp_path: Path, make: object, problem: str
) -> None:
    state_db = tmp_path / "bot.sqlite3"
    make(state_db)  # type: ignore[operator]
    with pytest.raises(StateDbError, match=rf"^STATE_DB: {state_db}: {problem}") as caught:
        check_state_db(state_db)
    assert isinstance(caught.value, StackAdvisorError)
    assert "\n" not in str(caught.value)


def test_a_path_under_a_file_names_that_file(tmp_path: Path) -> None:
    (tmp_path / "notes").write_text("x")
    state_db = tmp_path / "notes" / "sub" / "bot.sqlite3"
    with pytest.raises(StateDbError, match=f"{tmp_path / 'notes'} is a file, not a folder$"):
        check_state_db(state_db)


def test_a_database_another_program_holds_the_write_lock_of_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(checks, "BUSY_SECONDS", 0.1)
    state_db = tmp_path / "bot.sqlite3"
    check_state_db(state_db)
    other = sqlite3.connect(state_db, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StateDbError, match="another program holds the database's write lock"):
            check_state_db(state_db)
    finally:
        other.close()


def test_the_lock_refuses_a_second_holder_and_names_the_first(tmp_path: Path) -> None:
    state_db = tmp_path / "bot.sqlite3"
    with lock_state_db(state_db):
        assert lock_path(state_db).read_text().strip() == str(os.getpid())
        with pytest.raises(
            StateDbError, match=rf"already in use by another bot \(process {os.getpid()}"
        ):
            lock_state_db(state_db)
    with lock_state_db(state_db):  # released: it can be taken again
        pass


def test_the_lock_lives_next_to_the_database(tmp_path: Path) -> None:
    assert lock_path(tmp_path / "bot.sqlite3") == tmp_path / "bot.sqlite3.lock"
