"""Settings from the environment and an optional .env file, validated once."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from dotenv import dotenv_values

from advisor import StackAdvisorError

DEFAULT_API_URL = "https://api.telegram.org"
TOKEN_RE = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{1,100}$")
SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
#: A host name (RFC 1123, plus "_" which container networks use), optionally fully qualified.
HOSTNAME_RE = re.compile(
    r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9_-]{1,63}(?<!-))*\.?", re.ASCII
)
#: The highest MAX_CONCURRENT_UPDATES: each running update may hold an HTTP connection, and a
#: process often may open only 1,024 files. More throughput comes from more instances.
MAX_IN_FLIGHT = 512
#: Characters a webhook path may use (the server matches the path exactly, unescaped).
WEBHOOK_PATH_RE = re.compile(r"[A-Za-z0-9._~/-]*", re.ASCII)
#: The URL schemes that select PostgreSQL (libpq accepts both).
DATABASE_SCHEMES = ("postgresql", "postgres")
#: A PostgreSQL schema name the bot creates and uses as it is (no quoting surprises).
SCHEMA_RE = re.compile(r"[a-z_][a-z0-9_]{0,62}", re.ASCII)
PASSWORD_PARAM_RE = re.compile(r"([?&]password=)[^&#]*", re.IGNORECASE)
#: The key that signs lead hook requests: printable ASCII without spaces, long enough to guess.
LEAD_SECRET_RE = re.compile(r"[!-~]{16,256}", re.ASCII)
#: Hosts a lead hook may be reached on over plain http (the contact must not cross a network
#: unencrypted).
LOOPBACK_HOSTS = ("localhost",)


class SettingsError(StackAdvisorError):
    """A configuration variable has a bad value; the message names it."""

    def __init__(self, variable: str, problem: str) -> None:
        self.variable = variable
        super().__init__(f"{variable}: {problem}")


@dataclass(frozen=True, slots=True)
class Settings:
    """Validated configuration. ``bot_token`` None means: run the console chat."""

    bot_token: str | None = None
    telegram_api_url: str = DEFAULT_API_URL
    mode: Literal["polling", "webhook"] = "polling"
    webhook_url: str | None = None
    webhook_secret: str | None = None
    listen: str = "0.0.0.0"
    port: int = 8443
    state_db: Path = Path("state/stack_advisor.sqlite3")
    #: ``postgresql://…``: keep everything in PostgreSQL (shared by several instances) instead
    #: of SQLite at ``state_db``. It may hold a password: show it only through :func:`redact_url`.
    database_url: str | None = None
    #: The PostgreSQL schema to keep the tables in (created if missing); None: the server's
    #: search_path (normally ``public``).
    database_schema: str | None = None
    #: Seconds PostgreSQL may take to answer one statement before the turn gives up (and its
    #: update is left for Telegram to send again); above the lock wait (10 s).
    database_timeout: int = 15
    session_ttl_days: int = 30
    log_level: str = "INFO"
    admin_ids: frozenset[int] = frozenset()
    sales_chat_id: int | None = None
    #: The language of the sales chat's lead summaries and of alerts no admin asked for (an
    #: admin's own commands answer in that admin's language).
    admin_language: str = "en"
    #: Where each lead is also POSTed as signed JSON (a CRM, Zapier, Make …); None: nowhere.
    #: It may hold a token: messages show its host only.
    lead_webhook_url: str | None = None
    #: The HMAC-SHA256 key that signs each lead hook request.
    lead_webhook_secret: str | None = None
    #: Admins are told once about a lead not delivered for this many minutes.
    lead_alert_minutes: int = 15
    #: Outgoing messages per second for the whole bot (Telegram's limit is about 30); 0: off.
    rate_limit: int = 30
    #: Signs share links; by default derived from the bot token.
    share_secret: str | None = None
    #: How long to keep retrying when the Bot API cannot be reached at start-up, in seconds.
    startup_retry_seconds: int = 60
    #: Updates processed at once (one user's updates always run one after another). An update
    #: holds its slot for its Bot API calls, one after another, plus its own work: at 200
    #: updates/s (one busy instance) x (2.1 calls x 50 ms round trip to Telegram + ~10 ms)
    #: that is 23 in flight; 64 covers round trips up to ~140 ms. Against a server answering
    #: in 1 ms, 4 would do (docs/performance.md, "The concurrency bound").
    max_concurrent_updates: int = 64
    #: The web pages' public address (``https://advisor.example.com``); None: no web pages in
    #: production (``bot.py --web`` still serves them on this machine). An https address also
    #: gives the Telegram result a button that opens it as a Mini App.
    web_url: str | None = None
    #: Where the web pages listen when they are not served beside the webhook.
    web_listen: str = "127.0.0.1"
    web_port: int = 8080
    #: The web pages are behind a proxy that sets X-Forwarded-For (its last address is the
    #: visitor's, for the per-address limits).
    web_trust_proxy: bool = False
    #: ``GET /metrics`` (Prometheus) on a server of its own at METRICS_LISTEN:METRICS_PORT;
    #: None: only beside /healthz on the webhook server and the web pages' server.
    metrics_port: int | None = None
    metrics_listen: str = "127.0.0.1"
    #: When set, every ``/metrics`` asks for ``Authorization: Bearer <token>``.
    metrics_token: str | None = None

    def __repr__(self) -> str:
        hidden = "***" if self.bot_token else None
        return f"Settings(bot_token={hidden!r}, mode={self.mode!r}, api={self.telegram_api_url!r})"


def read_environment(
    environ: Mapping[str, str], env_file: Path | None = Path(".env")
) -> dict[str, str]:
    """The variables of ``env_file`` (if it exists), overridden by ``environ``."""
    values: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(environ)
    return values


#: The default of every setting, written once (in :class:`Settings`).
DEFAULTS = Settings()


def _language(value: str) -> str:
    """A language code as ADMIN_LANGUAGE takes it: "es", "pt-BR" (read as "pt")."""
    base = value.strip().replace("_", "-").split("-")[0].casefold()
    if not re.fullmatch(r"[a-z]{2,3}", base):
        raise SettingsError(
            "ADMIN_LANGUAGE", f"{value!r} is not a language code (like en, es, pt or ru)"
        )
    return base


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Validate the variables into :class:`Settings`; raise :class:`SettingsError` naming one."""
    get = _Reader(environ)
    token = get.text("BOT_TOKEN")
    if token is not None and not TOKEN_RE.match(token):
        raise SettingsError(
            "BOT_TOKEN", "does not look like a token from @BotFather (digits:letters)"
        )
    api_url = (get.text("TELEGRAM_API_URL") or DEFAULTS.telegram_api_url).rstrip("/")
    _check_url("TELEGRAM_API_URL", api_url, query_allowed=False)
    given = (get.text("MODE") or DEFAULTS.mode).lower()
    if given not in ("polling", "webhook"):
        raise SettingsError("MODE", f"must be 'polling' or 'webhook', not {given!r}")
    mode: Literal["polling", "webhook"] = "webhook" if given == "webhook" else "polling"
    webhook_url = get.text("WEBHOOK_URL")
    secret = get.text("WEBHOOK_SECRET")
    if webhook_url is not None:
        _check_url("WEBHOOK_URL", webhook_url, query_allowed=True)
        if not WEBHOOK_PATH_RE.fullmatch(urlsplit(webhook_url).path):
            raise SettingsError(
                "WEBHOOK_URL", "the path may only use letters, digits and . _ ~ - / characters"
            )
    if mode == "webhook":
        if webhook_url is None:
            raise SettingsError("WEBHOOK_URL", "is required when MODE=webhook")
        if secret is None:
            raise SettingsError("WEBHOOK_SECRET", "is required when MODE=webhook")
    if secret is not None and not SECRET_RE.match(secret):
        raise SettingsError("WEBHOOK_SECRET", "must be 1-256 characters of A-Z a-z 0-9 _ -")
    database_url = get.text("DATABASE_URL")
    if database_url is not None:
        _check_database_url(database_url)
    database_schema = get.text("DATABASE_SCHEMA")
    if database_schema is not None:
        if database_url is None:
            raise SettingsError("DATABASE_SCHEMA", "needs DATABASE_URL (SQLite has no schemas)")
        if not SCHEMA_RE.fullmatch(database_schema):
            raise SettingsError(
                "DATABASE_SCHEMA",
                f"must be 1-63 lower-case letters, digits and _, not starting with a digit: "
                f"{database_schema!r}",
            )
        if database_schema.startswith("pg_") or database_schema == "information_schema":
            raise SettingsError(
                "DATABASE_SCHEMA",
                f"{database_schema!r} is one of PostgreSQL's own schemas; name a schema of your "
                "own, such as stack_advisor",
            )
    lead_webhook_url, lead_webhook_secret = _lead_webhook(get)
    web_url = get.text("WEB_URL")
    if web_url is not None:
        _check_url("WEB_URL", web_url, query_allowed=False)
        web_url = web_url.rstrip("/")
        if urlsplit(web_url).path:
            raise SettingsError("WEB_URL", f"must be the site's root, with no path: {web_url!r}")
    trust = (get.text("WEB_TRUST_PROXY") or "no").casefold()
    if trust not in ("yes", "no", "true", "false", "1", "0"):
        raise SettingsError("WEB_TRUST_PROXY", f"must be yes or no, not {trust!r}")
    metrics_port, metrics_token = _metrics(get, mode, web_url)
    level = (get.text("LOG_LEVEL") or DEFAULTS.log_level).upper()
    if level not in LOG_LEVELS:
        raise SettingsError("LOG_LEVEL", f"must be one of {', '.join(LOG_LEVELS)}, not {level!r}")
    return Settings(
        bot_token=token,
        telegram_api_url=api_url,
        mode=mode,
        webhook_url=webhook_url,
        webhook_secret=secret,
        listen=_listen_address(get.text("LISTEN") or DEFAULTS.listen),
        port=get.integer("PORT", DEFAULTS.port, low=1, high=65535),
        state_db=_state_db(get.text("STATE_DB") or str(DEFAULTS.state_db)),
        database_url=database_url,
        database_schema=database_schema,
        database_timeout=get.integer(
            "DATABASE_TIMEOUT", DEFAULTS.database_timeout, low=1, high=600
        ),
        session_ttl_days=get.integer(
            "SESSION_TTL_DAYS", DEFAULTS.session_ttl_days, low=1, high=3650
        ),
        log_level=level,
        admin_ids=get.id_list("ADMIN_IDS"),
        sales_chat_id=get.optional_integer("SALES_CHAT_ID"),
        admin_language=_language(get.text("ADMIN_LANGUAGE") or DEFAULTS.admin_language),
        lead_webhook_url=lead_webhook_url,
        lead_webhook_secret=lead_webhook_secret,
        lead_alert_minutes=get.integer(
            "LEAD_ALERT_MINUTES", DEFAULTS.lead_alert_minutes, low=1, high=10_080
        ),
        rate_limit=get.integer("RATE_LIMIT", DEFAULTS.rate_limit, low=0, high=10_000),
        share_secret=get.text("SHARE_SECRET"),
        startup_retry_seconds=get.integer(
            "STARTUP_RETRY_SECONDS", DEFAULTS.startup_retry_seconds, low=0, high=86_400
        ),
        max_concurrent_updates=get.integer(
            "MAX_CONCURRENT_UPDATES", DEFAULTS.max_concurrent_updates, low=1, high=MAX_IN_FLIGHT
        ),
        web_url=web_url,
        web_listen=_listen_address(get.text("WEB_LISTEN") or DEFAULTS.web_listen, "WEB_LISTEN"),
        web_port=get.integer("WEB_PORT", DEFAULTS.web_port, low=1, high=65535),
        web_trust_proxy=trust in ("yes", "true", "1"),
        metrics_port=metrics_port,
        metrics_listen=_listen_address(
            get.text("METRICS_LISTEN") or DEFAULTS.metrics_listen, "METRICS_LISTEN"
        ),
        metrics_token=metrics_token,
    )


