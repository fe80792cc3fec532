"""`python bot.py --migrate`: applies the schema changes of the configured store and exits."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from storage import postgres as pg
from storage import sqlite as lite
from storage.lock import lock_state_db
from tests.postgres import Postgres

ROOT = Path(__file__).resolve().parent.parent


def migrate(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``python bot.py --migrate`` with only these variables (and no .env file)."""
    return subprocess.run(
        [sys.executable, "bot.py", "--migrate", "--env-file", str(tmp_path / "no.env")],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def old_state_db(path: Path) -> None:
    """An SQLite file with the first schema and one session, as a bot from before wrote it."""
    db = sqlite3.connect(path)
    db.executescript(lite.MIGRATIONS[0])
    db.execute(
        "INSERT INTO sessions (chat_id, user_id, data, message_id, first_name, last_update, "
        'updated_at) VALUES (1, 1, \'{"v": 1, "s": "welcome"}\', NULL, \'Ann\', 3, 0)'
    )
    db.commit()
    db.close()


def test_migrate_upgrades_an_sqlite_file_and_says_which_version_it_is_at(tmp_path: Path) -> None:
    state_db = tmp_path / "state.sqlite3"
    old_state_db(state_db)
    first = migrate(tmp_path, STATE_DB=str(state_db))
    assert (first.returncode, first.stderr) == (0, "")
    version = len(lite.MIGRATIONS)
    assert first.stdout == (
        f"SQLite schema at version {version} (upgraded from version 0): {state_db}\n"
    )
    again = migrate(tmp_path, STATE_DB=str(state_db))
    assert again.stdout == f"SQLite schema at version {version} (already up to date): {state_db}\n"
    with sqlite3.connect(state_db) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == version
        assert db.execute("SELECT first_name, state FROM sessions").fetchall() == [
            ("Ann", "welcome")
        ]
    db.close()


def test_migrate_refuses_an_sqlite_file_a_running_bot_holds(tmp_path: Path) -> None:
    state_db = tmp_path / "state.sqlite3"
    with lock_state_db(state_db):
        result = migrate(tmp_path, STATE_DB=str(state_db))
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith(f"error: STATE_DB: {state_db}: already in use by another bot")
    assert len(result.stderr.splitlines()) == 1


def test_migrate_brings_a_postgresql_schema_to_the_latest_version_once(
    tmp_path: Path, postgres: Postgres
) -> None:
    first = migrate(tmp_path, **postgres.environment())
    assert (first.returncode, first.stderr) == (0, "")
    version = len(pg.MIGRATIONS)
    where = f"{postgres.url} (schema {postgres.schema})"
    said = f"PostgreSQL schema at version {version}"
    assert first.stdout == f"{said} (upgraded from version 0): {where}\n"
    again = migrate(tmp_path, **postgres.environment())
    assert again.stdout == f"{said} (already up to date): {where}\n"

    async def applied() -> list[int]:
        connection = await postgres.connect()
        try:
            return [row[0] for row in await connection.fetch("SELECT version FROM schema_version")]
        finally:
            await connection.close()

    assert asyncio.run(applied()) == list(range(1, version + 1))


def test_migrate_without_a_reachable_server_exits_1_with_one_line_and_no_password(
    tmp_path: Path,
) -> None:
    result = migrate(tmp_path, DATABASE_URL="postgresql://bot:hunter2@127.0.0.1:1/advisor")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith(
        "error: DATABASE_URL: cannot reach postgresql://bot:***@127.0.0.1:1/advisor"
    )
    assert "hunter2" not in result.stderr and len(result.stderr.splitlines()) == 1


def test_migrate_with_a_bad_database_url_exits_2_naming_it(tmp_path: Path) -> None:
    result = migrate(tmp_path, DATABASE_URL="mysql://bot:hunter2@db/advisor")
    assert result.returncode == 2
    assert result.stderr.startswith("error: DATABASE_URL: must be a PostgreSQL URL")
    assert "hunter2" not in result.stderr


@pytest.mark.parametrize(
    ("state_db", "said"),
    [
        ("/dev/null", "this is not a regular file"),
        ("x" * 5000, "is 5000 bytes long"),
    ],
    ids=["a device", "too long"],
)
def test_migrate_with_an_unusable_state_db_exits_2_naming_it_in_one_line(
    tmp_path: Path, state_db: str, said: str
) -> None:
    result = migrate(tmp_path, STATE_DB=state_db)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: STATE_DB: ") and said in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1
