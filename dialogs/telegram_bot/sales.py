"""For sales staff and operators: tracked links, sharing, lead hand-off, statistics, privacy."""

from __future__ import annotations

import csv
import io
import logging
from datetime import UTC, datetime

import segno
from email_validator import EmailNotValidError, validate_email
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Update,
)
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from advisor import Recommendation, recommend
from advisor.render import render_html

from .. import stats
from ..sharecode import ShareCodes
from ..storage import LEAD, SHARED, Lead
from .turn import PAYLOAD_RE, Services, Turn, services
from .views import esc

logger = logging.getLogger(__name__)
HTML = ParseMode.HTML

QR_SCALE = 8


def deep_link(username: str, payload: str) -> str:
    """The t.me link that starts the bot with a payload."""
    return f"https://t.me/{username}?start={payload}"


# -- tracked links (admins) ------------------------------------------------------------------


async def link(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Replies with a tracked deep link and its QR code, for slides and print."""
    svc, chat = services(context), update.effective_chat
    assert chat is not None
    views = svc.views
    if not context.args:
        await context.bot.send_message(chat.id, views.t("admin.link_usage"), parse_mode=HTML)
        return
    name = " ".join(context.args)
    if not PAYLOAD_RE.match(name) or ShareCodes.is_share_payload(name):
        await context.bot.send_message(
            chat.id, views.t("admin.link_invalid", name=name), parse_mode=HTML
        )
        return
    url = deep_link(context.bot.username, name)
    await context.bot.send_message(
        chat.id, views.t("admin.link", name=name, url=url), parse_mode=ParseMode.HTML
    )
    image = io.BytesIO()
    segno.make(url, error="m").save(image, kind="png", scale=QR_SCALE, border=4)
    await context.bot.send_photo(
        chat.id, image.getvalue(), caption=svc.knowledge.text("admin.link_caption", url=url)
    )


# -- statistics and export (admins) ----------------------------------------------------------


async def stats_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Shows started, finished, shared and leads per source for 7 and 30 days."""
    svc, chat = services(context), update.effective_chat
    assert chat is not None
    now = svc.store.clock()
    blocks = [f"<b>{svc.views.t('admin.stats_title')}</b>"]
    blocks.extend(_window_text(svc, stats.compute(svc.store, now, days)) for days in stats.WINDOWS)
    await context.bot.send_message(chat.id, "\n\n".join(blocks), parse_mode=ParseMode.HTML)


def _window_text(svc: Services, window: stats.WindowStats) -> str:
    t, k = svc.views.t, svc.knowledge
    lines = [f"<b>{t('admin.stats_window', days=window.days)}</b>"]
    lines.append(_tally_line(svc, k.text("admin.stats_overall"), window.overall))
    for source, tally in sorted(window.by_source.items()):
        name = source or k.text("admin.stats_direct")
        lines.append("• " + _tally_line(svc, name, tally))
    if window.recommendations:
        split = " · ".join(
            f"{k.text(f'stack.{choice}')} {count}"
            for choice, count in window.recommendations.most_common()
        )
        lines.append(t("admin.stats_split", split=split))
    else:
        lines.append(t("admin.stats_split_none"))
    if window.abandoned:
        question_id, count = window.abandoned.most_common(1)[0]
        question = k.question(question_id)
        prompt = question.prompt if question else question_id
        lines.append(t("admin.stats_abandoned", question=prompt, count=count))
    else:
        lines.append(t("admin.stats_abandoned_none"))
    return "\n".join(lines)


def _tally_line(svc: Services, name: str, tally: stats.Tally) -> str:
    return svc.views.t(
        "admin.stats_line",
        name=name,
        started=tally.started,
        finished=tally.finished,
        rate=f"{tally.completion:.0%}",
        shared=tally.shared,
        leads=tally.leads,
    )


EXPORT_COLUMNS = (
    "type",
    "at",
    "chat_id",
    "user_id",
    "name",
    "source",
    "state",
    "recommendation",
    "answers",
    "contact",
)


def _cell(value: object) -> object:
    """Keep spreadsheets from running user-typed text (a name like "=HYPERLINK(…)") as a formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


async def export(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Sends a CSV file of all sessions and leads."""
    svc, chat = services(context), update.effective_chat
    assert chat is not None
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS)
    writer.writeheader()
    for row in svc.store.export_rows():
        row["at"] = datetime.fromtimestamp(float(str(row["at"])), UTC).isoformat()
        writer.writerow({key: _cell(value) for key, value in row.items()})
    when = datetime.fromtimestamp(svc.store.clock(), UTC).strftime("%Y-%m-%d %H:%M UTC")
    await context.bot.send_document(
        chat.id,
        buffer.getvalue().encode("utf-8"),
        filename="stack-advisor-export.csv",
        caption=svc.knowledge.text("admin.export_caption", when=when),
    )