def _metrics(get: _Reader, mode: str, web_url: str | None) -> tuple[int | None, str | None]:
    """METRICS_PORT (not a port the bot already serves /metrics on) and METRICS_TOKEN."""
    port = get.optional_integer("METRICS_PORT")
    if port is not None:
        if not 1 <= port <= 65535:
            raise SettingsError("METRICS_PORT", f"must be between 1 and 65535, not {port}")
        webhook_port = get.integer("PORT", DEFAULTS.port, low=1, high=65535)
        web_port = get.integer("WEB_PORT", DEFAULTS.web_port, low=1, high=65535)
        if mode == "webhook" and port == webhook_port:
            raise SettingsError(
                "METRICS_PORT",
                f"is the webhook server's PORT ({port}), which serves /metrics already; leave "
                "METRICS_PORT empty or choose another port",
            )
        if mode == "polling" and web_url is not None and port == web_port:
            raise SettingsError(
                "METRICS_PORT",
                f"is the web pages' WEB_PORT ({port}), which serves /metrics already; leave "
                "METRICS_PORT empty or choose another port",
            )
    token = get.text("METRICS_TOKEN")
    if token is not None and not LEAD_SECRET_RE.fullmatch(token):
        raise SettingsError(
            "METRICS_TOKEN", "must be 16-256 printable characters without spaces (hard to guess)"
        )
    return port, token


