"""DATABASE_URL and DATABASE_SCHEMA: PostgreSQL when set, SQLite as before when not."""

from __future__ import annotations

from pathlib import Path

import pytest

from advisor import Knowledge
from settings import SettingsError, load_settings, redact_url
from storage.configured import configured_store
from storage.postgres import PostgresStore
from storage.sqlite import SqliteStore

PASSWORD = "pa55-w0rd"


def test_without_database_url_sqlite_at_state_db_stays_the_default(knowledge: Knowledge) -> None:
    settings = load_settings({"STATE_DB": "state/here.sqlite3"})
    assert (settings.database_url, settings.database_schema) == (None, None)
    store = configured_store(settings, knowledge)
    assert isinstance(store, SqliteStore) and store.path == str(Path("state/here.sqlite3"))


@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "PostgreSQL"])
def test_a_postgresql_url_selects_postgresql_with_its_schema(
    scheme: str, knowledge: Knowledge
) -> None:
    url = f"{scheme}://bot:{PASSWORD}@db.internal:5432/advisor?sslmode=require"
    settings = load_settings({"DATABASE_URL": url, "DATABASE_SCHEMA": "advisor_prod"})
    assert (settings.database_url, settings.database_schema) == (url, "advisor_prod")
    store = configured_store(settings, knowledge)
    assert isinstance(store, PostgresStore)
    assert store.location == (
        f"{scheme}://bot:***@db.internal:5432/advisor?sslmode=require (schema advisor_prod)"
    )
    assert PASSWORD not in repr(settings)


BAD = [
    ({"DATABASE_URL": f"mysql://bot:{PASSWORD}@h/db"}, r"^DATABASE_URL: must be a PostgreSQL URL"),
    ({"DATABASE_URL": "sqlite:///state/bot.sqlite3"}, r"leave DATABASE_URL empty and set STATE_DB"),
    ({"DATABASE_URL": "db.internal:5432"}, r"^DATABASE_URL: must be a PostgreSQL URL"),
    ({"DATABASE_URL": f"postgresql://u:{PASSWORD}@h:99999/db"}, r"^DATABASE_URL: is not a valid"),
    ({"DATABASE_URL": f"postgresql://u:{PASSWORD}@h:port/db"}, r"^DATABASE_URL: is not a valid"),
    ({"DATABASE_URL": f"postgresql://u:{PASSWORD}@h/d b"}, r"^DATABASE_URL: must not contain"),
    ({"DATABASE_URL": f"postgresql://u:{PASSWORD}@h/db#x"}, r"^DATABASE_URL: must not have a #"),
    ({"DATABASE_SCHEMA": "advisor"}, r"^DATABASE_SCHEMA: needs DATABASE_URL"),
    (
        {"DATABASE_URL": "postgresql://h/db", "DATABASE_SCHEMA": "Advisor-Prod"},
        r"^DATABASE_SCHEMA: must be 1-63 lower-case letters, digits and _",
    ),
    (
        {"DATABASE_URL": "postgresql://h/db", "DATABASE_SCHEMA": "x; DROP TABLE sessions"},
        r"^DATABASE_SCHEMA: must be",
    ),
]


@pytest.mark.parametrize(("environ", "message"), BAD)
def test_a_bad_database_setting_is_one_line_naming_it_without_the_password(
    environ: dict[str, str], message: str
) -> None:
    with pytest.raises(SettingsError, match=message) as caught:
        load_settings(environ)
    assert PASSWORD not in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://bot:secret@h:5432/db", "postgresql://bot:***@h:5432/db"),
        ("postgresql://bot@h/db", "postgresql://bot@h/db"),
        ("postgresql://bot:se/cr@et@h/db?x=1", "postgresql://bot:***@h/db?x=1"),
        (
            "postgresql://h/db?user=bot&password=secret&x=1",
            "postgresql://h/db?user=bot&password=***&x=1",
        ),
        ("postgresql:///db?host=/run/postgresql", "postgresql:///db?host=/run/postgresql"),
    ],
)
def test_a_database_url_is_shown_without_its_password(url: str, shown: str) -> None:
    assert redact_url(url) == shown
