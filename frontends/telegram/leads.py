"""Leads in the Telegram front end: the sales chat checked, leads delivered, admins kept informed.

- At start-up (:func:`on_start`) the sales chat is checked (one log line; a private message to
  each admin when it does not work), the senders of each destination are set up, and every
  lead still waiting is tried at once.
- Jobs: deliver what is due every few seconds (and right after a lead is stored), check the
  sales chat every minute (and when the bot's membership there changes), and alert admins once
  about a lead not delivered for ``LEAD_ALERT_MINUTES``.
- ``/leads`` (admins, private chat): the leads still waiting, why, and buttons to try again or
  mark one as handled.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

import aiohttp
from telegram import Bot, Update
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import ChatMemberHandler

from handoff import TELEGRAM, WEBHOOK, LeadDesk, Waiting
from handoff.webhook import WebhookSender
from storage.base import DELIVERED, HANDLED, PENDING, LeadDelivery, StorageError

from . import callbacks
from .context import BotApp, BotContext, Services
from .delivery import is_not_modified
from .render import TelegramPresenter, bold, button, inline
from .sales import LeadOffice, SalesChatSender, check_sales_chat, hand_off_for
from .share import deep_link

logger = logging.getLogger(__name__)

HTML = ParseMode.HTML
#: How often due deliveries are looked for (a new lead is tried at once).
DELIVER_EVERY_SECONDS = 3.0
#: How often the sales chat is checked, and overdue leads looked for.
CHECK_EVERY_SECONDS = 60.0
ALERT_EVERY_SECONDS = 60.0
#: The longest a check of the sales chat at start-up may hold the start.
START_CHECK_SECONDS = 15.0
#: Leads listed by /leads at once (one message each).
LEADS_SHOWN = 10
#: What the log says about each problem a check of the sales chat finds.
PROBLEMS_IN_LOGS = {
    "not_found": "the chat does not exist for the bot (wrong id, or the bot is not in it)",
    "migrated": "the group became a supergroup; set SALES_CHAT_ID to its new id",
    "kicked": "the bot was removed from the chat",
    "not_member": "the bot is not a member of the chat",
    "no_rights": "the bot may not send messages there",
}
RETRY, SETTLE = callbacks.RETRY_LEAD, callbacks.SETTLE_LEAD
#: A text from data/texts.yaml with its values filled in.
Texts = Callable[..., str]

__all__ = ["LeadOffice", "hand_off_for", "install", "kick", "on_start", "on_stop"]


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
    office, settings = svc.leads, svc.settings
    desk = office.desk
    if settings.sales_chat_id is not None:
        desk.senders[TELEGRAM] = SalesChatSender(app.bot, settings.sales_chat_id, svc.presenter)
        await _check(app.bot, office, svc.presenter, startup=True)
    if settings.lead_webhook_url is not None and settings.lead_webhook_secret is not None:
        office.session = aiohttp.ClientSession()
        hook = WebhookSender(
            settings.lead_webhook_url,
            settings.lead_webhook_secret,
            svc.knowledge,
            office.session,
            source_link=lambda source: deep_link(app.bot.username, source),
            clock=svc.store.clock,
        )
        desk.senders[WEBHOOK] = hook
        logger.info("leads are also posted to the CRM hook at %s", hook.where)
    waiting = await desk.resume()
    if waiting:
        logger.info("%d lead deliveries are waiting; trying them now", waiting)


async def on_stop(app: BotApp) -> None:
    """Close the CRM hook's connections."""
    office = app.bot_data.services.leads
    if office.session is not None:
        session, office.session = office.session, None
        await session.close()


def kick(context: BotContext) -> None:
    """A lead was just stored: deliver it now rather than at the next tick."""
    context.application.create_task(_deliver(context.services.leads.desk), name="leads")


# -- jobs ------------------------------------------------------------------------------------


async def deliver_due(context: BotContext) -> None:
    """Delivers the leads whose next attempt is due."""
    await _deliver(context.services.leads.desk)


async def _deliver(desk: LeadDesk) -> None:
    try:
        await desk.deliver_due()
    except StorageError as exc:  # the database is away for now: the next round tries again
        logger.warning("could not deliver leads now: %s", exc)


