"""Start-up checks of STATE_DB: one clear line about what is wrong, instead of a traceback later.

The checks look at the path (a folder? under a file? writable?), then open the database and run
SQLite's ``quick_check`` (a fast integrity check of every page, without the index-content
cross-check of ``integrity_check``) and try to take the write lock, which is what the bot does
on its first answer.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

from .base import StorageError

#: How long to wait for another program's write lock during the check, in seconds.
BUSY_SECONDS = 5.0
#: What to do about a damaged database; the README explains it step by step.
RECOVER_HINT = "move it aside and restore a backup, or recover it (see README, 'Storage')"


class StateDbError(StorageError):
    """STATE_DB cannot be used; the message is one line naming STATE_DB and the cause."""

    def __init__(self, path: Path, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"STATE_DB: {path}: {problem}")


def check_state_db(path: Path) -> None:
    """Raise :class:`StateDbError` unless the bot can read and write the database at ``path``."""
    check_folder(path)
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        raise StateDbError(path, "this user may not read and write the file (check its owner)")
    try:
        db = sqlite3.connect(str(path), timeout=BUSY_SECONDS, isolation_level=None)
    except sqlite3.Error as exc:
        raise StateDbError(path, f"cannot open it: {exc}") from None
    try:
        _check_pages(db, path)
        _check_writable(db, path)
    finally:
        db.close()


def check_folder(path: Path) -> None:
    """Make sure the folder of ``path`` exists (creating it) and can hold the database."""
    try:
        if path.is_dir():
            raise StateDbError(path, "this is a folder; STATE_DB must name a file in it")
        if path.exists() and not path.is_file():
            raise StateDbError(
                path,
                "this is not a regular file (a device, a pipe or a socket); STATE_DB must name "
                "a database file",
            )
    except OSError as exc:
        raise StateDbError(path, f"cannot be used: {_reason(exc)}") from None
    for ancestor in path.parents:
        if ancestor.exists():
            if not ancestor.is_dir():
                raise StateDbError(path, f"{ancestor} is a file, not a folder")
            break
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StateDbError(path, f"cannot create the folder {folder}: {_reason(exc)}") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise StateDbError(
            path,
            f"the folder {folder} is not writable by this user "
            "(SQLite keeps its -wal and -shm files next to the database)",
        )


def _check_pages(db: sqlite3.Connection, path: Path) -> None:
    try:
        rows = db.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as exc:
        raise StateDbError(path, _damage(str(exc))) from None
    problems = [
        line
        for (text,) in rows
        for line in str(text).splitlines()
        if line != "ok" and not line.startswith("***")
    ]
    if problems:
        more = f" and {len(problems) - 1} more problems" if len(problems) > 1 else ""
        raise StateDbError(path, f"the database is damaged ({problems[0]}{more}); {RECOVER_HINT}")


def _check_writable(db: sqlite3.Connection, path: Path) -> None:
    """Take the write lock and let it go again, changing nothing."""
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("BEGIN IMMEDIATE")
        db.execute("ROLLBACK")
    except sqlite3.OperationalError as exc:
        message = str(exc)
        if "locked" in message or "busy" in message:
            problem = f"another program holds the database's write lock ({message})"
        else:
            problem = f"cannot write to it ({message})"
        raise StateDbError(path, problem) from None
    except sqlite3.DatabaseError as exc:
        raise StateDbError(path, _damage(str(exc))) from None


def _damage(message: str) -> str:
    if message == "file is not a database":
        return f"this file is not an SQLite database ({message}); point STATE_DB elsewhere"
    return f"the database is damaged ({message}); {RECOVER_HINT}"


def _reason(exc: OSError) -> str:
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.EROFS:
        return "the file system is read-only"
    return exc.strerror or str(exc)