class _Reader:
    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ

    def text(self, name: str) -> str | None:
        value = self.environ.get(name, "").strip()
        return value or None

    def integer(self, name: str, default: int, *, low: int, high: int) -> int:
        value = self.optional_integer(name)
        if value is None:
            return default
        if not low <= value <= high:
            raise SettingsError(name, f"must be between {low} and {high}, not {value}")
        return value

    def optional_integer(self, name: str) -> int | None:
        raw = self.text(name)
        if raw is None:
            return None
        try:
            return int(raw)
        except ValueError:
            raise SettingsError(name, f"must be a whole number, not {raw!r}") from None

    def id_list(self, name: str) -> frozenset[int]:
        raw = self.text(name)
        if raw is None:
            return frozenset()
        ids = set()
        for part in raw.split(","):
            part = part.strip()
            if not part:
                continue
            try:
                ids.add(int(part))
            except ValueError:
                raise SettingsError(
                    name, f"must be comma-separated Telegram user ids, {part!r} is not a number"
                ) from None
        return frozenset(ids)


def _check_url(name: str, url: str, *, query_allowed: bool) -> None:
    """Refuse anything the HTTP client or web server would choke on later."""
    if any(char.isspace() or not char.isprintable() for char in url):
        raise SettingsError(name, f"must not contain spaces or control characters: {url!r}")
    try:
        parts = urlsplit(url)
        port = parts.port  # parsed lazily: an out-of-range or non-numeric port raises here
    except ValueError as exc:
        raise SettingsError(name, f"is not a valid URL ({exc}): {url!r}") from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(name, f"must be an http(s) URL, not {url!r}")
    host = parts.hostname or ""
    if not (_is_ip(host) or HOSTNAME_RE.fullmatch(host)):
        raise SettingsError(name, f"has no valid host name: {url!r}")
    if port == 0:
        raise SettingsError(name, f"has port 0, which cannot be reached: {url!r}")
    if parts.fragment or url.endswith("#"):
        raise SettingsError(name, f"must not have a #fragment: {url!r}")
    if not query_allowed and (parts.query or "?" in url):
        raise SettingsError(name, f"must not have a ?query: {url!r}")