async def check_again(context: BotContext) -> None:
    """Checks the sales chat again; admins hear about a change."""
    svc = context.services.for_admins()
    if svc.settings.sales_chat_id is not None:
        await _check(context.bot, svc.leads, svc.presenter, startup=False)


async def membership_changed(update: Update, context: BotContext) -> None:
    """The bot was added to, removed from or restricted in a chat: if it is the sales chat,
    check it now instead of within the minute."""
    member = update.my_chat_member
    svc = context.services.for_admins()
    if member is None or member.chat.id != svc.settings.sales_chat_id:
        return
    await _check(context.bot, svc.leads, svc.presenter, startup=False)


async def alert_overdue(context: BotContext) -> None:
    """Tells admins, once, about leads not delivered for LEAD_ALERT_MINUTES."""
    svc = context.services.for_admins()
    minutes = svc.settings.lead_alert_minutes
    try:
        overdue = await svc.leads.desk.overdue(minutes * 60)
    except StorageError as exc:
        logger.warning("could not look for overdue leads now: %s", exc)
        return
    if not overdue:
        return
    t = svc.presenter.t
    lines = [bold(svc.knowledge.text("admin.leads_overdue", minutes=minutes, count=len(overdue)))]
    for waiting in overdue:
        for delivery in waiting.pending:
            lines.append(
                t(
                    "admin.leads_overdue_line",
                    number=waiting.lead.id,
                    name=waiting.lead.name,
                    destination=_destination(svc.knowledge.text, delivery.destination),
                    reason=delivery.last_error or "?",
                )
            )
    lines.append(t("admin.leads_overdue_hint"))
    logger.warning("%d leads not delivered for %d minutes or more", len(overdue), minutes)
    await _tell_admins(context.bot, svc.settings.admin_ids, "\n".join(lines))


async def _check(
    bot: Bot, office: LeadOffice, presenter: TelegramPresenter, *, startup: bool
) -> None:
    """Check the sales chat; log and tell admins when what it found changed (at start-up:
    always, when it does not work)."""
    settings, t = office.settings, presenter.t
    chat_id = settings.sales_chat_id
    assert chat_id is not None
    try:
        found = await asyncio.wait_for(check_sales_chat(bot, chat_id), START_CHECK_SECONDS)
    except TimeoutError:
        found = None
    if found is None or not found.known:
        why = found.reason if found is not None else "no answer in time"
        logger.warning("SALES_CHAT_ID=%d: could not check the chat yet (%s)", chat_id, why)
        return
    if found.works:
        await office.desk.destination_works(TELEGRAM)
        if office.sales_problem != "":
            logger.info("SALES_CHAT_ID=%d: leads go to “%s”", chat_id, found.title)
            if office.sales_problem is not None:  # it did not work before: say it does now
                await _tell_admins(
                    bot, settings.admin_ids, t("admin.sales_chat_ok", title=found.title)
                )
        office.sales_problem = ""
        return
    office.hand_off.mark(TELEGRAM, False)
    problem = presenter.k.text(f"admin.sales_problem.{found.problem}", reason=found.reason)
    if office.sales_problem == found.problem and not startup:
        return
    office.sales_problem = found.problem
    crm = office.hand_off.is_open  # the CRM hook still takes leads
    logger.error(
        "SALES_CHAT_ID=%d: leads can't be posted there: %s (Telegram: %s); %s until it works "
        "(checked every minute)",
        chat_id,
        PROBLEMS_IN_LOGS.get(found.problem, "Telegram refused"),
        found.reason,
        "leads for it wait" if crm else 'the "Talk to an expert" button is off',
    )
    lines = [
        t("admin.sales_chat_broken", chat=chat_id, problem=problem),
        t("admin.sales_chat_leads_wait" if crm else "admin.sales_chat_button_off"),
        t("admin.sales_chat_fix"),
    ]
    await _tell_admins(bot, settings.admin_ids, "\n".join(lines))


async def _tell_admins(bot: Bot, admin_ids: Iterable[int], text: str) -> None:
    """A private message to each admin; one who never started the bot can't get it (logged)."""
    for admin_id in sorted(admin_ids):
        try:
            await bot.send_message(admin_id, text, parse_mode=HTML)
        except TelegramError as exc:
            logger.warning("could not tell admin %d: %s", admin_id, exc)


# -- /leads ------------------------------------------------------------------------------------


