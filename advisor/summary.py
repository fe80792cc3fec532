"""The result at a glance: a one-screen summary, one criterion's details, and who to hire.

The summary holds the recommendation and how sure it is, a short line for each of the six
criteria, the strongest reasons for each side that has any, the answer that would change the
result and the developers to hire, in at most :data:`SUMMARY_LIMIT` visible characters. It speaks
to the user ("you") or, for a shared result, about them ("they"). All wording comes from
``data/texts.yaml``; the long form stays in :mod:`advisor.render` as the full report.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Iterator
from typing import Literal

from .model import STACKS, Criterion, Knowledge
from .render import HTML, PLAIN, Renderer, Style, renderer
from .scoring import AnswerChange, CriterionResult, Reason, Recommendation, reasons_by_side

Voice = Literal["you", "they"]
VOICES: tuple[Voice, ...] = ("you", "they")
#: Visible characters the summary may take: one phone screen, read in the time of a text message.
SUMMARY_LIMIT = 1000
#: Reasons shown for each side.
REASONS_PER_SIDE = 2


def render_summary_html(
    rec: Recommendation, knowledge: Knowledge, *, voice: Voice = "you", limit: int = SUMMARY_LIMIT
) -> str:
    """The summary as one Telegram HTML message, within ``limit`` visible characters where the
    strongest reason of each side fits."""
    return _summary(knowledge, HTML).render(rec, voice, limit=limit)


def render_summary_text(
    rec: Recommendation,
    knowledge: Knowledge,
    *,
    voice: Voice = "you",
    bars: bool = False,
    max_lines: int | None = None,
) -> str:
    """The summary as plain text; ``bars`` shows the six criteria as text bars instead of lines.

    With ``max_lines``, one reason a side is kept when two would take more lines."""
    return _summary(knowledge, PLAIN).render(rec, voice, bars=bars, max_lines=max_lines)


def render_details_html(
    knowledge: Knowledge, criterion: str | int, rec: Recommendation | None = None
) -> str:
    """One criterion in full, as Telegram HTML: see :func:`render_details_text`."""
    return _summary(knowledge, HTML).details(_criterion(knowledge, criterion), rec)


def render_details_text(
    knowledge: Knowledge, criterion: str | int, rec: Recommendation | None = None
) -> str:
    """One criterion in full: what it means, what the article says of each stack, its verdict,
    how much it mattered to this user (given ``rec``) and the article's own words.

    ``criterion`` is its id ("security") or its number in the article's order (1 to 6).
    """
    return _summary(knowledge, PLAIN).details(_criterion(knowledge, criterion), rec)


def hire_line(rec: Recommendation, knowledge: Knowledge) -> str:
    """One plain line naming the developers the recommendation implies."""
    return knowledge.text(f"hire.{rec.choice}")


def find_criterion(knowledge: Knowledge, name: str) -> Criterion | None:
    """The criterion a typed name means: its number, id, title or short name (any case)."""
    wanted = name.strip().casefold()
    for number, c in enumerate(knowledge.criteria, start=1):
        if wanted in (str(number), c.id, c.title.casefold(), c.short.casefold()):
            return c
    return None


def _criterion(knowledge: Knowledge, criterion: str | int) -> Criterion:
    found = find_criterion(knowledge, str(criterion))
    if found is None:
        raise KeyError(f"no criterion {criterion!r}")
    return found


@functools.lru_cache(maxsize=16)
def _summary(knowledge: Knowledge, style: Style) -> SummaryRenderer:
    return SummaryRenderer(renderer(knowledge, style))


class SummaryRenderer:
    """Builds summaries and details of one knowledge base in one style."""

    def __init__(self, full: Renderer) -> None:
        self.full = full
        self.k = full.k
        self.s = full.s

    def t(self, key: str, **values: object) -> str:
        return self.full.t(key, **values)

    def render(
        self,
        rec: Recommendation,
        voice: Voice,
        *,
        bars: bool = False,
        limit: int = SUMMARY_LIMIT,
        max_lines: int | None = None,
    ) -> str:
        """Two reasons a side where they fit the screen, else the strongest one of each (and,
        where lines are counted, without blank lines if it takes that)."""
        for per_side in range(REASONS_PER_SIDE, 0, -1):
            text = "\n".join(self._lines(rec, voice, bars, per_side)).strip("\n")
            fits = max_lines is None or text.count("\n") + 1 <= max_lines
            if fits and visible_length(text, self.s) <= limit:
                return text
        if max_lines is not None and text.count("\n") + 1 > max_lines:
            text = text.replace("\n\n", "\n")
        return text

    def _lines(self, rec: Recommendation, voice: Voice, bars: bool, per_side: int) -> Iterator[str]:
        s, line = self.s, self.full.line
        if intro := self.t(f"summary.{voice}.intro"):
            yield line(intro)
        yield s.bold(self.t("summary.verdict", stack=self.full.stack(rec.choice)))
        lead = "either" if rec.choice == "either" else rec.confidence
        yield line(self.t(f"summary.lead.{lead}"))
        yield ""
        even = not any(cr.drivers for cr in rec.criteria)
        head = self.t(f"summary.{voice}.criteria_even" if even else f"summary.{voice}.criteria")
        yield s.bold(head) if not even else line(head)
        if bars:
            from .chart import render_chart_text  # here: chart imports this module

            yield render_chart_text(rec, self.k)
        else:
            yield from (line(s.bullet + self._criterion_line(cr, even)) for cr in rec.criteria)
        yield ""
        sides = reasons_by_side(self.k, rec, per_side)
        order = [rec.choice] if rec.choice in sides else []
        order += [st for st in STACKS if st in sides and st != rec.choice]
        for stack in order:
            yield s.bold(self.t("summary.reasons_for", stack=self.full.stack(stack)))
            yield from (line(s.bullet + self._reason(r, voice)) for r in sides[stack])
        if not sides:
            yield line(self.t(f"summary.{voice}.no_reasons"))
        yield ""
        yield line(self._change(rec, voice))
        yield line(self.t(f"hire.{rec.choice}"))
        if invite := self.t(f"summary.{voice}.invite"):
            yield ""
            yield line(invite)

    def _criterion_line(self, cr: CriterionResult, even: bool) -> str:
        c = cr.criterion
        tie = "_tie" if c.verdict == "tie" else ""
        key = f"summary.criterion_even{tie}" if even else f"summary.criterion{tie}"
        level = self.k.text(f"summary.level.{cr.level}")
        return self.t(key, title=c.short, level=level, winner=self.full.stack(c.verdict))

    def _reason(self, reason: Reason, voice: Voice) -> str:
        option = reason.option
        assert option is not None, "reasons_by_side gives reasons from answers only"
        because = option.because if voice == "you" else option.because_they
        told = self.k.text(f"summary.{voice}.reason", because=because)
        if reason.fit is not None:
            text = self.k.text("result.reason_fit", because=told, reason=reason.fit.reason)
        else:
            assert reason.criterion is not None
            title = reason.criterion.short
            text = self.k.text("summary.reason_criterion", because=told, title=title)
        if reason.beyond_article:
            text = self.k.text("result.beyond_article", reason=text)
        return self.s.escape(_sentence(text))

    def _change(self, rec: Recommendation, voice: Voice) -> str:
        if rec.what_if is None:
            return self.t(f"summary.{voice}.change_none")
        joined = self.k.text("summary.change_joiner").join(
            self._answer(change, voice) for change in rec.what_if.changes
        )
        if rec.what_if.choice == "either":
            return self.t(f"summary.{voice}.change_either", change=joined)
        stack = self.full.stack(rec.what_if.choice)
        return self.t(f"summary.{voice}.change", change=joined, stack=stack)

    def _answer(self, change: AnswerChange, voice: Voice) -> str:
        because = change.new.because if voice == "you" else change.new.because_they
        if because:
            return because
        return self.k.text(
            f"summary.{voice}.answered", label=change.new.label, question=change.question.prompt
        )

    def details(self, criterion: Criterion, rec: Recommendation | None) -> str:
        s, line = self.s, self.full.line
        number = self.k.criteria.index(criterion) + 1
        lines = [
            s.bold(self.t("details.title", number=number, title=criterion.title)),
            line(s.escape(criterion.summary)),
        ]
        lines += [
            line(s.bullet + self.t("details.stack", stack=self.full.stack(st), reason=reason))
            for st, reason in criterion.stacks.items()
        ]
        if criterion.verdict == "tie":
            lines.append(line(self.t("result.criterion_verdict_tie")))
        else:
            winner = self.full.stack(criterion.verdict)
            lines.append(line(self.t("result.criterion_verdict", winner=winner)))
        if rec is not None:
            result = next(cr for cr in rec.criteria if cr.criterion.id == criterion.id)
            lines.append(self.full.mattered(result))
        lines.append(line(s.italic(self.t("details.quote", quote=criterion.quote))))
        if criterion.quote_translation:
            lines.append(
                line(self.t("details.quote_translation", translation=criterion.quote_translation))
            )
        return "\n".join(lines)


def visible_length(text: str, style: Style = HTML) -> int:
    """Characters a reader sees: without markup and, in plain text, without line wrapping."""
    if style is HTML:
        text = html.unescape(re.sub(r"<[^>]+>", "", text))
    return len(text.replace("\n  ", "\n"))


def _sentence(text: str) -> str:
    """Capitalised, with a full stop."""
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else f"{text}."
