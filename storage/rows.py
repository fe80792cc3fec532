"""Rows both backends read the same way: a lead's delivery with its lead, and a user's reach."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from .base import DELIVERED, HANDLED, PENDING, Lead, LeadDelivery, LeadReach

#: A delivery with its lead (``d``: lead_deliveries, ``l``: leads), in :func:`delivery`'s order.
DELIVERY_COLUMNS = (
    "d.id, d.destination, d.status, d.attempts, d.next_attempt_at, d.last_error, "
    "d.failing_since, d.delivered_at, coalesce(d.claim, ''), d.claimed_until, "
    "l.id, l.key, l.at, l.chat_id, l.user_id, l.name, l.contact, l.source, l.recommendation, "
    "l.answers, l.channel, l.language"
)
DELIVERY_FROM = "FROM lead_deliveries d JOIN leads l ON l.id = d.lead_id"


def delivery(row: Iterable[Any]) -> LeadDelivery:
    """A row of :data:`DELIVERY_COLUMNS` as a record."""
    values = tuple(row)
    id_, destination, status, attempts, next_at, error, failing, delivered, claim, until = values[
        :10
    ]
    lead_id, key, at, chat, user, name, contact, source, rec, answers, channel, language = values[
        10:
    ]
    lead = Lead(
        chat,
        user,
        name,
        contact,
        source,
        rec,
        json.loads(answers),
        at,
        lead_id,
        key,
        channel,
        language,
    )
    return LeadDelivery(
        id_, lead, destination, status, attempts, next_at, error, failing, delivered, claim, until
    )


def reach(leads: int, rows: Iterable[Iterable[Any]], now: int) -> LeadReach:
    """From (destination, status, claimed_until) rows: delivered, or claimed right now (the
    message may be on its way), counts as reached."""
    states = [tuple(row) for row in rows]
    delivered = frozenset(
        destination
        for destination, status, claimed_until in states
        if status == DELIVERED or (status == PENDING and (claimed_until or 0) > now)
    )
    handled = any(status == HANDLED for _, status, _ in states)
    return LeadReach(leads, delivered, handled)
