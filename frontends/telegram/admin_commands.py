"""Admin commands: tracked links with QR codes, statistics and the CSV export."""

from __future__ import annotations

import io
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import segno
from telegram import Update
from telegram.constants import ParseMode

from dialogs import stats

from .context import BotContext, Services
from .presenter import bold
from .share import deep_link

HTML = ParseMode.HTML
QR_SCALE = 8
EXPORT_NAME = "stack-advisor-export.csv"
MESSAGE_LIMIT = 4096


async def link(update: Update, context: BotContext) -> None:
    """Replies with a tracked deep link and its QR code, for slides and print."""
    svc, chat = context.services.for_user(update.effective_user), update.effective_chat
    assert chat is not None and update.effective_user is not None
    t = svc.presenter.t
    if not context.args:
        await context.bot.send_message(chat.id, t("admin.link_usage"), parse_mode=HTML)
        return
    name = " ".join(context.args)
    if not await svc.admin.make_link(update.effective_user.id, name):
        await context.bot.send_message(chat.id, t("admin.link_invalid", name=name), parse_mode=HTML)
        return
    url = deep_link(context.bot.username, name)
    await context.bot.send_message(chat.id, t("admin.link", name=name, url=url), parse_mode=HTML)
    await _qr(context, chat.id, url, svc.knowledge.text("admin.link_caption", url=url))
    web_url = svc.settings.web_url
    if web_url is not None:  # the same link for people without Telegram: counted as one
        page = f"{web_url}/s/{name}"
        await context.bot.send_message(chat.id, t("admin.link_web", url=page), parse_mode=HTML)
        await _qr(context, chat.id, page, svc.knowledge.text("admin.link_web_caption", url=page))


async def _qr(context: BotContext, chat_id: int, url: str, caption: str) -> None:
    """A link's QR code, as a photo."""
    image = io.BytesIO()
    segno.make(url, error="m").save(image, kind="png", scale=QR_SCALE, border=4)
    await context.bot.send_photo(chat_id, image.getvalue(), caption=caption)


# -- statistics and export (admins) ----------------------------------------------------------


async def stats_command(update: Update, context: BotContext) -> None:
    """Shows leads delivered and waiting, then started, finished, shared and leads per source
    for 7 and 30 days."""
    svc, chat = context.services.for_user(update.effective_user), update.effective_chat
    assert chat is not None
    report = await svc.admin.report()
    blocks = [bold(svc.knowledge.text("admin.stats_title"))]
    if report.leads is not None:
        leads = report.leads
        k = svc.knowledge
        text = svc.presenter.t(
            "admin.stats_leads",
            delivered=k.text("admin.stats_delivered", count=leads.delivered),
            count=k.text("admin.stats_waiting", count=leads.waiting),
        )
        blocks[0] += "\n" + text
    blocks += [_window_text(svc, window) for window in report.windows]
    for text in pack(blocks):
        await context.bot.send_message(chat.id, text, parse_mode=ParseMode.HTML)


def pack(blocks: list[str], limit: int = MESSAGE_LIMIT) -> list[str]:
    """Blocks joined into as few messages as fit Telegram's limit (a block never splits)."""
    messages: list[str] = []
    for block in blocks:
        if messages and len(messages[-1]) + 2 + len(block) <= limit:
            messages[-1] += "\n\n" + block
        else:
            messages.append(block[:limit])
    return messages


def _window_text(svc: Services, window: stats.WindowStats) -> str:
    t, k = svc.presenter.t, svc.knowledge
    lines = [bold(k.text("admin.stats_window", count=window.days))]
    lines.append(_tally_line(svc, k.text("admin.stats_overall"), window.overall))
    top, others, hidden = window.top_sources()
    for source, tally in top:
        name = source or k.text("admin.stats_direct")
        lines.append("• " + _tally_line(svc, name, tally))
    if hidden:
        lines.append("• " + _tally_line(svc, k.text("admin.stats_others", count=hidden), others))
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
    """One source's counts, each pluralised on its own ("1 lead", "2 leads")."""
    k = svc.knowledge
    return svc.presenter.t(
        "admin.stats_line",
        name=name,
        started=k.text("admin.stats_started", count=tally.started),
        finished=k.text("admin.stats_finished", count=tally.finished),
        rate=f"{tally.completion:.0%}",
        shared=k.text("admin.stats_shared", count=tally.shared),
        leads=k.text("admin.stats_lead_count", count=tally.leads),
    )


async def export(update: Update, context: BotContext) -> None:
    """Sends a CSV file of all sessions and leads."""
    svc, chat = context.services.for_user(update.effective_user), update.effective_chat
    assert chat is not None
    with tempfile.TemporaryDirectory(prefix="stack-advisor-export-") as folder:
        path = Path(folder) / EXPORT_NAME
        taken = await svc.admin.export(path)
        when = datetime.fromtimestamp(taken, UTC).strftime("%Y-%m-%d %H:%M UTC")
        with path.open("rb") as file:
            await context.bot.send_document(
                chat.id,
                file,
                filename=EXPORT_NAME,
                caption=svc.knowledge.text("admin.export_caption", when=when),
            )