def redact_url(url: str) -> str:
    """The URL with its password (in the user part or a ``password=`` parameter) as ``***``."""
    scheme, sep, rest = url.partition("://")
    query = rest.find("?")
    at = rest.rfind("@", 0, query if query >= 0 else len(rest))
    if at >= 0 and ":" in rest[:at]:
        rest = rest[:at].split(":", 1)[0] + ":***" + rest[at:]
    return scheme + sep + PASSWORD_PARAM_RE.sub(r"\1***", rest)


def _check_database_url(url: str) -> None:
    """A PostgreSQL URL the driver can parse; every message shows it without its password."""
    shown = redact_url(url)
    if any(char.isspace() or not char.isprintable() for char in url):
        raise SettingsError(
            "DATABASE_URL", f"must not contain spaces or control characters: {shown!r}"
        )
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in DATABASE_SCHEMES:
        raise SettingsError(
            "DATABASE_URL",
            "must be a PostgreSQL URL such as postgresql://user:password@host:5432/dbname, "
            f"not {shown!r} (for SQLite leave DATABASE_URL empty and set STATE_DB)",
        )
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (parsed lazily: an out-of-range or non-numeric port raises here)
    except ValueError as exc:
        problem = str(exc).replace(url, shown)
        raise SettingsError("DATABASE_URL", f"is not a valid URL ({problem}): {shown!r}") from None
    if parts.fragment or url.endswith("#"):
        raise SettingsError("DATABASE_URL", f"must not have a #fragment: {shown!r}")


