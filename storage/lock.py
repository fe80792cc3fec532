"""One bot process per STATE_DB: an OS lock on ``<STATE_DB>.lock``, held while the process runs.

Two processes answering from one database would each keep their own idea of a user's session,
and on one token they would also steal each other's updates. ``flock`` locks belong to the open
file, so the kernel releases them when the process ends in any way, SIGKILL included: a stale
lock file never blocks a restart. (They are advisory and local: they do not protect a database
on a network file system shared by two machines.)
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from .checks import StateDbError, check_folder


class StateLock:
    """The held lock; release it with :meth:`release` or by leaving a ``with`` block."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the file drops the lock
            self._fd = None

    def __enter__(self) -> StateLock:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def lock_path(state_db: Path) -> Path:
    """Where the lock for a database lives."""
    return state_db.with_name(state_db.name + ".lock")


def lock_state_db(state_db: Path) -> StateLock:
    """Take the lock for ``state_db``, or raise :class:`StateDbError` if another process has it."""
    check_folder(state_db)
    path = lock_path(state_db)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise StateDbError(state_db, f"cannot open the lock file {path}: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _read_pid(fd)
        os.close(fd)
        who = f"process {holder}" if holder else "another process"
        raise StateDbError(
            state_db,
            f"already in use by another bot ({who} holds {path}); stop it first, "
            "or give each bot its own STATE_DB",
        ) from None
    except OSError as exc:
        os.close(fd)
        raise StateDbError(state_db, f"cannot lock {path}: {exc.strerror}") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return StateLock(path, fd)


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