# -- sharing ---------------------------------------------------------------------------------


async def inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answers an inline query with a result card (for a share code) or an invitation."""
    query = update.inline_query
    assert query is not None
    svc = services(context)
    k, username = svc.knowledge, context.bot.username
    payload = query.query.strip()
    answers = svc.share_codes.decode(payload) if payload else None
    if answers is None:
        result = InlineQueryResultArticle(
            id="invite",
            title=k.text("share.invite_title"),
            description=k.text("share.invite_description"),
            input_message_content=InputTextMessageContent(esc(k.text("share.invite_text"))),
            reply_markup=_open_button(svc, deep_link(username, "shared")),
        )
        await query.answer([result], cache_time=300, is_personal=False)
        return
    rec = recommend(k, answers)
    stack = k.text(f"stack.{rec.choice}")
    confidence = k.text(f"confidence.{rec.confidence}")
    result = InlineQueryResultArticle(
        id=payload[:64],
        title=k.text("share.card_title", stack=stack),
        description=k.text("share.card_description", confidence=confidence),
        input_message_content=InputTextMessageContent(_card(svc, rec), parse_mode=ParseMode.HTML),
        reply_markup=_open_button(svc, deep_link(username, payload)),
    )
    await query.answer([result], cache_time=0, is_personal=True)
    if not svc.store.has_event(query.from_user.id, SHARED, payload):
        record = svc.store.load(query.from_user.id, query.from_user.id)
        source = record.session.source if record else None
        svc.store.record_event(query.from_user.id, SHARED, source=source, detail=payload)


def _card(svc: Services, rec: Recommendation) -> str:
    """The shared card: the recommendation, its confidence and one line per criterion."""
    t, k = svc.views.t, svc.knowledge
    lines = [
        "<b>"
        + t(
            "share.card_head",
            stack=k.text(f"stack.{rec.choice}"),
            confidence=k.text(f"confidence.{rec.confidence}"),
        )
        + "</b>"
    ]
    for cr in rec.criteria:
        lines.append(
            "• "
            + t(
                "share.card_criterion",
                title=cr.criterion.title,
                winner=k.text(f"stack.{cr.criterion.verdict}"),
                level=k.text(f"importance.{cr.level}"),
            )
        )
    return "\n".join(lines)


def _open_button(svc: Services, url: str) -> InlineKeyboardMarkup:
    text = svc.knowledge.text("share.card_open")
    return InlineKeyboardMarkup([[InlineKeyboardButton(text, url=url)]])


async def show_shared(turn: Turn, payload: str) -> None:
    """Shows the result behind a share link, and offers the quiz to the person opening it."""
    svc = turn.svc
    answers = svc.share_codes.decode(payload)
    quiz = svc.views.take_quiz_keyboard(turn.session, turn.user.id)
    if turn.is_new and not turn.session.source:
        turn.session.source = "shared"
    turn.save()
    if answers is None:
        await turn.send_html([svc.views.t("share.broken")], quiz)
        return
    await turn.send_text(svc.views.t("share.shared_intro"))
    await turn.send_html(render_html(recommend(svc.knowledge, answers), svc.knowledge), quiz)


# -- hand-off to an expert ---------------------------------------------------------------------


async def ask_consent(turn: Turn) -> None:
    """Says what will be shared and with whom, and asks for consent."""
    await turn.show(turn.svc.engine.hand_off(turn.session, "lead"))


async def consented(turn: Turn) -> None:
    """Asks for a contact: the share-contact button or a typed e-mail address."""
    await turn.show(turn.svc.engine.hand_off(turn.session, "consent"))


async def declined(turn: Turn) -> None:
    """Leaves the hand-off; nothing is shared."""
    turn.svc.engine.hand_off(turn.session, "decline")
    await turn.show(turn.svc.engine.view(turn.session, notice="lead.declined"))


async def contact_text(turn: Turn, text: str) -> None:
    """A typed answer while we wait for a contact: an e-mail address, or "No thanks"."""
    k = turn.svc.knowledge
    if text.strip().casefold() == k.text("lead.consent_no").casefold():
        await declined(turn)
        return
    try:
        email = validate_email(text.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        await turn.send_text(turn.svc.views.t("lead.bad_email"))
        return
    await hand_over(turn, email)


async def hand_over(turn: Turn, contact: str) -> None:
    """Stores the lead, posts the summary to the sales chat and thanks the user."""
    svc, session = turn.svc, turn.session
    k = svc.knowledge
    assert svc.settings.sales_chat_id is not None
    rec = recommend(k, session.answers)
    lead = Lead(
        chat_id=turn.chat_id,
        user_id=turn.user.id,
        name=turn.user.full_name,
        contact=contact,
        source=session.source,
        recommendation=rec.choice,
        answers=dict(rec.answers),
    )
    svc.engine.hand_off(session, "contacted")
    svc.store.add_lead(lead)
    svc.store.record_event(turn.user.id, LEAD, source=session.source, detail=rec.choice)
    turn.save()
    answers = []
    for question in k.questions:
        option = question.option(rec.answers.get(question.id))
        if option is not None:
            answers.append(
                k.text("lead.sales_answer", question=question.prompt, answer=option.label)
            )
    summary = k.text(
        "lead.sales_summary",
        name=lead.name,
        contact=contact,
        source=session.source or k.text("lead.no_source"),
        recommendation=k.text(f"stack.{rec.choice}"),
        confidence=k.text(f"confidence.{rec.confidence}"),
        answers="\n".join(answers),
    )
    await turn.bot.send_message(svc.settings.sales_chat_id, summary)
    await turn.show(svc.engine.view(session, notice="lead.thanks"))


async def contact_shared(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Takes a shared phone contact during the hand-off; elsewhere, it is just unsupported."""
    turn = Turn(update, context)
    message = update.effective_message
    assert message is not None and message.contact is not None
    if turn.is_repeat():
        return
    if turn.session.state != "lead_contact" or turn.svc.settings.sales_chat_id is None:
        await turn.send_text(turn.svc.views.t("telegram.unsupported"))
        return
    if message.contact.user_id != turn.user.id:  # someone else's card: not consented by them
        await turn.send_text(turn.svc.views.t("lead.not_own_contact"))
        return
    await hand_over(turn, f"+{message.contact.phone_number.lstrip('+')}")


# -- privacy -------------------------------------------------------------------------------------


async def forget(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Asks for confirmation before deleting everything stored about the user."""
    svc, chat, user = services(context), update.effective_chat, update.effective_user
    assert chat is not None and user is not None
    await context.bot.send_message(
        chat.id,
        svc.views.t("privacy.forget_ask"),
        parse_mode=HTML,
        reply_markup=svc.views.forget_keyboard(user.id),
    )


async def forget_confirmed(svc: Services, user_id: int) -> None:
    """Deletes every row about the user."""
    removed = svc.store.forget_user(user_id)
    logger.info("deleted %d rows on a user's request", removed)
