"""Leads in the Telegram front end: adapters over :class:`handoff.LeadOffice`.

- At start-up (:func:`on_start`) the sales chat's sender is set up and the chat checked, the
  CRM hook opened, and every lead still waiting tried at once.
- Jobs: deliver what is due every few seconds (a new lead is tried at once: see
  :mod:`bootstrap`), check the sales chat every minute (and when the bot's membership there
  changes), and alert admins once about a lead not delivered for ``LEAD_ALERT_MINUTES``.
- ``/leads`` (admins, private chat): the leads still waiting, why, and buttons to try again or
  mark one as handled; then the latest leads (``/leads 30``: that many) with how each delivery
  went, and a button to show older ones.

What to say is decided in :mod:`handoff`; here it becomes Bot API calls: a
:class:`~handoff.Note` is sent as HTML (its headline in bold), its buttons as an inline
keyboard.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence

from telegram import Bot, Update
from telegram.constants import ChatMemberStatus, ChatType, ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import ChatMemberHandler

from handoff import TELEGRAM, Note
from handoff.lead_texts import OLDER, RETRY, SETTLE
from handoff.office import LATEST_MOST, LATEST_SHOWN

from . import callbacks
from .context import BotApp, BotContext, Services
from .delivery import is_not_modified
from .presenter import MESSAGE_LIMIT, Keyboard, bold, button, esc, grouped, inline
from .sales import SalesChatSender, check_sales_chat
from .share import deep_link

logger = logging.getLogger(__name__)
#: A bot with one of these statuses is in the chat.
IN_CHAT = frozenset(
    {ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.RESTRICTED}
)

HTML = ParseMode.HTML
#: How often due deliveries are looked for (a new lead is tried at once).
DELIVER_EVERY_SECONDS = 3.0
#: How often the sales chat is checked, and overdue leads looked for.
CHECK_EVERY_SECONDS = 60.0
ALERT_EVERY_SECONDS = 60.0
#: The longest a check of the sales chat at start-up may hold the start.
START_CHECK_SECONDS = 15.0
#: The callback code of each action of a button under a lead (or under the latest leads).
CODES = {RETRY: callbacks.RETRY_LEAD, SETTLE: callbacks.SETTLE_LEAD, OLDER: callbacks.OLDER_LEADS}

__all__ = ["install", "on_start", "on_stop"]


# -- wiring ------------------------------------------------------------------------------------


def install(app: BotApp) -> None:
    """Add the jobs and the handler of the bot's membership changes (``build_application``)."""
    app.add_handler(ChatMemberHandler(membership_changed, ChatMemberHandler.MY_CHAT_MEMBER))
    if app.job_queue is None:
        return
    app.job_queue.run_repeating(deliver_due, interval=DELIVER_EVERY_SECONDS, first=0.5)
    app.job_queue.run_repeating(
        check_again, interval=CHECK_EVERY_SECONDS, first=CHECK_EVERY_SECONDS
    )
    app.job_queue.run_repeating(
        alert_overdue, interval=ALERT_EVERY_SECONDS, first=ALERT_EVERY_SECONDS
    )


async def on_start(app: BotApp) -> None:
    """Set up each destination's sender, check the sales chat, and make waiting leads due."""
    svc = app.bot_data.services.for_admins()
    office, chat_id = svc.leads, svc.settings.sales_chat_id
    if chat_id is not None:
        office.desk.senders[TELEGRAM] = SalesChatSender(app.bot, chat_id, svc.knowledge)
        await _check(app.bot, svc, startup=True)
    office.open_crm_hook(
        svc.knowledge, source_link=lambda source: deep_link(app.bot.username, source)
    )
    await office.resume()


async def on_stop(app: BotApp) -> None:
    """Close the CRM hook's connections."""
    await app.bot_data.services.leads.close()


# -- jobs ------------------------------------------------------------------------------------


async def deliver_due(context: BotContext) -> None:
    """Delivers the leads whose next attempt is due."""
    await context.services.leads.deliver_due()


async def check_again(context: BotContext) -> None:
    """Checks the sales chat again; admins hear about a change."""
    svc = context.services.for_admins()
    if svc.settings.sales_chat_id is not None:
        await _check(context.bot, svc, startup=False)


async def membership_changed(update: Update, context: BotContext) -> None:
    """The bot was added to, removed from or restricted in a chat: if it is the sales chat,
    check it now instead of within the minute."""
    member = update.my_chat_member
    svc = context.services.for_admins()
    if member is None:
        return
    chat = member.chat
    joined = (
        member.new_chat_member.status in IN_CHAT and member.old_chat_member.status not in IN_CHAT
    )
    if joined and chat.type in (ChatType.GROUP, ChatType.SUPERGROUP):
        # The operator's way to the group's id (no names of people, no token).
        logger.info(
            "added to the group %r, id %d (SALES_CHAT_ID=%d sends leads there)",
            chat.title,
            chat.id,
            chat.id,
        )
    if chat.id != svc.settings.sales_chat_id:
        return
    await _check(context.bot, svc, startup=False)


async def alert_overdue(context: BotContext) -> None:
    """Tells admins, once, about leads not delivered for LEAD_ALERT_MINUTES."""
    svc = context.services.for_admins()
    alert = await svc.leads.overdue_alert(svc.knowledge.text)
    if alert is not None:
        await _tell_admins(context.bot, svc.settings.admin_ids, html(alert))