def _lead_webhook(get: _Reader) -> tuple[str | None, str | None]:
    """LEAD_WEBHOOK_URL (https, or http on this machine) and the secret it needs."""
    url, secret = get.text("LEAD_WEBHOOK_URL"), get.text("LEAD_WEBHOOK_SECRET")
    if url is None:
        if secret is not None:
            raise SettingsError(
                "LEAD_WEBHOOK_SECRET", "needs LEAD_WEBHOOK_URL (it signs its requests)"
            )
        return None, None
    _check_url("LEAD_WEBHOOK_URL", url, query_allowed=True)
    parts = urlsplit(url)
    if parts.scheme != "https" and not _is_loopback(parts.hostname or ""):
        raise SettingsError(
            "LEAD_WEBHOOK_URL",
            "must be an https URL (leads hold people's contacts; http only for this machine)",
        )
    if secret is None:
        raise SettingsError(
            "LEAD_WEBHOOK_SECRET", "is required with LEAD_WEBHOOK_URL (it signs each request)"
        )
    if not LEAD_SECRET_RE.fullmatch(secret):
        raise SettingsError(
            "LEAD_WEBHOOK_SECRET",
            "must be 16-256 characters without spaces (e.g. the output of openssl rand -hex 32)",
        )
    return url, secret


def _is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _listen_address(value: str, name: str = "LISTEN") -> str:
    if _is_ip(value) or HOSTNAME_RE.fullmatch(value):
        return value
    raise SettingsError(
        name, f"must be an IP address (such as 0.0.0.0 or ::) or a host name, not {value!r}"
    )


#: The longest path the operating system takes, and the longest name of one file or folder.
PATH_MAX, NAME_MAX = 4095, 255


def _state_db(value: str) -> Path:
    if any(not char.isprintable() for char in value):
        raise SettingsError("STATE_DB", f"must not contain control characters: {value!r}")
    size = len(os.fsencode(value))
    if size > PATH_MAX:
        raise SettingsError("STATE_DB", f"is {size} bytes long; a path may have at most {PATH_MAX}")
    for part in Path(value).parts:
        if len(os.fsencode(part)) > NAME_MAX:
            raise SettingsError(
                "STATE_DB",
                f"has a name of {len(os.fsencode(part))} bytes ({part[:24]}…); a file or folder "
                f"name may have at most {NAME_MAX}",
            )
    return Path(value)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
