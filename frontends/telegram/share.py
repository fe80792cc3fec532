"""Shareable results: the inline-mode card a user sends to any chat."""

from __future__ import annotations

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Update,
)
from telegram.constants import ParseMode

from advisor import Recommendation, recommend
from advisor.render import confidence_words, sums
from advisor.summary import render_summary_html

from .context import BotContext, Services
from .presenter import esc


def deep_link(username: str, payload: str) -> str:
    """The t.me link that starts the bot with a payload."""
    return f"https://t.me/{username}?start={payload}"


async def inline_query(update: Update, context: BotContext) -> None:
    """Answers an inline query with a result card (for a share code) or an invitation."""
    query = update.inline_query
    assert query is not None
    svc = context.services.for_user(update.effective_user)
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
    result = InlineQueryResultArticle(
        id=payload[:64],
        title=k.text("share.card_title", stack=k.text(f"stack.{rec.choice}")),
        description=k.text(
            "share.card_description",
            confidence=confidence_words(rec, k),
            **sums(rec, k),
        ),
        input_message_content=InputTextMessageContent(_card(svc, rec), parse_mode=ParseMode.HTML),
        reply_markup=_open_button(svc, deep_link(username, payload), web=_web_page(svc, payload)),
    )
    await query.answer([result], cache_time=0, is_personal=True)
    await svc.conversation.shared(query.from_user.id, payload)


def _card(svc: Services, rec: Recommendation) -> str:
    """The shared card: the one-screen summary, about the person who shared it ("they")."""
    return render_summary_html(rec, svc.knowledge, voice="they")


def _web_page(svc: Services, code: str) -> str | None:
    """The shared result's web page (WEB_URL set): it opens in any browser, and previews
    itself where the link is pasted."""
    web_url = svc.settings.web_url
    return f"{web_url}/r/{code}" if web_url is not None else None


def _open_button(svc: Services, url: str, *, web: str | None = None) -> InlineKeyboardMarkup:
    """Open the bot (and, with the web pages, the result in a browser)."""
    rows = [[InlineKeyboardButton(svc.knowledge.text("share.card_open"), url=url)]]
    if web is not None:
        rows.append([InlineKeyboardButton(svc.knowledge.text("share.card_web"), url=web)])
    return InlineKeyboardMarkup(rows)
