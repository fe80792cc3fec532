"""What people read about leads, as plain text: the summary the sales team gets, and what admins
see (a lead's card in ``/leads``, the latest leads and how each delivery went, the alert about a
stuck lead).

Every word comes from data/texts.yaml through a :data:`Texts` (``Knowledge.text``, in the
reader's language). The result is plain text and plain data — a :class:`Note` — that a front
end turns into its own markup and buttons.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import NamedTuple

from advisor import Knowledge, recommend
from advisor.render import confidence_words, sums
from storage.base import CHANNELS, DELIVERED, HANDLED, PENDING, Lead, LeadDelivery

from .desk import TELEGRAM, WEBHOOK, Waiting

#: A text from data/texts.yaml with its values filled in (``Knowledge.text``).
Texts = Callable[..., str]
#: What an admin's button under a lead does: try it again now, or mark it as handled; and the
#: button under the latest leads that shows the older ones (its ``lead_id``: the lowest number
#: shown, the older leads are numbered below it).
RETRY, SETTLE, OLDER = "retry", "settle", "older"
#: The longest name, link name or reason the latest leads show (longer ones end in "…"), so that
#: a lead's lines stay short whatever was typed.
FIELD_LIMIT = 120


class LeadButton(NamedTuple):
    """A button under a lead's card (or under the latest leads)."""

    label: str
    action: str  # RETRY, SETTLE or OLDER
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
    return "\n" + knowledge.text("lead.language_line", name=language_name(language, knowledge))


def language_name(language: str, knowledge: Knowledge) -> str:
    """A language in its own words ("Português"); one this version does not offer, by its code;
    "" when unknown."""
    if language in knowledge.languages:
        return knowledge.speaking(language).text("language.name")
    return language


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
    when = moment(lead.at)
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


def leads_empty(text: Texts) -> Note:
    """``/leads`` before the first lead: there are none yet, and how one comes in."""
    return Note((text("admin.leads_empty", label=text("lead.button")),))


def latest_leads(
    recent: Sequence[Waiting], *, more: bool, older: bool, knowledge: Knowledge, now: int
) -> list[Note]:
    """The latest leads, newest first, whatever became of them: a title, then one note per lead
    (a front end never splits one across messages), the last with a "Show older" button when
    there are ``more``. ``older``: a page asked for with that button. No leads: no notes."""
    if not recent:
        return []
    text = knowledge.text
    title = Note(
        headline=text("admin.leads_older" if older else "admin.leads_latest", count=len(recent))
    )
    notes = [history_entry(waiting, knowledge, now=now) for waiting in recent]
    if more:
        button = LeadButton(text("admin.leads_show_older"), OLDER, recent[-1].lead.id)
        notes[-1] = replace(notes[-1], buttons=(button,))
    return [title, *notes]


def history_entry(waiting: Waiting, knowledge: Knowledge, *, now: int) -> Note:
    """One of the latest leads: its number, when it came, the person's name; the recommendation,
    the link and the language; then how it went at each destination."""
    lead, text = waiting.lead, knowledge.text
    source = clip(lead.source) if lead.source else text("lead.no_source")
    about = [text(f"stack.{lead.recommendation}"), text("admin.history_link", source=source)]
    language = language_name(lead.language, knowledge)
    if language:
        about.append(language)
    name = clip(lead.name) or channel_name(lead.channel, text)  # a web visitor has no name
    headline = text("admin.history_lead", number=lead.id, when=moment(lead.at), name=name)
    lines = [" · ".join(about)]
    lines += [_history_delivery(d, text, now=now) for d in waiting.deliveries]
    if not waiting.deliveries:
        lines.append(text("admin.history_delivery.nowhere"))
    return Note(tuple(lines), headline=headline)


def _history_delivery(delivery: LeadDelivery, text: Texts, *, now: int) -> str:
    """How one delivery of a lead went, in a line: delivered or handled (and when), or waiting
    (when it is tried next, how often it was, and why it failed)."""
    destination = destination_name(delivery.destination, text)
    lead_at = delivery.lead.at
    if delivery.status != PENDING:
        key = "handled" if delivery.status == HANDLED else "delivered"
        if delivery.delivered_at is None:
            return text(f"admin.lead_delivery.{key}", destination=destination)
        when = clock_time(delivery.delivered_at, day_of=lead_at)
        return text(f"admin.history_delivery.{key}", destination=destination, when=when)
    if delivery.attempts == 0 and not delivery.last_error:
        return text("admin.history_delivery.waiting", destination=destination)
    values = {
        "destination": destination,
        "count": delivery.attempts,
        "reason": clip(delivery.last_error or "?"),
    }
    if delivery.next_attempt_at <= now:
        return text("admin.history_delivery.failing_now", **values)
    when = clock_time(delivery.next_attempt_at, day_of=now)
    return text("admin.history_delivery.failing", when=when, **values)


def moment(at: float) -> str:
    """A moment as admins read it everywhere in ``/leads``: "2026-12-07 14:01 UTC"."""
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M UTC")


def clock_time(at: float, *, day_of: float) -> str:
    """A moment near another (UTC): its time ("14:02") on the same day, else with its date
    ("2026-12-08 09:15")."""
    moment_at, other = datetime.fromtimestamp(at, UTC), datetime.fromtimestamp(day_of, UTC)
    return moment_at.strftime("%H:%M" if moment_at.date() == other.date() else "%Y-%m-%d %H:%M")


def clip(words: str, limit: int = FIELD_LIMIT) -> str:
    """``words`` on one line, at most ``limit`` characters (cut ones end in "…")."""
    line = " ".join(words.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


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