async def _check(bot: Bot, svc: Services, *, startup: bool) -> None:
    """Ask Telegram whether the sales chat works; admins hear what changed (``svc`` speaks
    their language)."""
    chat_id = svc.settings.sales_chat_id
    assert chat_id is not None
    try:
        found = await asyncio.wait_for(check_sales_chat(bot, chat_id), START_CHECK_SECONDS)
    except TimeoutError:
        found = None
    news = await svc.leads.sales_chat_checked(found, startup=startup, text=svc.knowledge.text)
    if news is not None:
        await _tell_admins(bot, svc.settings.admin_ids, html(news))


async def _tell_admins(bot: Bot, admin_ids: Iterable[int], text: str) -> None:
    """A private message to each admin; one who never started the bot can't get it (logged)."""
    for admin_id in sorted(admin_ids):
        try:
            await bot.send_message(admin_id, text, parse_mode=HTML)
        except TelegramError as exc:
            logger.warning("could not tell admin %d: %s", admin_id, exc)


# -- /leads ------------------------------------------------------------------------------------


async def leads_command(update: Update, context: BotContext) -> None:
    """Lists the leads still waiting to be delivered, each with Try again / Mark as handled,
    then the latest leads with how each delivery went (``/leads 30``: the latest 30)."""
    svc, chat = context.services.for_user(update.effective_user), update.effective_chat
    assert chat is not None
    listing = await svc.leads.listing(svc.knowledge, latest=how_many(context.args))
    for note in listing.waiting:
        markup = keyboard(note)
        await context.bot.send_message(
            chat.id,
            html(note),
            parse_mode=HTML,
            api_kwargs={"reply_markup": markup} if markup else None,
        )
    await _send_packed(context, chat.id, listing.latest)


def how_many(args: Sequence[str] | None) -> int:
    """The latest leads ``/leads`` lists: the number after it (``/leads 30``; "all": the most
    at once), else the usual number."""
    word = args[0].strip().lower() if args else ""
    if word == "all":
        return LATEST_MOST
    if word.isdecimal():
        return LATEST_MOST if len(word) > 4 else max(1, min(int(word), LATEST_MOST))
    return LATEST_SHOWN


async def _send_packed(context: BotContext, chat_id: int, notes: Sequence[Note]) -> None:
    for text, markup in pack(notes):
        await context.bot.send_message(
            chat_id, text, parse_mode=HTML, api_kwargs={"reply_markup": markup} if markup else None
        )


def pack(notes: Sequence[Note], limit: int = MESSAGE_LIMIT) -> list[tuple[str, Keyboard | None]]:
    """Notes as few HTML messages as fit Telegram's limit, a blank line between two; a note is
    never split, and its buttons go under the message it ends up in."""
    texts = [html(note) for note in notes]
    packed = []
    for group in grouped(texts, limit):
        buttons = tuple(b for i in group for b in notes[i].buttons)
        packed.append(("\n\n".join(texts[i] for i in group), keyboard(Note(buttons=buttons))))
    return packed


async def lead_button(update: Update, context: BotContext, press: callbacks.LeadPress) -> None:
    """Try a lead again, or mark it handled; the card then shows how it stands. Or show the
    leads older than the latest ones listed."""
    query, chat = update.callback_query, update.effective_chat
    assert query is not None
    svc = context.services.for_user(update.effective_user)
    admin = query.from_user.id in svc.settings.admin_ids
    if not admin or chat is None or chat.type != ChatType.PRIVATE:
        await query.answer(svc.presenter.t("telegram.forged"))
        return
    if press.action == callbacks.OLDER_LEADS:
        await _older(update, context, press.lead_id)
        return
    retry = press.action == callbacks.RETRY_LEAD
    use = svc.leads.retry if retry else svc.leads.settle
    card = await use(press.lead_id, svc.knowledge.text)
    markup = keyboard(card)
    try:
        await query.edit_message_text(
            html(card), parse_mode=HTML, api_kwargs={"reply_markup": markup} if markup else None
        )
    except BadRequest as exc:
        if not is_not_modified(exc):
            raise
    await query.answer(svc.presenter.t("admin.lead_tried" if retry else "admin.lead_settled"))


async def _older(update: Update, context: BotContext, before: int) -> None:
    """The "Show older" button: the leads numbered below ``before``, as new messages, and the
    button goes away (pressed twice, the second press finds it gone). None left: a short answer
    says so."""
    query, chat = update.callback_query, update.effective_chat
    assert query is not None and chat is not None
    svc = context.services.for_user(update.effective_user)
    notes = await svc.leads.older(before, svc.knowledge)
    if not notes:
        await query.answer(svc.presenter.t("admin.leads_no_older"))
        return
    try:
        await query.edit_message_reply_markup(None)
    except BadRequest as exc:  # too old to edit, or already without the button: no matter
        logger.info("could not take the Show older button away: %s", exc)
    await _send_packed(context, chat.id, notes)
    await query.answer()


def html(note: Note) -> str:
    """A note as Telegram HTML: its headline in bold, every word escaped."""
    head = [bold(note.headline)] if note.headline else []
    return "\n".join([*head, *map(esc, note.lines)])


def keyboard(note: Note) -> Keyboard | None:
    """A note's buttons in one row (None: it has none)."""
    if not note.buttons:
        return None
    return inline(
        [[button(b.label, callbacks.encode_lead(CODES[b.action], b.lead_id)) for b in note.buttons]]
    )
