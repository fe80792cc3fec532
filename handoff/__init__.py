"""Leads after the hand-off: stored with the turn, then delivered to each destination (the
sales chat, the CRM hook) with retries, exactly once each, and shown to admins when stuck.

- :mod:`.retry`: the one failure type and retry schedule of every delivery (leads and the
  person's outbox).
- :mod:`.desk`: where leads go and whether the hand-off is open (:class:`HandOff`), and the
  desk that delivers them.
- :mod:`.sales_chat`: what each check of the sales chat means.
- :mod:`.lead_texts`: the texts about leads, as plain text.
- :mod:`.office`: the use cases a front end calls (:class:`LeadOffice`).
- :mod:`.crm`: the CRM hook.
"""

from .desk import TELEGRAM, WEBHOOK, HandOff, LeadDesk, LeadSender, Waiting, hand_off_for
from .lead_texts import Note, Texts
from .office import LeadOffice
from .retry import LEAD_SCHEDULE, OUTBOX_SCHEDULE, DeliveryFailed, RetrySchedule
from .sales_chat import ChatCheck

__all__ = [
    "LEAD_SCHEDULE",
    "OUTBOX_SCHEDULE",
    "TELEGRAM",
    "WEBHOOK",
    "ChatCheck",
    "DeliveryFailed",
    "HandOff",
    "LeadDesk",
    "LeadOffice",
    "LeadSender",
    "Note",
    "RetrySchedule",
    "Texts",
    "Waiting",
    "hand_off_for",
]
