"""The admins' buttons in ``/leads``: ``L1|<r: try again, h: mark handled>|<lead id base36>``
under a lead, and ``L1|o|<lead id base36>`` under the latest leads (show the leads numbered below
that one). (The person's buttons are encoded by :mod:`dialogs.actions`.)"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dialogs.actions import BASE36, MAX_BYTES
from dialogs.sharecode import to36

#: Admin buttons under a lead in /leads, and the one under the latest leads ("Show older").
RETRY_LEAD, SETTLE_LEAD, OLDER_LEADS = "r", "h", "o"
_ACTIONS = (RETRY_LEAD, SETTLE_LEAD, OLDER_LEADS)
_LEAD_PATTERN = re.compile(rf"L1\|([{''.join(_ACTIONS)}])\|({BASE36})", re.ASCII)
#: A lead id fits in 13 base-36 digits (2**63 has 13).
_LEAD_DIGITS = 13
#: The largest lead number a database holds (a signed 64-bit integer).
MAX_LEAD_ID = 2**63 - 1


@dataclass(frozen=True, slots=True)
class LeadPress:
    """A decoded admin button under a lead (for OLDER_LEADS: the lead below which to show)."""

    action: str
    lead_id: int


def encode_lead(action: str, lead_id: int) -> str:
    """The callback data of an admin button under a lead."""
    if action not in _ACTIONS or lead_id < 0:
        raise ValueError(f"no lead button {action!r} for lead {lead_id}")
    return f"L1|{action}|{to36(lead_id)}"


def decode_lead(data: str | None) -> LeadPress | None:
    """The admin lead button this data describes, or None (never raises)."""
    if not isinstance(data, str) or len(data) > MAX_BYTES:
        return None
    match = _LEAD_PATTERN.fullmatch(data)
    if match is None or len(match.group(2)) > _LEAD_DIGITS:
        return None
    number = int(match.group(2), 36)
    if number > MAX_LEAD_ID:  # no lead has such a number: a forged button
        return None
    return LeadPress(match.group(1), number)
