"""The six criteria at a glance: how much each mattered to this user and which side it counts for.

:func:`render_chart_png` draws a diverging horizontal bar chart (Node.js to the left, Django to
the right, a tie centred in grey) and returns PNG bytes. matplotlib is imported on the first
chart only, with the Agg backend and no pyplot: every call builds its own ``Figure``, so charts
may be drawn in worker threads (``asyncio.to_thread``) while the event loop serves other users.
:func:`render_chart_text` shows the same as text bars, one line per criterion, for the console.
Labels come from ``data/`` (each criterion's ``short`` name, ``chart.*`` texts).
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from typing import TYPE_CHECKING

from .model import Knowledge
from .scoring import Recommendation

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from PIL.Image import Image as PILImage

#: Colours of the sides and of a tie: far apart in hue and lightness (colour-blind safe).
COLOURS = {"django": "#0b6e4f", "nodejs": "#d97706", "tie": "#9e9e9e"}
WIDTH_IN, HEIGHT_IN, DPI = 6.4, 3.0, 100
#: Characters on each side of the axis in the text bars.
BAR_WIDTH = 10


@functools.lru_cache(maxsize=16)
def max_importance(knowledge: Knowledge) -> int:
    """The largest importance any criterion can reach: the same scale for every chart."""
    base = knowledge.scoring.base_importance
    best = 1
    for criterion in knowledge.criteria:
        raised = sum(
            max((o.weights.get(criterion.id, 0) for o in q.options), default=0)
            for q in knowledge.questions
        )
        best = max(best, base + raised)
    return best


def render_chart_png(rec: Recommendation, knowledge: Knowledge) -> bytes:
    """A PNG of the six criteria: bar length is how much each mattered, its side the winner's.

    The same answers give the same bytes. Thread-safe: the texts, which do not depend on the
    answers, are drawn once per knowledge by matplotlib into an image (see :func:`_background`);
    each chart then only lays its bars over a copy of it, as rectangles in the same axes, and
    charts whose bars are the same (many answers are) are encoded once.
    """
    bars = tuple((cr.criterion.verdict, cr.importance) for cr in rec.criteria)
    return _chart(knowledge, bars)


#: Charts kept encoded: one per language and set of bars (a chart is about 16 KB).
CACHED_CHARTS = 512


@functools.lru_cache(maxsize=CACHED_CHARTS)
def _chart(knowledge: Knowledge, bars: tuple[tuple[str, int], ...]) -> bytes:
    from PIL import ImageDraw  # matplotlib's own dependency

    chart = _background(knowledge).convert("RGB")
    draw = ImageDraw.Draw(chart)
    x, y = _pixels(knowledge)
    rows = len(bars)
    for row, (verdict, importance) in enumerate(bars):
        centre = rows - 1 - row  # the article's first criterion at the top
        left = -importance / 2 if verdict == "tie" else (0 if verdict == "django" else -importance)
        box = (
            x(left),
            y(centre + BAR_HEIGHT / 2),
            x(left + importance),
            y(centre - BAR_HEIGHT / 2),
        )
        draw.rectangle(box, fill=COLOURS[verdict])
    zero = x(0)
    draw.line(((zero, y(-0.6)), (zero, y(rows - 0.4))), fill="#444444", width=1)
    buffer = io.BytesIO()
    chart.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


#: The bars' area in the figure (left, bottom, width, height, as fractions of it) and the
#: bars' thickness in rows.
AXES = (0.24, 0.12, 0.72, 0.74)
BAR_HEIGHT = 0.6


def _pixels(knowledge: Knowledge) -> tuple[Callable[[float], float], Callable[[float], float]]:
    """From the axes' units to the image's pixels (y down), as matplotlib places them."""
    width, height = WIDTH_IN * DPI, HEIGHT_IN * DPI
    left, bottom, w, h = AXES
    limit = max_importance(knowledge) + 0.5
    low, high = -0.6, len(knowledge.criteria) - 0.4

    def x(value: float) -> float:
        return (left + (value + limit) / (2 * limit) * w) * width

    def y(value: float) -> float:
        return height - (bottom + (value - low) / (high - low) * h) * height

    return x, y


def _axes(figure: Figure, knowledge: Knowledge) -> Axes:
    """The bars' area, the same in the background and in each chart; no ticks, no frame."""
    axes = figure.add_axes(AXES)
    axes.set_axis_off()
    limit = max_importance(knowledge) + 0.5
    axes.set_xlim(-limit, limit)
    axes.set_ylim(-0.6, len(knowledge.criteria) - 0.4)
    return axes


@functools.lru_cache(maxsize=16)
def _background(knowledge: Knowledge) -> PILImage:
    """The chart's texts (title, criteria, sides) on white, as an RGBA image (never changed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    canvas = FigureCanvasAgg(figure)
    axes = _axes(figure, knowledge)
    rows = len(knowledge.criteria)
    left = axes.get_xlim()[0]
    for row, criterion in enumerate(knowledge.criteria):
        axes.text(left, rows - 1 - row, criterion.short, ha="right", va="center", fontsize=10)
    django, nodejs = knowledge.text("stack.django"), knowledge.text("stack.nodejs")
    figure.text(0.24, 0.04, f"← {nodejs}", ha="left", color=COLOURS["nodejs"], fontsize=10)
    figure.text(0.96, 0.04, f"{django} →", ha="right", color=COLOURS["django"], fontsize=10)
    figure.text(0.6, 0.04, knowledge.text("chart.axis"), ha="center", color="#444444", fontsize=9)
    figure.text(0.5, 0.92, knowledge.text("chart.title"), ha="center", fontsize=11)
    return _drawn(canvas).copy()


def _drawn(canvas: FigureCanvasAgg) -> PILImage:
    """Draw the figure and view its pixels as an RGBA image (no copy)."""
    from PIL import Image

    canvas.draw()  # type: ignore[no-untyped-call]  # matplotlib leaves these untyped
    pixels = canvas.buffer_rgba()  # type: ignore[no-untyped-call]
    return Image.frombuffer("RGBA", canvas.get_width_height(), pixels)


def render_chart_text(rec: Recommendation, knowledge: Knowledge) -> str:
    """The chart as text bars, one line per criterion: ``#`` for a side, ``=`` for a tie.

    ``Safety           ..........|######....  Django, a lot``
    """
    scale = max_importance(knowledge)
    name_width = max(len(cr.criterion.short) for cr in rec.criteria)
    lines = []
    for cr in rec.criteria:
        size = max(1, round(cr.importance / scale * BAR_WIDTH))
        verdict = cr.criterion.verdict
        if verdict == "tie":
            half = max(1, round(size / 2))
            left, right = "=" * half, "=" * half
            who = knowledge.text("chart.tie")
        else:
            bar = "#" * size
            left, right = (bar, "") if verdict == "nodejs" else ("", bar)
            who = knowledge.text(f"stack.{verdict}")
        level = knowledge.text(f"summary.level.{cr.level}")
        lines.append(
            f"{cr.criterion.short:<{name_width}}  "
            f"{left:.>{BAR_WIDTH}}|{right:.<{BAR_WIDTH}}  {who}, {level}"
        )
    return "\n".join(lines)
