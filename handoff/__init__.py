"""Leads after the hand-off: stored with the turn, then delivered to each destination (the
sales chat, the CRM hook) with retries, exactly once each, and shown to admins when stuck."""

from .desk import TELEGRAM, WEBHOOK, HandOff, LeadDesk, LeadSender, SendFailed, Waiting
from .schedule import RetrySchedule

__all__ = [
    "TELEGRAM",
    "WEBHOOK",
    "HandOff",
    "LeadDesk",
    "LeadSender",
    "RetrySchedule",
    "SendFailed",
    "Waiting",
]
