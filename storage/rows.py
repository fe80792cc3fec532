"""Rows both backends read the same way: a lead's delivery with its lead, a user's reach, and
the links' totals."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from .base import (
    DELIVERED,
    FINISHED,
    HANDLED,
    LEAD,
    PENDING,
    SHARED,
    STARTED,
    Lead,
    LeadDelivery,
    LeadReach,
)

#: A delivery with its lead (``d``: lead_deliveries, ``l``: leads), in :func:`delivery`'s order.
DELIVERY_COLUMNS = (
    "d.id, d.destination, d.status, d.attempts, d.next_attempt_at, d.last_error, "
    "d.failing_since, d.delivered_at, coalesce(d.claim, ''), d.claimed_until, "
    "l.id, l.key, l.at, l.chat_id, l.user_id, l.name, l.contact, l.source, l.recommendation, "
    "l.answers, l.channel, l.language"
)
DELIVERY_FROM = "FROM lead_deliveries d JOIN leads l ON l.id = d.lead_id"
#: Every tracked link with its counts of all time, newest first (the daily totals read once;
#: the same SQL on SQLite and PostgreSQL).
LINK_TOTALS_SQL = (
    "SELECT l.name, l.created_at, coalesce(t.started, 0), coalesce(t.finished, 0), "
    "coalesce(t.shared, 0), coalesce(t.leads, 0) FROM links l LEFT JOIN ("
    "SELECT source, "
    f"sum(count) FILTER (WHERE kind = '{STARTED}') AS started, "
    f"sum(count) FILTER (WHERE kind = '{FINISHED}') AS finished, "
    f"sum(count) FILTER (WHERE kind = '{SHARED}') AS shared, "
    f"sum(count) FILTER (WHERE kind = '{LEAD}') AS leads "
    "FROM event_days GROUP BY source) t ON t.source = l.name "
    "ORDER BY l.created_at DESC, l.name"
)


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


def history(rows: Iterable[Iterable[Any]]) -> list[tuple[Lead, tuple[LeadDelivery, ...]]]:
    """Rows of :data:`DELIVERY_COLUMNS` from leads joined to their deliveries (``LEFT JOIN``:
    a lead with none has one row whose delivery columns are empty), as each lead with its
    deliveries, in the rows' order."""
    found: dict[int, tuple[Lead, list[LeadDelivery]]] = {}
    for row in rows:
        values = tuple(row)
        read = delivery(values)
        _, deliveries = found.setdefault(read.lead.id, (read.lead, []))
        if values[0] is not None:
            deliveries.append(read)
    return [(lead, tuple(deliveries)) for lead, deliveries in found.values()]