async def leads_command(update: Update, context: BotContext) -> None:
    """Lists the leads still waiting to be delivered, each with Try again / Mark as handled."""
    svc, chat = context.services.for_user(update.effective_user), update.effective_chat
    assert chat is not None
    t = svc.presenter.t
    waiting = await svc.leads.desk.waiting(limit=LEADS_SHOWN + 1)
    if not waiting:
        await context.bot.send_message(chat.id, t("admin.leads_none"), parse_mode=HTML)
        return
    counts = await svc.leads.desk.counts()
    title = bold(svc.knowledge.text("admin.leads_title", count=counts.waiting))
    if len(waiting) > LEADS_SHOWN:
        title += "\n" + t("admin.leads_more", count=LEADS_SHOWN)
    await context.bot.send_message(chat.id, title, parse_mode=HTML)
    for lead in waiting[:LEADS_SHOWN]:
        text, markup = lead_card(svc, lead)
        await context.bot.send_message(
            chat.id, text, parse_mode=HTML, api_kwargs={"reply_markup": markup}
        )


async def lead_button(update: Update, context: BotContext, press: callbacks.LeadPress) -> None:
    """Try a lead again, or mark it handled; the card then shows how it stands."""
    query, chat = update.callback_query, update.effective_chat
    assert query is not None
    svc = context.services.for_user(update.effective_user)
    admin = query.from_user.id in svc.settings.admin_ids
    if not admin or chat is None or chat.type != ChatType.PRIVATE:
        await query.answer(svc.presenter.t("telegram.forged"))
        return
    desk = svc.leads.desk
    if press.action == callbacks.RETRY_LEAD:
        lead = await desk.retry(press.lead_id)
    else:
        lead = await desk.settle(press.lead_id)
    if lead is None:
        text, markup = svc.presenter.t("admin.lead_gone"), None
    else:
        text, markup = lead_card(svc, lead)
    try:
        await query.edit_message_text(
            text, parse_mode=HTML, api_kwargs={"reply_markup": markup} if markup else None
        )
    except BadRequest as exc:
        if not is_not_modified(exc):
            raise
    toast = "admin.lead_tried" if press.action == callbacks.RETRY_LEAD else "admin.lead_settled"
    await query.answer(svc.presenter.t(toast))


def lead_card(svc: Services, waiting: Waiting) -> tuple[str, dict[str, object] | None]:
    """A lead as /leads shows it, with its buttons while a delivery is pending."""
    k, t = svc.knowledge, svc.presenter.t
    lead = waiting.lead
    when = datetime.fromtimestamp(lead.at, UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        t(
            "admin.lead",
            number=lead.id,
            when=when,
            name=lead.name,
            contact=lead.contact,
            source=lead.source or k.text("lead.no_source"),
            recommendation=k.text(f"stack.{lead.recommendation}"),
        )
    ]
    lines += [_delivery_line(svc, d) for d in waiting.deliveries]
    if not waiting.pending:
        done = waiting.deliveries and all(d.status == DELIVERED for d in waiting.deliveries)
        lines.append(t("admin.lead_done" if done else "admin.lead_settled"))
        return "\n".join(lines), None
    markup = inline(
        [
            [
                button(k.text("admin.lead_retry"), callbacks.encode_lead(RETRY, lead.id)),
                button(k.text("admin.lead_settle"), callbacks.encode_lead(SETTLE, lead.id)),
            ]
        ]
    )
    return "\n".join(lines), markup


def _delivery_line(svc: Services, delivery: LeadDelivery) -> str:
    t = svc.presenter.t
    destination = _destination(svc.knowledge.text, delivery.destination)
    if delivery.status == PENDING and delivery.attempts == 0 and not delivery.last_error:
        return t("admin.lead_delivery.waiting", destination=destination)
    if delivery.status == PENDING:
        return t(
            "admin.lead_delivery.pending",
            destination=destination,
            count=delivery.attempts,
            reason=delivery.last_error or "?",
        )
    key = "handled" if delivery.status == HANDLED else "delivered"
    return t(f"admin.lead_delivery.{key}", destination=destination)


def _destination(text: Texts, destination: str) -> str:
    """A destination's name for admins (plain text)."""
    if destination in (TELEGRAM, WEBHOOK):
        return text(f"admin.destination.{destination}")
    return destination
