"""The result as a picture: every entry of the ledger as a bar, the verdict and the points on top.

:func:`render_chart_png` draws one row per criterion of the article and one per own reason of
the advisor that gave points (under the heading "Beyond the article"): its name, its points for
a side, and a bar from the middle towards that side (Node.js to the left, Django to the right; a
tie gives no points and has no bar). The title is the verdict and the ledger's sums, so the
picture tells the same story as the words under it.

It is made for a phone, where Telegram shows a photo about 320 pt wide: the smallest text is
at least 11 pt there, i.e. its capital letters are at least :data:`MIN_TEXT_SHARE` of the
image's width (``tests/test_advisor_chart.py`` measures it). It is drawn with Pillow and the
DejaVu fonts matplotlib ships (Latin and Cyrillic), thread-safe: charts are drawn in worker
threads (``asyncio.to_thread``) while the event loop serves other users, and the same rows are
encoded once. :func:`render_chart_svg` draws the same layout as SVG for the web front end, and
:func:`render_chart_text` shows the same rows as text bars for the console.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import re
import struct
import textwrap
import zlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape, quoteattr

from .model import Knowledge
from .render import sums
from .scoring import Entry, Recommendation

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage
    from PIL.ImageFont import FreeTypeFont

#: Bar colours of the sides, far apart in hue and lightness (colour-blind safe), and darker
#: versions for text on white (contrast ≥ 4.5:1).
COLOURS = {"django": "#0b6e4f", "nodejs": "#d97706", "tie": "#9e9e9e"}
TEXT_COLOURS = {"django": "#0b6e4f", "nodejs": "#9a4a00", "tie": "#555555"}
INK, FAINT = "#1a1a1a", "#444444"
WIDTH = 720
MARGIN = 24
#: Font sizes in pixels. At 320 pt wide, 11 pt is 3.44 % of the width; the smallest text here
#: is larger than that even by the height of its capital letters.
TEXT_PX, TITLE_PX = 36, 44
#: The smallest text's capital letters, as a share of the image's width (≥ 11 pt at 320 pt).
MIN_TEXT_SHARE = 11 / 320
BAR_PX, ROW_GAP = 20, 14
#: Characters on each side of the axis in the text bars.
BAR_WIDTH = 10
#: Shades of each colour on white, for the anti-aliased edges of the texts.
EDGE_SHADES = (0.2, 0.4, 0.6, 0.8)
#: Charts kept encoded: one per language and set of rows (a chart is about 20 KB).
CACHED_CHARTS = 512
#: Bands kept compressed (about 2 KB each): every row a chart can have, in a few languages.
CACHED_BANDS = 4096
#: zlib level for a band: 6 is four times as fast as 9 for 10 % more bytes.
BAND_COMPRESSION = 6
#: The SVG chart's fonts: the DejaVu Sans the PNG is drawn (and laid out) with, else the
#: nearest in widths (Verdana is DejaVu's ancestor's sibling), else any sans-serif.
SVG_FONTS = "DejaVu Sans, Verdana, Arial, sans-serif"
#: Pillow's horizontal anchors (the first letter) as SVG's ``text-anchor``.
SVG_TEXT_ANCHORS = {"l": "start", "m": "middle", "r": "end"}


@dataclass(frozen=True, slots=True)
class Row:
    """One bar of the chart: a ledger entry's name, side ("django", "nodejs", "tie") and points."""

    label: str
    side: str
    points: int
    value: str
    own: bool


@functools.lru_cache(maxsize=16)
def max_points(knowledge: Knowledge) -> int:
    """The most points any one entry can reach: the same scale for every chart."""
    base = knowledge.scoring.base_importance
    best = 1
    for criterion in knowledge.criteria:
        raised = sum(
            max((o.weights.get(criterion.id, 0) for o in q.options), default=0)
            for q in knowledge.questions
        )
        best = max(best, base + raised)
    for reason in knowledge.own_reasons:
        given = sum(
            max((f.points for o in q.options for f in o.fits if f.rule == reason.id), default=0)
            for q in knowledge.questions
        )
        best = max(best, given)
    return best


def rows(rec: Recommendation, knowledge: Knowledge) -> tuple[Row, ...]:
    """The chart's rows: the six criteria, then the own reasons that gave points."""
    return tuple(_row(entry, knowledge) for entry in rec.ledger)


