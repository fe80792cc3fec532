"""The CRM hook: each lead POSTed as JSON to ``LEAD_WEBHOOK_URL``, signed with HMAC-SHA256.

Every request carries

- ``X-StackAdvisor-Timestamp``: the Unix time (seconds) the request was signed;
- ``X-StackAdvisor-Signature``: ``sha256=`` and the hex HMAC-SHA256 of
  ``<timestamp>.<raw body>`` with ``LEAD_WEBHOOK_SECRET`` as the key, so a receiver can tell the
  request comes from the bot and was not replayed later (reject old timestamps);
- ``Idempotency-Key``: the lead's id, the same in every attempt, so a receiver that got a lead
  twice (our request timed out after it arrived) can keep one.

Anything but a 2xx answer, a timeout or a network failure is a failed attempt, tried again
later by the lead desk. The body is the same in every attempt; the timestamp and signature are
fresh. The payload holds exactly what the person agreed to share (docs/sales.md).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from advisor import Knowledge, recommend
from advisor.model import STACKS
from storage.base import Lead

from .retry import DeliveryFailed

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-StackAdvisor-Signature"
TIMESTAMP_HEADER = "X-StackAdvisor-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
#: How long one request may take, in seconds, before it counts as failed.
TIMEOUT_SECONDS = 10.0
#: A receiver should refuse requests signed longer ago than this (seconds).
TOLERANCE_SECONDS = 300
EVENT = "lead.created"
#: The payload's version (its ``version`` field): 1, unnumbered, was the lead and its result;
#: 2 added ``channel``, ``language`` and ``version`` itself. Fields are only ever added; a
#: change a receiver could misread (a field removed or meaning something else) takes a new
#: version (docs/sales.md, "Changes to the payload").
PAYLOAD_VERSION = 2
USER_AGENT = "StackAdvisor-LeadHook/1"


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The signature header's value: ``sha256=`` and the HMAC of ``<timestamp>.<body>``."""
    digest = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def verify(
    secret: bytes,
    body: bytes,
    headers: Mapping[str, str],
    *,
    now: float,
    tolerance: int = TOLERANCE_SECONDS,
) -> bool:
    """What a receiver checks: a fresh timestamp and a matching signature (constant-time)."""
    try:
        timestamp = int(headers.get(TIMESTAMP_HEADER, ""))
    except ValueError:
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body)
    return hmac.compare_digest(expected, headers.get(SIGNATURE_HEADER, ""))


def payload(lead: Lead, knowledge: Knowledge, source_link: str | None) -> dict[str, Any]:
    """The JSON a receiver gets: what the person agreed to share, and the lead's id."""
    k = knowledge
    rec = recommend(k, lead.answers)
    answers = []
    for question in k.questions:
        option = question.option(lead.answers.get(question.id))
        if option is not None:
            answers.append(
                {
                    "question_id": question.id,
                    "question": question.prompt,
                    "answer_id": option.id,
                    "answer": option.label,
                }
            )
    return {
        "event": EVENT,
        "version": PAYLOAD_VERSION,
        "lead_id": lead.key,
        "name": lead.name,
        "contact": lead.contact,
        "contact_type": "email" if "@" in lead.contact else "phone",
        "channel": lead.channel,
        "language": lead.language,
        "source": lead.source,
        "source_link": source_link,
        "recommendation": lead.recommendation,
        "recommendation_label": k.text(f"stack.{lead.recommendation}"),
        "confidence": rec.confidence,
        "points": {stack: rec.points(stack) for stack in STACKS},
        "ledger": [
            {
                "source": entry.source.id,
                "name": entry.title,
                "beyond_article": entry.beyond_article,
                "side": entry.side,
                "points": entry.points,
                "answers": [cause.question.id for cause in entry.causes],
            }
            for entry in rec.ledger
        ],
        "answers": answers,
        "consented_at": datetime.fromtimestamp(lead.at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def encode(data: Mapping[str, Any]) -> bytes:
    """The body as sent (and signed): compact UTF-8 JSON."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


class WebhookSender:
    """Sends leads to the CRM hook (a :data:`handoff.LeadSender`)."""

    def __init__(
        self,
        url: str,
        secret: str,
        knowledge: Knowledge,
        session: aiohttp.ClientSession,
        *,
        source_link: Callable[[str], str | None],
        clock: Callable[[], float],
        timeout: float | None = None,
    ) -> None:
        self.url = url
        self.secret = secret.encode()
        self.knowledge = knowledge
        self.session = session
        self.source_link = source_link
        self.clock = clock
        self.timeout = TIMEOUT_SECONDS if timeout is None else timeout
        #: Where it goes, for messages: the host only (the URL may hold a token).
        self.where = urlsplit(url).hostname or "?"

    async def __call__(self, lead: Lead) -> None:
        link = self.source_link(lead.source) if lead.source else None
        body = encode(payload(lead, self.knowledge, link))
        timestamp = int(self.clock())
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(self.secret, timestamp, body),
            IDEMPOTENCY_HEADER: lead.key,
        }
        try:
            async with self.session.post(
                self.url,
                data=body,
                headers=headers,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            ) as response:
                if 200 <= response.status < 300:
                    return
                raise DeliveryFailed(
                    f"the CRM hook at {self.where} answered {response.status} "
                    f"{response.reason or ''}".rstrip(),
                    retry_after=_retry_after(response.headers.get("Retry-After")),
                )
        except TimeoutError:
            raise DeliveryFailed(
                f"the CRM hook at {self.where} did not answer within {self.timeout:g} s"
            ) from None
        except aiohttp.ClientError as exc:
            reason = str(exc).replace(self.url, self.where) or type(exc).__name__
            raise DeliveryFailed(
                f"could not reach the CRM hook at {self.where}: {reason}"
            ) from None


def _retry_after(value: str | None) -> float | None:
    """A Retry-After in seconds (the date form is not worth the code: the backoff covers it)."""
    try:
        return float(value) if value else None
    except ValueError:
        return None
