"""The store the settings choose: PostgreSQL when DATABASE_URL is set, else SQLite at STATE_DB.

``configured_store`` makes it (not yet connected: the front end opens it on its event loop),
``guarded`` surrounds a run with what the backend needs first (SQLite: STATE_DB checked and
locked to this process; PostgreSQL, shared by instances: nothing), and ``migrate`` is
``python bot.py --migrate``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from advisor import Knowledge
from settings import Settings

from .base import OpenableStore
from .checks import check_state_db
from .lock import lock_state_db
from .sqlite import SqliteStore


def configured_store(settings: Settings, knowledge: Knowledge) -> OpenableStore:
    """The backend the settings name, to be opened with ``await store.open()``."""
    if settings.database_url is not None:
        from .postgres import PostgresStore  # asyncpg is imported only when it is used

        return PostgresStore(
            settings.database_url,
            knowledge,
            schema=settings.database_schema,
            statement_seconds=settings.database_timeout,
        )
    return SqliteStore(settings.state_db, knowledge)


def backend_name(settings: Settings) -> str:
    return "PostgreSQL" if settings.database_url is not None else "SQLite"


@contextmanager
def guarded(settings: Settings) -> Iterator[None]:
    """Hold what must hold while the bot uses the store; raise StorageError naming the cause.

    SQLite: STATE_DB is checked (StateDbError, one line) and locked to this process, since a
    second process on the same file would keep its own idea of each session. PostgreSQL is
    made for several instances: each turn locks its user inside the database instead.
    """
    if settings.database_url is not None:
        yield
        return
    with lock_state_db(settings.state_db):
        check_state_db(settings.state_db)
        yield


async def migrate(settings: Settings, knowledge: Knowledge) -> str:
    """Apply the schema changes the configured database lacks; return one line saying so."""
    store = configured_store(settings, knowledge)
    with guarded(settings):
        try:
            await store.open()
        finally:
            await store.close()
    found, now = store.migrated_from, store.schema_version
    done = f"upgraded from version {found}" if found < now else "already up to date"
    return f"{backend_name(settings)} schema at version {now} ({done}): {store.location}"
