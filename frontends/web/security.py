"""What keeps the web pages safe: signed cookies, CSRF tokens, per-address rate limits and the
security headers of every answer.

The cookie that says who a visitor is holds a random id (or, for the Telegram Mini App, the
Telegram user Telegram vouched for) and an HMAC of it with the server's key, so it cannot be
forged or changed, and every instance sharing the key (``SHARE_SECRET``) reads it. Nothing in it
is personal but the Mini App's Telegram name, and it is HttpOnly: no script reads it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Literal

#: Web visitors' ids: above every Telegram user id (at most 52 bits), within what a button's
#: data carries (53 bits), so a web person can never be mistaken for a Telegram one.
WEB_ID_MIN = 2**52
WEB_ID_MAX = 2**53 - 1
#: The Mini App's own chat for a Telegram user: their id plus this (their private chat is their
#: id), so the Mini App's steps never move the Telegram chat's buttons.
MINI_APP_CHAT = 2**52
#: Characters of a base64 HMAC kept in a signature (132 bits).
MAC_CHARS = 22

Kind = Literal["web", "mini_app"]


def _mac(key: bytes, purpose: str, value: str) -> str:
    digest = hmac.new(key, f"{purpose}|{value}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:MAC_CHARS]


@dataclass(frozen=True, slots=True)
class Visitor:
    """Who a browser is: a web visitor (``user_id`` random, their own chat) or a Telegram user
    in the Mini App (their Telegram id, the Mini App's chat)."""

    kind: Kind
    user_id: int
    name: str = ""
    #: When the cookie was made (Unix time).
    issued: int = 0

    @property
    def chat_id(self) -> int:
        return self.user_id if self.kind == "web" else MINI_APP_CHAT + self.user_id


def new_visitor(now: float | None = None) -> Visitor:
    """A new web visitor with a random id nobody else has."""
    issued = int(time.time() if now is None else now)
    return Visitor("web", WEB_ID_MIN + secrets.randbelow(WEB_ID_MAX - WEB_ID_MIN + 1), "", issued)


class Keys:
    """Signs and checks what the pages hand out: the visitor cookie and the CSRF tokens."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def cookie(self, visitor: Visitor) -> str:
        """The visitor as a cookie value: JSON in base64, then its MAC."""
        raw = json.dumps(
            [visitor.kind, visitor.user_id, visitor.name, visitor.issued],
            ensure_ascii=True,
            separators=(",", ":"),
        )
        body = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
        return f"{body}.{_mac(self._key, 'visitor', body)}"

    def visitor(self, cookie: str | None) -> Visitor | None:
        """The visitor a cookie names, or None when it is missing, forged or malformed."""
        if not cookie or len(cookie) > 1024 or cookie.count(".") != 1:
            return None
        body, mac = cookie.split(".")
        if not hmac.compare_digest(mac.encode(), _mac(self._key, "visitor", body).encode()):
            return None
        try:
            data: Any = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            kind, user_id, name, issued = data
        except (ValueError, TypeError):
            return None
        if kind not in ("web", "mini_app") or type(user_id) is not int or type(issued) is not int:
            return None
        if not isinstance(name, str):
            return None
        if kind == "web" and not WEB_ID_MIN <= user_id <= WEB_ID_MAX:
            return None
        if kind == "mini_app" and not 0 < user_id < WEB_ID_MIN:
            return None
        return Visitor(kind, user_id, name, issued)

    def csrf(self, cookie: str) -> str:
        """The CSRF token of the pages shown to the holder of this cookie."""
        return _mac(self._key, "csrf", cookie)

    def csrf_ok(self, cookie: str | None, token: object) -> bool:
        if not cookie or not isinstance(token, str) or len(token) != MAC_CHARS:
            return False
        return hmac.compare_digest(token.encode(), self.csrf(cookie).encode())

    def sign(self, purpose: str, value: str) -> str:
        """``value`` with a MAC for ``purpose`` (the one-time notice's cookie)."""
        return f"{value}.{_mac(self._key, purpose, value)}"

    def unsign(self, purpose: str, signed: str | None) -> str | None:
        if not signed or "." not in signed:
            return None
        value, mac = signed.rsplit(".", 1)
        if not hmac.compare_digest(mac.encode(), _mac(self._key, purpose, value).encode()):
            return None
        return value


class RateLimits:
    """Token buckets per address: ``burst`` requests at once, then ``per_minute``.

    Kept for the most recent ``addresses`` (an attacker with many addresses cannot make it
    grow without bound)."""

    def __init__(self, *, burst: int, per_minute: float, addresses: int = 10_000) -> None:
        self.burst = burst
        self.rate = per_minute / 60.0
        self.addresses = addresses
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def allow(self, address: str, now: float | None = None) -> bool:
        """Whether this address may make one more request now (and count it)."""
        at = time.monotonic() if now is None else now
        tokens, last = self._buckets.get(address, (float(self.burst), at))
        tokens = min(float(self.burst), tokens + (at - last) * self.rate)
        allowed = tokens >= 1.0
        self._buckets[address] = (tokens - 1.0 if allowed else tokens, at)
        self._buckets.move_to_end(address)
        while len(self._buckets) > self.addresses:
            self._buckets.popitem(last=False)
        return allowed


#: Telegram's web clients, the only pages allowed to show ours in a frame (the Mini App).
TELEGRAM_FRAMES = "https://web.telegram.org https://*.telegram.org"


def security_headers(*, https: bool) -> dict[str, str]:
    """The headers of every page: no inline script, nothing from elsewhere, framed only by
    Telegram's web clients."""
    csp = "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            f"frame-ancestors 'self' {TELEGRAM_FRAMES}",
        ]
    )
    headers = {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
        "Cross-Origin-Opener-Policy": "same-origin-allow-popups",
    }
    if https:
        headers["Strict-Transport-Security"] = "max-age=31536000"
    return headers