def _row(entry: Entry, k: Knowledge) -> Row:
    label = entry.title
    if entry.side is None:
        return Row(label, "tie", 0, k.text("chart.tie"), entry.beyond_article)
    stack = k.text(f"stack.{entry.side}")
    value = k.text("summary.side_points", stack=stack, points=entry.points)
    return Row(label, entry.side, entry.points, value, entry.beyond_article)


def _heading(rec: Recommendation, k: Knowledge) -> tuple[str, str]:
    title = k.text("summary.verdict", stack=k.text(f"stack.{rec.choice}"))
    return title, k.text("summary.points", **sums(rec, k))


def render_chart_png(rec: Recommendation, knowledge: Knowledge) -> bytes:
    """A PNG of the ledger: the verdict and the points on top, a bar per entry below.

    The same answers give the same bytes; the same rows are drawn and encoded once."""
    return _chart(knowledge, _heading(rec, knowledge), rows(rec, knowledge))


def drawn_chart_png(rec: Recommendation, knowledge: Knowledge) -> bytes | None:
    """The chart when every band of it has been drawn already, so putting it together takes
    a fraction of a millisecond (fine on the event loop); None when a band must be drawn
    first, which takes milliseconds (a worker thread's job: :func:`render_chart_png`)."""
    heading, bars = _heading(rec, knowledge), rows(rec, knowledge)
    if all(band in _DRAWN for band in bands(knowledge, heading, bars)):
        return _chart(knowledge, heading, bars)
    return None


@dataclass(frozen=True, slots=True)
class Text:
    """A text of the chart and where it goes (for drawing, and for the tests to measure)."""

    xy: tuple[float, float]
    text: str
    px: int
    colour: str
    bold: bool = False
    anchor: str = "la"


@functools.lru_cache(maxsize=CACHED_CHARTS)
def _chart(knowledge: Knowledge, heading: tuple[str, str], bars: tuple[Row, ...]) -> bytes:
    """The PNG, put together from its bands' compressed pixels.

    Drawing a whole chart, mapping it onto the palette and compressing it took about 6 ms
    of CPU, a third of the bot's CPU per update in the closed loop (docs/performance.md). But
    charts are made of few different bands (a criterion with its side and points looks the
    same in every chart), so each band is drawn, mapped and compressed once
    (:func:`_band_png`), and a chart is its bands' deflate blocks one after another: a PNG's
    pixels are one zlib stream of rows, and blocks that end on a full flush can follow one
    another. The bytes are a valid PNG of exactly the pixels Pillow draws for the whole chart
    (``tests/test_advisor_chart.py`` compares them)."""
    parts = [_band_png(band) for band in bands(knowledge, heading, bars)]
    height = sum(band.height for band in parts)
    checksum = 1  # adler32 of nothing
    for band in parts:
        checksum = _adler32_combine(checksum, band.adler32, band.raw_length)
    stream = b"".join([ZLIB_HEADER, *(band.deflated for band in parts), LAST_BLOCK])
    stream += struct.pack(">I", checksum)
    header = struct.pack(">IIBBBBB", WIDTH, height, 8, 3, 0, 0, 0)  # 8-bit palette colours
    return b"".join(
        [
            PNG_SIGNATURE,
            _png_chunk(b"IHDR", header),
            _png_chunk(b"PLTE", _palette_bytes()),
            _png_chunk(b"IDAT", stream),
            _png_chunk(b"IEND", b""),
        ]
    )


@dataclass(frozen=True, slots=True)
class _Pixels:
    """A band's rows in the palette, each with its filter byte, compressed as raw deflate
    blocks ending on a full flush (so others can follow), and their adler32."""

    height: int
    deflated: bytes
    adler32: int
    raw_length: int


@functools.lru_cache(maxsize=CACHED_BANDS)
def _band_png(band: Band) -> _Pixels:
    if len(_DRAWN) >= CACHED_BANDS:  # some may have left the cache: start again
        _DRAWN.clear()
    _DRAWN.add(band)
    return _draw_band(band)


#: The bands drawn so far (most still in :func:`_band_png`'s cache).
_DRAWN: set[Band] = set()


