"""The CRM hook: its signature, its payload, and how a receiver's answers count."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from advisor import Knowledge
from handoff import DeliveryFailed
from handoff.crm import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookSender,
    encode,
    payload,
    sign,
    verify,
)
from storage.base import Lead

SECRET = b"whsec-0123456789abcdef"
NOW = 1_800_000_000


def a_lead(**changes: object) -> Lead:
    values: dict[str, object] = {
        "chat_id": 42,
        "user_id": 42,
        "name": "Ada Lovelace",
        "contact": "ada@example.org",
        "source": "spring",
        "recommendation": "django",
        "answers": {"team": "python", "security": "payments"},
        "at": NOW - 60,
        "id": 7,
        "key": "0b6f6f7e-3f7a-4c55-9c7e-1a2b3c4d5e6f",
    }
    values.update(changes)
    return Lead(**values)  # type: ignore[arg-type]


# -- the signature ---------------------------------------------------------------------------


def test_the_signature_is_the_hex_hmac_sha256_of_the_timestamp_a_dot_and_the_body() -> None:
    body = b'{"lead_id":"x"}'
    expected = hmac.new(SECRET, b"1800000000." + body, hashlib.sha256).hexdigest()
    assert sign(SECRET, NOW, body) == f"sha256={expected}"


def test_a_known_signature_stays_the_same() -> None:  # what docs/sales.md shows receivers
    assert sign(b"secret", 1700000000, b"{}") == (
        "sha256=" + hmac.new(b"secret", b"1700000000.{}", hashlib.sha256).hexdigest()
    )


def headers_for(body: bytes, timestamp: int = NOW, secret: bytes = SECRET) -> dict[str, str]:
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: sign(secret, timestamp, body)}


def test_a_receiver_accepts_a_fresh_request_signed_with_the_secret() -> None:
    body = b'{"a":1}'
    assert verify(SECRET, body, headers_for(body), now=NOW + 10)


@pytest.mark.parametrize(
    "tamper",
    ["body", "secret", "timestamp", "stale", "future", "no-timestamp", "no-signature", "garbage"],
)
def test_a_receiver_refuses_a_changed_replayed_or_unsigned_request(tamper: str) -> None:
    body = b'{"contact":"ada@example.org"}'
    headers = headers_for(body)
    if tamper == "body":
        body = b'{"contact":"eve@example.org"}'
    elif tamper == "secret":
        headers = headers_for(body, secret=b"another-secret-entirely")
    elif tamper == "timestamp":  # the signature is bound to its timestamp
        headers[TIMESTAMP_HEADER] = str(NOW + 1)
    elif tamper == "stale":  # a request recorded and sent again ten minutes later
        headers = headers_for(body, timestamp=NOW - 600)
    elif tamper == "future":
        headers = headers_for(body, timestamp=NOW + 600)
    elif tamper == "no-timestamp":
        del headers[TIMESTAMP_HEADER]
    elif tamper == "no-signature":
        del headers[SIGNATURE_HEADER]
    else:
        headers[TIMESTAMP_HEADER] = "yesterday"
    assert not verify(SECRET, body, headers, now=NOW)


# -- the payload -------------------------------------------------------------------------------


def test_the_payload_holds_what_the_person_agreed_to_share_and_the_lead_id(
    knowledge: Knowledge,
) -> None:
    data = payload(a_lead(), knowledge, "https://t.me/bot?start=spring")
    assert data["lead_id"] == "0b6f6f7e-3f7a-4c55-9c7e-1a2b3c4d5e6f"
    assert (data["name"], data["contact"], data["contact_type"]) == (
        "Ada Lovelace",
        "ada@example.org",
        "email",
    )
    assert (data["source"], data["source_link"]) == ("spring", "https://t.me/bot?start=spring")
    assert (data["recommendation"], data["recommendation_label"]) == ("django", "Django")
    assert data["consented_at"] == "2027-01-15T07:59:00Z"
    first = data["answers"][0]
    assert (first["question_id"], first["answer_id"], first["answer"]) == (
        "team",
        "python",
        "Python",
    )
    assert "Which programming language" in first["question"]
    assert len(data["answers"]) == 2
    text = json.dumps(data)
    assert "42" not in text  # no Telegram id: it was not part of the consent


def test_the_payload_says_its_version_so_a_receiver_can_tell_what_it_holds(
    knowledge: Knowledge,
) -> None:
    data = json.loads(encode(payload(a_lead(), knowledge, None)))
    assert data["version"] == 2
    assert {"channel", "language"} <= set(data)  # what version 2 added


@pytest.mark.parametrize("channel", ["telegram", "web", "mini_app"])
def test_the_payload_names_the_channel_the_lead_came_through(
    knowledge: Knowledge, channel: str
) -> None:
    data = payload(a_lead(channel=channel), knowledge, None)
    assert data["channel"] == channel
    assert json.loads(encode(data))["channel"] == channel


def test_a_lead_stored_before_channels_were_kept_came_through_the_bot(
    knowledge: Knowledge,
) -> None:
    assert payload(a_lead(), knowledge, None)["channel"] == "telegram"


@pytest.mark.parametrize("language", ["en", "es", "pt", "ru"])
def test_the_payload_carries_the_persons_language(knowledge: Knowledge, language: str) -> None:
    data = payload(a_lead(language=language), knowledge, None)
    assert data["language"] == language
    assert json.loads(encode(data))["language"] == language


def test_a_lead_stored_before_languages_were_kept_has_an_empty_language(
    knowledge: Knowledge,
) -> None:
    assert payload(a_lead(), knowledge, None)["language"] == ""


def test_a_phone_number_is_marked_as_such(knowledge: Knowledge) -> None:
    assert payload(a_lead(contact="+15550100"), knowledge, None)["contact_type"] == "phone"


def test_the_body_is_compact_utf8_json(knowledge: Knowledge) -> None:
    body = encode(payload(a_lead(name="Zoë"), knowledge, None))
    assert "Zoë".encode() in body and b": " not in body
    assert json.loads(body)["name"] == "Zoë"


# -- the sender against a receiver -------------------------------------------------------------


class Receiver:
    def __init__(self) -> None:
        self.statuses: list[int] = []
        self.headers: dict[str, str] = {}
        self.seen: list[tuple[dict[str, str], bytes]] = []
        self.stall = 0.0
        self.retry_after: str | None = None

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.seen.append((dict(request.headers), body))
        if self.stall:
            await asyncio.sleep(self.stall)
        status = self.statuses.pop(0) if self.statuses else 204
        headers = {"Retry-After": self.retry_after} if self.retry_after else {}
        return web.Response(status=status, headers=headers)


@pytest.fixture
async def receiver(unused_tcp_port: int) -> AsyncIterator[tuple[Receiver, str]]:
    found = Receiver()
    app = web.Application()
    app.router.add_post("/hook", found.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", unused_tcp_port).start()
    yield found, f"http://127.0.0.1:{unused_tcp_port}/hook?token=secret-token"
    await runner.cleanup()


async def send(url: str, knowledge: Knowledge, lead: Lead, *, within: float = 5.0) -> None:
    async with aiohttp.ClientSession() as session:
        sender = WebhookSender(
            url,
            SECRET.decode(),
            knowledge,
            session,
            source_link=lambda source: f"https://t.me/bot?start={source}",
            clock=lambda: NOW,
            timeout=within,
        )
        await sender(lead)


async def test_a_2xx_answer_is_a_delivery_signed_and_keyed_by_the_lead_id(
    receiver: tuple[Receiver, str], knowledge: Knowledge
) -> None:
    found, url = receiver
    await send(url, knowledge, a_lead())
    [(headers, body)] = found.seen
    assert verify(SECRET, body, headers, now=NOW)
    assert headers[IDEMPOTENCY_HEADER] == a_lead().key
    assert json.loads(body)["source_link"] == "https://t.me/bot?start=spring"


@pytest.mark.parametrize("status", [500, 503, 404, 400, 301])
async def test_any_other_answer_is_a_failure_naming_the_host_but_not_the_token(
    receiver: tuple[Receiver, str], knowledge: Knowledge, status: int
) -> None:
    found, url = receiver
    found.statuses = [status]
    with pytest.raises(
        DeliveryFailed, match=rf"the CRM hook at 127\.0\.0\.1 answered {status}"
    ) as err:
        await send(url, knowledge, a_lead())
    assert "secret-token" not in str(err.value)


async def test_a_retry_after_from_the_receiver_is_passed_on(
    receiver: tuple[Receiver, str], knowledge: Knowledge
) -> None:
    found, url = receiver
    found.statuses, found.retry_after = [429], "120"
    with pytest.raises(DeliveryFailed) as err:
        await send(url, knowledge, a_lead())
    assert err.value.retry_after == 120


async def test_a_receiver_that_does_not_answer_in_time_is_a_failure(
    receiver: tuple[Receiver, str], knowledge: Knowledge
) -> None:
    found, url = receiver
    found.stall = 2
    with pytest.raises(DeliveryFailed, match=r"did not answer within 0\.3 s"):
        await send(url, knowledge, a_lead(), within=0.3)


async def test_a_receiver_that_cannot_be_reached_is_a_failure(
    unused_tcp_port: int, knowledge: Knowledge
) -> None:
    url = f"http://127.0.0.1:{unused_tcp_port}/hook?token=secret-token"
    with pytest.raises(
        DeliveryFailed, match=r"could not reach the CRM hook at 127\.0\.0\.1"
    ) as err:
        await send(url, knowledge, a_lead())
    assert "secret-token" not in str(err.value)


# -- the receiver docs/sales.md shows ----------------------------------------------------------

DOCS = Path(__file__).resolve().parent.parent / "docs" / "sales.md"


def documented_receiver() -> dict[str, Any]:
    """The Python receiver of docs/sales.md, run as written (but not started)."""
    text = DOCS.read_text(encoding="utf-8")
    code = text.split("```python\n", 1)[1].split("```", 1)[0]
    assert "web.run_app(app, port=8080)" in code
    namespace: dict[str, Any] = {}
    exec(code.replace("web.run_app(app, port=8080)", ""), namespace)
    namespace["SECRET"] = SECRET
    return namespace


async def test_the_receiver_in_the_docs_takes_a_lead_once_and_refuses_a_forgery(
    knowledge: Knowledge, unused_tcp_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    receiver = documented_receiver()
    runner = web.AppRunner(receiver["app"])
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", unused_tcp_port).start()
    url = f"http://127.0.0.1:{unused_tcp_port}/stack-advisor/leads"
    try:
        async with aiohttp.ClientSession() as session:
            sender = WebhookSender(
                url,
                SECRET.decode(),
                knowledge,
                session,
                source_link=lambda source: None,
                clock=time.time,
            )
            await sender(a_lead())
            await sender(a_lead())  # again, as after a timeout: kept once
            body = encode(payload(a_lead(contact="eve@example.org"), knowledge, None))
            forged = headers_for(body, timestamp=int(time.time()), secret=b"not-the-secret")
            async with session.post(url, data=body, headers=forged) as response:
                assert response.status == 401
            stale = headers_for(body, timestamp=int(time.time()) - 3600)
            async with session.post(url, data=body, headers=stale) as response:
                assert response.status == 401
    finally:
        await runner.cleanup()
    assert receiver["seen"] == {a_lead().key}
    assert capsys.readouterr().out == "new lead: Ada Lovelace ada@example.org django\n"
