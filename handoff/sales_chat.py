"""The sales chat's health: what each check of it means for the hand-off, the log and admins.

At start-up and every minute after, the front end asks its messenger whether the bot can post
in ``SALES_CHAT_ID`` and hands the answer (a :class:`ChatCheck`) to :meth:`SalesChat.judge`.
A chat that works opens the sales chat as a destination; one that does not closes it (the
"Talk to an expert" button is off unless the CRM hook takes leads), so no contact is collected
that could not reach anyone. The log and admins hear about each change once (at start-up:
always, when it does not work); a check that could not ask changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from .lead_texts import Texts

#: What the log says about each problem a check of the sales chat finds.
PROBLEMS_IN_LOGS = {
    "not_found": "the chat does not exist for the bot (wrong id, or the bot is not in it)",
    "migrated": "the group became a supergroup; set SALES_CHAT_ID to its new id",
    "kicked": "the bot was removed from the chat",
    "not_member": "the bot is not a member of the chat",
    "no_rights": "the bot may not send messages there",
}


@dataclass(frozen=True, slots=True)
class ChatCheck:
    """What a check of the sales chat found. ``problem`` is a text key under
    ``admin.sales_problem`` (empty when it works); ``reason`` is the messenger's own words.
    ``known`` is False when it could not be asked (a network failure): nothing changes."""

    problem: str = ""
    title: str = ""
    reason: str = ""
    known: bool = True

    @property
    def works(self) -> bool:
        return self.known and not self.problem


@dataclass(frozen=True, slots=True)
class Verdict:
    """What one check means."""

    #: Open the sales chat as a destination (True), close it (False), or leave it (None).
    works: bool | None
    #: The problem to remember from now on (see :attr:`SalesChat.problem`).
    problem: str | None
    #: A line for the log, and its level (none: nothing to say).
    log: tuple[int, str] | None = None
    #: What admins are told, in plain lines (none: nothing).
    tell: tuple[str, ...] = ()


class SalesChat:
    """The sales chat ``chat_id``, as the checks found it."""

    def __init__(self, chat_id: int) -> None:
        self.chat_id = chat_id
        #: The problem the last definite check found ("" while it works; None before the
        #: first one), so admins hear about each change once.
        self.problem: str | None = None

    def judge(
        self, found: ChatCheck | None, *, startup: bool, elsewhere: bool, text: Texts
    ) -> Verdict:
        """What a check means (``None``: it got no answer in time). ``elsewhere``: leads reach
        the sales team without this chat (the CRM hook works)."""
        chat_id = self.chat_id
        if found is None or not found.known:
            why = found.reason if found is not None else "no answer in time"
            line = f"SALES_CHAT_ID={chat_id}: could not check the chat yet ({why})"
            return Verdict(None, self.problem, (logging.WARNING, line))
        if found.works:
            if self.problem == "":
                return Verdict(True, "")
            line = f"SALES_CHAT_ID={chat_id}: leads go to “{found.title}”"
            # It did not work before: say it does now (not at the first check).
            tell = () if self.problem is None else (text("admin.sales_chat_ok", title=found.title),)
            return Verdict(True, "", (logging.INFO, line), tell)
        if self.problem == found.problem and not startup:
            return Verdict(False, found.problem)
        what = PROBLEMS_IN_LOGS.get(found.problem, "Telegram refused")
        meanwhile = "leads for it wait" if elsewhere else 'the "Talk to an expert" button is off'
        line = (
            f"SALES_CHAT_ID={chat_id}: leads can't be posted there: {what} (Telegram: "
            f"{found.reason}); {meanwhile} until it works (checked every minute)"
        )
        problem = text(f"admin.sales_problem.{found.problem}", reason=found.reason)
        lines = (
            text("admin.sales_chat_broken", chat=chat_id, problem=problem),
            text("admin.sales_chat_leads_wait" if elsewhere else "admin.sales_chat_button_off"),
            text("admin.sales_chat_fix"),
        )
        return Verdict(False, found.problem, (logging.ERROR, line), lines)