def _draw_band(band: Band) -> _Pixels:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (WIDTH, band.height), "white")
    draw = ImageDraw.Draw(image)
    for box, colour in band.boxes:
        draw.rectangle(box, fill=colour)
    for text in band.texts:
        font = typeface(text.px, text.bold)
        draw.text(text.xy, text.text, fill=text.colour, font=font, anchor=text.anchor)
    # A few colours only: as a palette image the PNG is a fraction of the size; mapping onto
    # a known palette costs far less than finding one.
    pixels = image.quantize(palette=_palette(), dither=Image.Dither.NONE).tobytes()
    raw = b"".join(
        b"\x00" + pixels[start : start + WIDTH] for start in range(0, len(pixels), WIDTH)
    )
    compressor = zlib.compressobj(BAND_COMPRESSION, zlib.DEFLATED, -15)
    deflated = compressor.compress(raw) + compressor.flush(zlib.Z_FULL_FLUSH)
    return _Pixels(band.height, deflated, zlib.adler32(raw), len(raw))


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: A zlib stream's header: deflate, 32 KB window, no preset dictionary.
ZLIB_HEADER = b"\x78\x9c"
#: An empty last deflate block (fixed codes), which ends the stream.
LAST_BLOCK = b"\x03\x00"
ADLER_BASE = 65521


def _png_chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def _adler32_combine(first: int, second: int, second_length: int) -> int:
    """The adler32 of two pieces of data from theirs (zlib's adler32_combine)."""
    rem = second_length % ADLER_BASE
    sum1 = first & 0xFFFF
    sum2 = (rem * sum1) % ADLER_BASE
    sum1 = (sum1 + (second & 0xFFFF) + ADLER_BASE - 1) % ADLER_BASE
    sum2 = (sum2 + (first >> 16) + (second >> 16) + ADLER_BASE - rem) % ADLER_BASE
    return sum1 | (sum2 << 16)


@functools.cache
def _palette_bytes() -> bytes:
    palette = _palette().getpalette()
    assert palette is not None
    return bytes(palette)


Box = tuple[tuple[float, float, float, float], str]


@dataclass(frozen=True, slots=True)
class Band:
    """A strip of the chart across its whole width: the heading, a row, a heading of the
    own reasons, the bottom margin. Its texts and bars are placed from its own top, so the same
    band looks the same in any chart, and is drawn and compressed once (:func:`_band_png`)."""

    height: int
    texts: tuple[Text, ...] = ()
    boxes: tuple[Box, ...] = ()


def bands(knowledge: Knowledge, heading: tuple[str, str], bars: tuple[Row, ...]) -> list[Band]:
    """The chart from top to bottom, band by band."""
    k = knowledge
    inner = WIDTH - 2 * MARGIN
    centre = WIDTH / 2
    scale = (inner / 2) / max_points(k)
    line = round(TEXT_PX * 1.25)
    out: list[Band] = []
    texts: list[Text] = []
    boxes: list[Box] = []
    y = 0

    def cut() -> None:  # the band so far, from its own top
        nonlocal y
        out.append(Band(y, tuple(texts), tuple(boxes)))
        texts.clear()
        boxes.clear()
        y = 0

    y += MARGIN
    for part in _wrapped(heading[0], TITLE_PX, True, inner):
        texts.append(Text((MARGIN, y), part, TITLE_PX, INK, bold=True))
        y += round(TITLE_PX * 1.25)
    for part in _wrapped(heading[1], TEXT_PX, False, inner):
        texts.append(Text((MARGIN, y), part, TEXT_PX, FAINT))
        y += line
    sides = (f"← {k.text('stack.nodejs')}", f"{k.text('stack.django')} →")
    texts.append(Text((MARGIN, y), sides[0], TEXT_PX, TEXT_COLOURS["nodejs"], bold=True))
    texts.append(Text((WIDTH - MARGIN, y), sides[1], TEXT_PX, TEXT_COLOURS["django"], True, "ra"))
    y += line + ROW_GAP
    texts.append(Text((MARGIN, y), k.text("chart.criteria"), TEXT_PX, INK, bold=True))
    y += line
    cut()
    own_started = False
    for row in bars:
        if row.own and not own_started:
            own_started = True
            y += ROW_GAP
            for part in _wrapped(k.text("chart.own"), TEXT_PX, True, inner):
                texts.append(Text((MARGIN, y), part, TEXT_PX, INK, bold=True))
                y += line
            cut()
        value_width = _length(row.value, TEXT_PX, True)
        label = _wrapped(row.label, TEXT_PX, False, inner - value_width - TEXT_PX)
        for number, part in enumerate(label):
            texts.append(Text((MARGIN, y), part, TEXT_PX, INK))
            if number == len(label) - 1:
                colour = TEXT_COLOURS[row.side]
                texts.append(Text((WIDTH - MARGIN, y), row.value, TEXT_PX, colour, True, "ra"))
            y += line
        length = max(2.0, row.points * scale)
        if row.side == "django":
            boxes.append(((centre, y, centre + length, y + BAR_PX), COLOURS["django"]))
        elif row.side == "nodejs":
            boxes.append(((centre - length, y, centre, y + BAR_PX), COLOURS["nodejs"]))
        boxes.append(((centre - 1, y - 4, centre + 1, y + BAR_PX + 4), FAINT))  # the middle
        y += BAR_PX + ROW_GAP
        cut()
    out.append(Band(MARGIN - ROW_GAP))  # the last row's gap and this make the bottom margin
    return out


