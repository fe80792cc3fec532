"""End to end: a STATE_DB the bot cannot use stops `python bot.py` with one line and code 2."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from fake_telegram import FakeTelegram
from storage.sqlite import MIGRATIONS
from tests.e2e.conftest import TOKEN
from tests.e2e.test_process import ROOT, BotProcess


async def refused(fake: FakeTelegram, tmp_path: Path, state_db: Path) -> str:
    """Start the bot on ``state_db``; assert it exits 2 with one line; return that line."""
    process = BotProcess(fake, tmp_path, STATE_DB=str(state_db), LOG_LEVEL="INFO")
    await process.start()
    assert process.proc is not None
    try:
        _, err = await asyncio.wait_for(process.proc.communicate(), 30)
    except TimeoutError:
        await process.stop()
        raise AssertionError(f"the bot started on {state_db}") from None
    lines = err.decode().strip().splitlines()
    assert process.proc.returncode == 2, "\n".join(lines)
    assert len(lines) == 1, "\n".join(lines)
    assert f"ERROR frontends.telegram.run: STATE_DB: {state_db}: " in lines[0]
    assert fake.calls_to("getMe") == [], "it stopped before talking to Telegram"
    return lines[0].split(f"STATE_DB: {state_db}: ", 1)[1]


def database_with_sessions(path: Path, count: int = 300) -> None:
    with sqlite3.connect(path, isolation_level=None) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript(MIGRATIONS[0])  # the first schema: the bot upgrades it on start
        for i in range(count):
            row = (i, i, '{"s": "welcome"}' + " " * 100, None, "Ann", 0, 0)
            db.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, ?, ?, ?)", row)
    db.close()  # the last connection checkpoints the WAL into the file


def damage_page(path: Path, table: str) -> None:
    """Overwrite the header of the page where ``table``'s rows start."""
    with sqlite3.connect(path) as db:
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()
    db.close()
    with path.open("r+b") as file:
        file.seek((root[0] - 1) * page_size)
        file.write(b"\xff" * 64)


async def test_a_file_that_is_not_a_database_is_refused(fake: FakeTelegram, tmp_path: Path) -> None:
    state_db = tmp_path / "notes.txt"
    state_db.write_text("these are my notes, not a database\n" * 100)
    assert "not an SQLite database" in await refused(fake, tmp_path, state_db)


async def test_a_folder_as_the_path_is_refused(fake: FakeTelegram, tmp_path: Path) -> None:
    state_db = tmp_path / "state"
    state_db.mkdir()
    assert "this is a folder" in await refused(fake, tmp_path, state_db)


async def test_a_path_under_a_regular_file_is_refused(fake: FakeTelegram, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    state_db = tmp_path / "file" / "state" / "bot.sqlite3"
    assert f"{tmp_path / 'file'} is a file, not a folder" in await refused(fake, tmp_path, state_db)


async def test_a_database_with_damaged_pages_is_refused_at_start_up(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    state_db = tmp_path / "state.sqlite3"
    database_with_sessions(state_db)
    damage_page(state_db, "sessions")
    problem = await refused(fake, tmp_path, state_db)
    assert problem.startswith("the database is damaged (")
    assert "README" in problem


READ_ONLY_MOUNT = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"'


def in_read_only_folder(folder: Path, command: list[str]) -> list[str]:
    """``command``, run so that ``folder`` is read-only for it (even when the tests run as root).

    As root, permissions do not stop writes; a read-only bind mount in a private mount
    namespace does (and nobody else sees it).
    """
    if os.geteuid() != 0:
        folder.chmod(0o555)
        return command
    wrapped = ["unshare", "--mount", "sh", "-c", READ_ONLY_MOUNT, str(folder), *command]
    probe = [*wrapped[: -len(command)], "true"]
    if shutil.which("unshare") is None or subprocess.run(probe, check=False).returncode != 0:
        pytest.skip("running as root without a way to make a folder read-only (unshare, mount)")
    return wrapped


async def test_a_read_only_folder_is_refused(fake: FakeTelegram, tmp_path: Path) -> None:
    folder = tmp_path / "state"
    folder.mkdir()
    state_db = folder / "bot.sqlite3"
    command = [sys.executable, "bot.py", "--env-file", str(tmp_path / "none")]
    environ = {
        "PATH": os.environ.get("PATH", ""),
        "PTB_TIMEDELTA": "1",
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": fake.root_url,
        "STATE_DB": str(state_db),
    }
    try:
        proc = await asyncio.create_subprocess_exec(
            *in_read_only_folder(folder, command),
            cwd=ROOT,
            env=environ,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        folder.chmod(0o755)
    lines = err.decode().strip().splitlines()
    assert proc.returncode == 2, "\n".join(lines)
    assert len(lines) == 1, "\n".join(lines)
    assert f"STATE_DB: {state_db}: the folder {folder} is not writable" in lines[0]
