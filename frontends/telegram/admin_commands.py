"""Admin commands: tracked links with QR codes, the list of links, statistics with a funnel
chart, and the CSV export."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import segno
from babel.dates import format_date
from telegram import Update
from telegram.constants import ParseMode
from telegram.error import TelegramError

from dialogs import funnel, stats
from storage.base import LinkTotals, StorageError

from .context import BotContext, Services
from .presenter import MESSAGE_LIMIT, bold, esc, grouped
from .share import deep_link

logger = logging.getLogger(__name__)

HTML = ParseMode.HTML
#: The QR code's PNG is at least this many pixels wide (quiet zone included): sharp on a
#: slide or a printed flyer. It goes as a document, so Telegram does not recompress it.
QR_MIN_PX = 1000
#: Light modules around the code, as the QR standard asks (scanners need them).
QR_BORDER = 4
#: The SVG's size in pixels per module (a vector: any size prints sharp).
QR_SVG_SCALE = 10
EXPORT_NAME = "stack-advisor-export.csv"
#: Links listed one by one in /links (newest first); the older ones are counted in one line.
LINKS_SHOWN = 20


async def link(update: Update, context: BotContext) -> None:
    """Replies with a tracked deep link and its QR code as files for slides and print."""
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
    caption = svc.knowledge.text("admin.link_caption", url=url)
    await _qr(context, svc, chat.id, url, f"qr-{name}", caption)
    web_url = svc.settings.web_url
    if web_url is not None:  # the same link for people without Telegram: counted as one
        page = f"{web_url}/s/{name}"
        await context.bot.send_message(chat.id, t("admin.link_web", url=page), parse_mode=HTML)
        caption = svc.knowledge.text("admin.link_web_caption", url=page)
        await _qr(context, svc, chat.id, page, f"qr-{name}-web", caption)


def qr_files(url: str) -> tuple[bytes, bytes]:
    """A link's QR code as a PNG at least :data:`QR_MIN_PX` wide and as an SVG."""
    code = segno.make_qr(url, error="m")  # never a Micro QR, which few phones read
    modules = code.symbol_size(scale=1, border=QR_BORDER)[0]
    png, svg = io.BytesIO(), io.BytesIO()
    code.save(png, kind="png", scale=-(-QR_MIN_PX // modules), border=QR_BORDER)
    code.save(svg, kind="svg", scale=QR_SVG_SCALE, border=QR_BORDER, title=url)
    return png.getvalue(), svg.getvalue()


async def _qr(
    context: BotContext, svc: Services, chat_id: int, url: str, stem: str, caption: str
) -> None:
    """A link's QR code as two documents (never a recompressed photo): a PNG, then an SVG
    (drawn in a worker thread: about 10 ms of pure Python that other chats need not wait for)."""
    png, svg = await asyncio.to_thread(qr_files, url)
    await context.bot.send_document(chat_id, png, filename=f"{stem}.png", caption=caption)
    svg_caption = svc.knowledge.text("admin.link_svg_caption")
    await context.bot.send_document(chat_id, svg, filename=f"{stem}.svg", caption=svg_caption)


async def links_command(update: Update, context: BotContext) -> None:
    """Lists every tracked link, newest first, with its counts of all time (unused ones with
    zeros), and how to get a link's QR code again."""
    svc, chat = context.services.for_user(update.effective_user), update.effective_chat
    assert chat is not None
    t = svc.presenter.t
    made = await svc.admin.links()
    if not made:
        await context.bot.send_message(chat.id, t("admin.links_none"), parse_mode=HTML)
        return
    blocks = [bold(svc.knowledge.text("admin.links_title", count=len(made)))]
    blocks += [_link_block(svc, totals) for totals in made[:LINKS_SHOWN]]
    if len(made) > LINKS_SHOWN:
        blocks.append(t("admin.links_more", count=len(made) - LINKS_SHOWN))
    blocks.append(f"{t('admin.links_qr')} <code>/link {esc(made[0].name)}</code>")
    for text in pack(blocks):
        await context.bot.send_message(chat.id, text, parse_mode=HTML)


def _link_block(svc: Services, totals: LinkTotals) -> str:
    """One link in /links: its name and when it was made, then its counts."""
    t, k = svc.presenter.t, svc.knowledge
    head = bold(totals.name)
    if totals.created_at:  # links made before the time was kept have none
        day = datetime.fromtimestamp(totals.created_at, UTC).date()
        head += " · " + t("admin.links_made", when=format_date(day, "medium", locale=k.language))
    counts = t(
        "admin.links_line",
        started=k.text("admin.stats_started", count=totals.started),
        finished=k.text("admin.stats_finished", count=totals.finished),
        shared=k.text("admin.stats_shared", count=totals.shared),
        leads=k.text("admin.stats_lead_count", count=totals.leads),
    )
    return f"{head}\n{counts}"


# -- statistics and export (admins) ----------------------------------------------------------


async def stats_command(update: Update, context: BotContext) -> None:
    """Shows leads delivered and waiting, then started, finished, shared and leads per source
    (tracked links nobody used yet with zeros) for 7 and 30 days, then the 30 days' funnel per
    link as a picture."""
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
    await _funnel(context, svc, chat.id, report.windows[-1])


async def _funnel(
    context: BotContext, svc: Services, chat_id: int, window: stats.WindowStats
) -> None:
    """The longest window's funnel per link as a picture, after the text."""
    k = svc.knowledge
    picture = await asyncio.to_thread(funnel.render_funnel_png, window, k)
    tracked = sum(1 for source in window.by_source if source != stats.DIRECT)
    when = k.text("admin.stats_window", count=window.days)
    caption = k.text("admin.funnel_caption", when=when, count=tracked)
    await context.bot.send_photo(chat_id, picture, caption=caption)


def pack(blocks: list[str], limit: int = MESSAGE_LIMIT) -> list[str]:
    """Blocks joined into as few messages as fit Telegram's limit (a block never splits; one
    longer than the limit is cut)."""
    return ["\n\n".join(blocks[i] for i in group)[:limit] for group in grouped(blocks, limit)]


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
    """Sends a CSV file a spreadsheet opens: one row per session, in the admin's language.

    The file is made in the background and sent when it is ready: a big database takes
    seconds, and an update still being handled keeps polling's offset at it, which would hold
    back the updates behind it."""
    svc, chat = context.services.for_user(update.effective_user), update.effective_chat
    assert chat is not None
    context.application.create_task(_send_export(context, svc, chat.id), name="export")


async def _send_export(context: BotContext, svc: Services, chat_id: int) -> None:
    """The export, made and sent; when it can't be, the admin is told to try again."""
    try:
        with tempfile.TemporaryDirectory(prefix="stack-advisor-export-") as folder:
            path = Path(folder) / EXPORT_NAME
            admins = svc.settings.admin_ids
            taken = await svc.admin.export(path, language=svc.knowledge.language, admins=admins)
            when = datetime.fromtimestamp(taken, UTC).strftime("%Y-%m-%d %H:%M UTC")
            with path.open("rb") as file:
                await context.bot.send_document(
                    chat_id,
                    file,
                    filename=EXPORT_NAME,
                    caption=svc.knowledge.text("admin.export_caption", when=when),
                )
    except (StorageError, TelegramError, OSError) as exc:
        logger.error("the export could not be made or sent: %s", exc)
        with contextlib.suppress(TelegramError):
            await context.bot.send_message(chat_id, svc.knowledge.text("admin.export_failed"))