def layout(
    knowledge: Knowledge, heading: tuple[str, str], bars: tuple[Row, ...]
) -> tuple[list[Text], list[Box], int]:
    """Where every text and bar goes in the whole chart, and the image's height."""
    texts: list[Text] = []
    boxes: list[Box] = []
    top = 0
    for band in bands(knowledge, heading, bars):
        texts += [replace(text, xy=(text.xy[0], text.xy[1] + top)) for text in band.texts]
        boxes += [((x0, y0 + top, x1, y1 + top), colour) for (x0, y0, x1, y1), colour in band.boxes]
        top += band.height
    return texts, boxes, top


def render_chart_svg(rec: Recommendation, knowledge: Knowledge) -> str:
    """The chart as SVG for the web: the same layout, texts, bars and numbers as the PNG.

    It scales to any width (``viewBox``, ``width="100%"``), is an image to screen readers
    (``role="img"``: the verdict is its name, every row in words its description) and has no
    script, external reference, event handler or ``style`` attribute (a strict CSP shows it).
    The same answers give the same string; the same rows are laid out once."""
    return _svg(knowledge, _heading(rec, knowledge), rows(rec, knowledge))


@functools.lru_cache(maxsize=CACHED_CHARTS)
def _svg(knowledge: Knowledge, heading: tuple[str, str], bars: tuple[Row, ...]) -> str:
    texts, boxes, height = layout(knowledge, heading, bars)
    # Ids of its own, so that several charts inlined in one page do not share a title.
    key = repr((knowledge.language, heading, bars)).encode()
    ids = f"chart-{hashlib.sha256(key).hexdigest()[:12]}"
    title, desc = f"{ids}-title", f"{ids}-desc"
    # The description: the points, then every row as the chart shows it ("Community: Django +3").
    described = "\n".join([heading[1], *(f"{row.label}: {row.value}" for row in bars)])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="100%"'
        f' role="img" aria-labelledby={quoteattr(title)}'
        f" aria-describedby={quoteattr(desc)} lang={quoteattr(_xml(knowledge.language))}"
        f" font-family={quoteattr(SVG_FONTS)}>",
        f"<title id={quoteattr(title)}>{escape(_xml(heading[0]))}</title>",
        f"<desc id={quoteattr(desc)}>{escape(_xml(described))}</desc>",
        f'<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#ffffff"/>',
    ]
    for (x0, y0, x1, y1), colour in boxes:
        parts.append(
            f'<rect x="{_number(x0)}" y="{_number(y0)}" width="{_number(x1 - x0)}"'
            f' height="{_number(y1 - y0)}" fill={quoteattr(colour)}/>'
        )
    for text in texts:
        x, y = text.xy
        weight = ' font-weight="bold"' if text.bold else ""
        parts.append(
            f'<text x="{_number(x)}" y="{_number(y + _baseline(text))}"'
            f' font-size="{text.px}"{weight} fill={quoteattr(text.colour)}'
            f" text-anchor={quoteattr(SVG_TEXT_ANCHORS.get(text.anchor[:1], 'start'))}"
            f' dominant-baseline="alphabetic">{escape(_xml(text.text))}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts)


def _baseline(text: Text) -> float:
    """How far below the anchor point Pillow puts the text's baseline.

    SVG's ``dominant-baseline`` has no value that means Pillow's "ascender" ("a"), and the
    ones near it differ between browsers; the alphabetic baseline is the same everywhere. So
    the text is placed by its baseline, measured in the font the PNG is drawn with: the
    ascent for "a" (every text of the layout), the descent for "d", half-way for "m", and
    the text's own top or bottom for "t" and "b"."""
    font = typeface(text.px, text.bold)
    ascent, descent = font.getmetrics()
    vertical = text.anchor[1:2] or "a"
    if vertical == "a":
        return float(ascent)
    if vertical == "d":
        return float(-descent)
    if vertical == "m":
        return (ascent - descent) / 2
    if vertical in ("t", "b"):
        horizontal = text.anchor[:1] or "l"
        at = font.getbbox(text.text, anchor=horizontal + vertical)
        on = font.getbbox(text.text, anchor=horizontal + "s")
        return float(at[1] - on[1])
    return 0.0  # "s": the baseline itself


#: Characters XML 1.0 cannot hold at all, escaped or not.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml(text: str) -> str:
    """The text without characters an XML document cannot contain (controls, lone
    surrogates); :func:`escape` then makes the rest safe."""
    return _NOT_XML.sub("", text)


def _number(value: float) -> str:
    """A coordinate for SVG: at most two decimals, no trailing zeros."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


@functools.lru_cache(maxsize=CACHED_BANDS)
def _wrapped(text: str, px: int, bold: bool, width: float) -> tuple[str, ...]:
    """The text in lines that fit ``width`` pixels (a word too long stays whole). Kept: a
    chart's labels are few and measuring them costs more than the rest of its layout."""
    font = typeface(px, bold)
    if font.getlength(text) <= width:
        return (text,)
    chars = max(8, int(len(text) * width / font.getlength(text)))
    while chars > 8:
        lines = textwrap.wrap(text, chars, break_long_words=False)
        if all(font.getlength(part) <= width for part in lines):
            return tuple(lines)
        chars -= 1
    return tuple(textwrap.wrap(text, 8, break_long_words=False))


@functools.cache
def _palette() -> PILImage:
    """The encoded image's palette: white, every colour the chart uses, and shades of each
    on white (the edges of anti-aliased text)."""
    from PIL import Image

    colours = ["#ffffff", INK, FAINT, *COLOURS.values(), *TEXT_COLOURS.values()]
    flat: list[int] = []
    for colour in dict.fromkeys(colours):
        rgb = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
        flat += rgb
        for share in EDGE_SHADES:
            flat += [round(v * share + 255 * (1 - share)) for v in rgb]
    palette = Image.new("P", (1, 1))
    palette.putpalette(flat + [0] * (768 - len(flat)))
    return palette


@functools.lru_cache(maxsize=CACHED_BANDS)
def _length(text: str, px: int, bold: bool) -> float:
    return typeface(px, bold).getlength(text)


@functools.lru_cache(maxsize=8)
def typeface(px: int, bold: bool) -> FreeTypeFont:
    """The DejaVu font the charts are drawn in (the advice chart, and the /stats funnel)."""
    from PIL import ImageFont

    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return ImageFont.truetype(str(_fonts() / name), px)


@functools.cache
def _fonts() -> Path:
    """matplotlib's own copy of the DejaVu fonts (found without importing matplotlib)."""
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the chart needs matplotlib's fonts: pip install matplotlib")
    return Path(next(iter(spec.submodule_search_locations))) / "mpl-data" / "fonts" / "ttf"


def render_chart_text(rec: Recommendation, knowledge: Knowledge, *, title: bool = True) -> str:
    """The chart as text bars, one line per entry of the ledger (the own reasons under their
    heading), ``#`` for points; with ``title``, the verdict and the points first.

    ``Security         ..........|####......  Django +4``
    """
    k = knowledge
    scale = max_points(k)
    bars = rows(rec, k)
    name_width = max(len(row.label) for row in bars)
    lines = list(_heading(rec, k)) if title else []
    lines.append(k.text("chart.criteria") + ":")
    own_started = False
    for row in bars:
        if row.own and not own_started:
            own_started = True
            lines.append(k.text("chart.own") + ":")
        size = round(row.points / scale * BAR_WIDTH)
        bar = "#" * max(1, size) if row.points else ""
        left, right = (bar, "") if row.side == "nodejs" else ("", bar)
        lines.append(
            f"{row.label:<{name_width}}  {left:.>{BAR_WIDTH}}|{right:.<{BAR_WIDTH}}  {row.value}"
        )
    return "\n".join(lines)
