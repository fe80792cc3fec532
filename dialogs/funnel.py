"""The /stats funnel as a picture: per tracked link, how many started, finished, shared and
became leads, as bars a salesperson can read at a glance on a phone or put on a slide.

It lives in ``dialogs/`` because it draws what the statistics use case (:mod:`dialogs.stats`)
computed, in the admin's language, and knows nothing of Telegram: a front end sends the bytes
(the Telegram bot as a photo beside the /stats text; another front end could show the same).
It is not in ``advisor/``, which is about the advice itself, not about the bot's audience.

One block per source (the busiest tracked links first, "(no link)" among them, the rest added
up in one block as the text does), four bars each: started, finished, shared, leads. Every bar
of the picture has the same scale (the largest number is the full width), so links can be
compared; each bar says its number and, after "started", its share of those who started.
The text is as large as the advice chart's (:mod:`advisor.chart`, whose DejaVu fonts it uses),
legible on a phone, and drawing one takes a few milliseconds.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from babel.numbers import format_decimal, format_percent

from advisor import Knowledge
from advisor.chart import Box, Text, typeface

from .stats import DIRECT, Tally, WindowStats

#: The stages of the funnel, in order (``admin.funnel_<stage>`` names each).
STAGES = ("started", "finished", "shared", "leads")
#: Sources drawn one by one; with more, the rest are added up in one block (as in the text).
TOP_FUNNELS = 5
WIDTH, MARGIN = 720, 24
#: Font sizes in pixels: like the advice chart's, legible on a phone (≥ 11 pt at 320 pt wide).
TEXT_PX, TITLE_PX = 36, 44
ROW_PX, ROW_GAP, BLOCK_GAP = 50, 6, 28
INK, FAINT, TRACK = "#1a1a1a", "#444444", "#eeeeee"
#: A light colour per stage: bars behind dark text (contrast well above 4.5:1 on each).
STAGE_COLOURS = ("#9cc7ee", "#a8dcc4", "#f7d08a", "#f2a7a7")
#: Colours of the saved PNG: enough for the anti-aliased edges of the texts on every colour.
COLOURS = 64


@dataclass(frozen=True, slots=True)
class Funnel:
    """One source's funnel: its name as shown, and its counts per stage."""

    label: str
    counts: tuple[int, int, int, int]


def funnels(window: WindowStats, knowledge: Knowledge) -> tuple[Funnel, ...]:
    """The funnels drawn for a window: the busiest sources, then the rest added up."""
    k = knowledge
    top, others, hidden = window.top_sources(TOP_FUNNELS)
    drawn = [
        Funnel(k.text("admin.stats_direct") if source == DIRECT else source, _counts(tally))
        for source, tally in top
    ]
    if hidden:
        drawn.append(Funnel(k.text("admin.stats_others", count=hidden), _counts(others)))
    return tuple(drawn)


def _counts(tally: Tally) -> tuple[int, int, int, int]:
    return (tally.started, tally.finished, tally.shared, tally.leads)


def render_funnel_png(window: WindowStats, knowledge: Knowledge) -> bytes:
    """A PNG of the window's funnels, titled in the admin's language."""
    from PIL import Image, ImageDraw

    blocks = funnels(window, knowledge)
    texts, boxes, height = layout(window, knowledge, blocks)
    image = Image.new("RGB", (WIDTH, height), "white")
    draw = ImageDraw.Draw(image)
    for box, colour in boxes:
        draw.rectangle(box, fill=colour)
    for text in texts:
        draw.text(text.xy, text.text, fill=text.colour, font=typeface(text.px, text.bold))
    buffer = io.BytesIO()
    # A few colours only: as a palette image the PNG is a third of the size and quicker to save.
    fewer = image.quantize(COLOURS, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    fewer.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def layout(
    window: WindowStats, knowledge: Knowledge, blocks: tuple[Funnel, ...]
) -> tuple[list[Text], list[Box], int]:
    """Where every text and bar goes, and the picture's height."""
    k = knowledge
    inner = WIDTH - 2 * MARGIN
    texts: list[Text] = []
    boxes: list[Box] = []
    y = float(MARGIN)
    title = _fit(k.text("admin.funnel_title"), TITLE_PX, True, inner)
    texts.append(Text((MARGIN, y), title, TITLE_PX, INK, bold=True))
    y += round(TITLE_PX * 1.3)
    window_name = k.text("admin.stats_window", count=window.days)
    texts.append(Text((MARGIN, y), _fit(window_name, TEXT_PX, False, inner), TEXT_PX, FAINT))
    y += round(TEXT_PX * 1.25)
    if not blocks:
        empty = _fit(k.text("admin.funnel_empty"), TEXT_PX, False, inner)
        texts.append(Text((MARGIN, y + BLOCK_GAP), empty, TEXT_PX, INK))
        return texts, boxes, round(y + BLOCK_GAP + TEXT_PX * 1.25 + MARGIN)
    # Usually the most "started"; a lead of someone who started before the window may be more.
    most = max(max(block.counts) for block in blocks) or 1
    stages = [k.text(f"admin.funnel_{stage}") for stage in STAGES]
    pad = TEXT_PX // 3
    top_pad = (ROW_PX - TEXT_PX * 1.17) / 2  # DejaVu's line: ascent and descent, 1.17 em
    for block in blocks:
        y += BLOCK_GAP
        texts.append(Text((MARGIN, y), _fit(block.label, TEXT_PX, True, inner), TEXT_PX, INK, True))
        y += round(TEXT_PX * 1.3)
        started = block.counts[0]
        for number, (stage, count) in enumerate(zip(stages, block.counts, strict=True)):
            boxes.append(((MARGIN, y, MARGIN + inner, y + ROW_PX), TRACK))
            if count:
                length = max(4.0, inner * count / most)
                boxes.append(((MARGIN, y, MARGIN + length, y + ROW_PX), STAGE_COLOURS[number]))
            value = format_decimal(count, locale=k.language)
            if number and started:
                share = format_percent(count / started, locale=k.language)
                value = f"{value} ({share})"
            value_width = typeface(TEXT_PX, True).getlength(value)
            label = _fit(stage, TEXT_PX, False, inner - value_width - 3 * pad)
            texts.append(Text((MARGIN + pad, y + top_pad), label, TEXT_PX, INK))
            x = MARGIN + inner - pad - value_width
            texts.append(Text((x, y + top_pad), value, TEXT_PX, INK, True))
            y += ROW_PX + ROW_GAP
    return texts, boxes, round(y - ROW_GAP + MARGIN)


def _fit(text: str, px: int, bold: bool, width: float) -> str:
    """The text, cut with "…" to fit ``width`` pixels (link names have no spaces to wrap at)."""
    font = typeface(px, bold)
    if font.getlength(text) <= width:
        return text
    while text and font.getlength(text + "…") > width:
        text = text[:-1]
    return text + "…"
