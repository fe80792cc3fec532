"""Shareable results: the inline-mode card, and what someone opening a shared link sees."""

from __future__ import annotations

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
from storage.sqlite import SHARED

from .admin import deep_link
from .render import esc
from .turn import Services, Turn, services


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
