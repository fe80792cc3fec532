"""What people read about leads, as plain text: the summary the sales team gets, and what admins
see (a lead's card in ``/leads``, the alert about a stuck lead).

Every word comes from data/texts.yaml through a :data:`Texts` (``Knowledge.text``, in the
reader's language). The result is plain text and plain data — a :class:`Note` — that a front
end turns into its own markup and buttons.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

from advisor import Knowledge, recommend
from advisor.render import confidence_words, sums
from storage.base import CHANNELS, DELIVERED, HANDLED, PENDING, Lead, LeadDelivery

from .desk import TELEGRAM, WEBHOOK, Waiting

#: A text from data/texts.yaml with its values filled in (``Knowledge.text``).
Texts = Callable[..., str]
#: What an admin's button under a lead does: try it again now, or mark it as handled.
RETRY, SETTLE = "retry", "settle"


class LeadButton(NamedTuple):
    """A button under a lead's card."""

    label: str
    action: str  # RETRY or SETTLE
    lead_id: int


@dataclass(frozen=True, slots=True)
class Note:
    """A message for admins: a ``headline`` to stand out (none if empty), then plain lines,
    and the buttons under it."""

    lines: tuple[str, ...] = ()
    headline: str = ""
    buttons: tuple[LeadButton, ...] = ()


def sales_summary(lead: Lead, knowledge: Knowledge) -> str:
    """The plain-text summary of a lead for the sales chat."""
    k = knowledge
    answers = []
    for question in k.questions:
        option = question.option(lead.answers.get(question.id))
        if option is not None:
            answers.append(
                k.text("lead.sales_answer", question=question.prompt, answer=option.label)
            )
    result = recommend(k, lead.answers)
    return k.text(
        "lead.sales_summary",
        number=lead.id,
        name=lead.name,
        contact=lead.contact,
        channel=channel_name(lead.channel, k.text) + language_line(lead.language, k),
        source=lead.source or k.text("lead.no_source"),
        recommendation=k.text(f"stack.{lead.recommendation}"),
        confidence=confidence_words(result, k),
        answers="\n".join(answers),
        **sums(result, k),
    )


def language_line(language: str, knowledge: Knowledge) -> str:
    """The line after "Came from:" naming the person's language in its own words
    ("\nLanguage: Português"); nothing when it is unknown (leads stored before languages were
    kept). A language this version does not offer is named by its code."""
    if not language:
        return ""
    if language in knowledge.languages:
        name = knowledge.speaking(language).text("language.name")
    else:
        name = language
    return "\n" + knowledge.text("lead.language_line", name=name)


def channel_name(channel: str, text: Texts) -> str:
    """The channel a lead came through, in words a salesperson reads ("Telegram bot", "the
    website", "Telegram Mini App"); a channel this version does not know, as it is."""
    if channel in CHANNELS:
        return text(f"lead.channel.{channel}")
    return channel


def leads_title(count: int, *, shown: int, more: bool, text: Texts) -> Note:
    """The head of ``/leads``: how many leads wait, and that only the oldest are shown."""
    lines = (text("admin.leads_more", count=shown),) if more else ()
    return Note(lines, headline=text("admin.leads_title", count=count))


def lead_card(waiting: Waiting, text: Texts) -> Note:
    """A lead as ``/leads`` shows it, with its buttons while a delivery is pending."""
    lead = waiting.lead
    when = datetime.fromtimestamp(lead.at, UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        text(
            "admin.lead",
            number=lead.id,
            when=when,
            name=lead.name,
            contact=lead.contact,
            source=lead.source or text("lead.no_source"),
            recommendation=text(f"stack.{lead.recommendation}"),
        )
    ]
    lines += [_delivery_line(d, text) for d in waiting.deliveries]
    if not waiting.pending:
        done = waiting.deliveries and all(d.status == DELIVERED for d in waiting.deliveries)
        lines.append(text("admin.lead_done" if done else "admin.lead_settled"))
        return Note(tuple(lines))
    buttons = (
        LeadButton(text("admin.lead_retry"), RETRY, lead.id),
        LeadButton(text("admin.lead_settle"), SETTLE, lead.id),
    )
    return Note(tuple(lines), buttons=buttons)


def lead_gone(text: Texts) -> Note:
    """What a button under a lead the person had deleted shows instead of its card."""
    return Note((text("admin.lead_gone"),))


def overdue_alert(overdue: Sequence[Waiting], *, minutes: int, text: Texts) -> Note:
    """The alert about leads not delivered for ``minutes``: one line per stuck delivery."""
    lines = [
        text(
            "admin.leads_overdue_line",
            number=waiting.lead.id,
            name=waiting.lead.name,
            destination=destination_name(delivery.destination, text),
            reason=delivery.last_error or "?",
        )
        for waiting in overdue
        for delivery in waiting.pending
    ]
    lines.append(text("admin.leads_overdue_hint"))
    headline = text("admin.leads_overdue", minutes=minutes, count=len(overdue))
    return Note(tuple(lines), headline=headline)


def _delivery_line(delivery: LeadDelivery, text: Texts) -> str:
    destination = destination_name(delivery.destination, text)
    if delivery.status == PENDING and delivery.attempts == 0 and not delivery.last_error:
        return text("admin.lead_delivery.waiting", destination=destination)
    if delivery.status == PENDING:
        return text(
            "admin.lead_delivery.pending",
            destination=destination,
            count=delivery.attempts,
            reason=delivery.last_error or "?",
        )
    key = "handled" if delivery.status == HANDLED else "delivered"
    return text(f"admin.lead_delivery.{key}", destination=destination)


def destination_name(destination: str, text: Texts) -> str:
    """A destination's name for admins."""
    if destination in (TELEGRAM, WEBHOOK):
        return text(f"admin.destination.{destination}")
    return destination
