"""The result at a glance: a one-screen summary, one criterion's details, why, and who to hire.

The summary holds the recommendation and how sure it is, the points of the ledger (a line for
each of the article's six criteria, then for each of the advisor's own reasons that gave any,
marked "Beyond the article"), the strongest reasons for each side, the answer that would change
the result and the developers to hire, in at most :data:`SUMMARY_LIMIT` visible characters. Its
lines add up to the points it states. It speaks to the user ("you") or, for a shared result,
about them ("they"). All wording comes from ``data/texts.yaml``; the long form stays in
:mod:`advisor.render` as the full report.
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata
from collections.abc import Iterator
from typing import Literal

from .chart import render_chart_text
from .model import STACKS, Criterion, Knowledge
from .render import HTML, PLAIN, Renderer, Style, hire_line, renderer
from .scoring import AnswerChange, Entry, Reason, Recommendation, reasons_by_side, strongest

Voice = Literal["you", "they"]
VOICES: tuple[Voice, ...] = ("you", "they")
#: Visible characters the result may take: one phone screen, read in the time of a text message.
SUMMARY_LIMIT = 1000
#: Room kept for the one line that may come right before the summary ("Got it: …", "Here is
#: my advice from what you told me so far…"): the summary itself stays within the rest, so it
#: is the same screen every time it is shown, with or without such a line.
INTRO_ROOM = 130
#: Reasons shown for each side, where they fit.
REASONS_PER_SIDE = 1
#: Entries of each side that ``why`` on the result names.
WHY_ENTRIES = 3


def render_summary_html(
    rec: Recommendation,
    knowledge: Knowledge,
    *,
    voice: Voice = "you",
    limit: int | None = None,
) -> str:
    """The summary as one Telegram HTML message, within ``limit`` visible characters (the
    strongest reason of each side where it fits); by default :func:`summary_limit`."""
    return _summary(knowledge, HTML).render(rec, voice, limit=limit or summary_limit(voice))


def render_summary_text(
    rec: Recommendation,
    knowledge: Knowledge,
    *,
    voice: Voice = "you",
    bars: bool = False,
    max_lines: int | None = None,
    limit: int | None = None,
) -> str:
    """The summary as plain text: the same words as :func:`render_summary_html`; ``bars``
    shows the ledger as text bars instead of lines.

    With ``max_lines`` (and ``limit``), the reasons are left to ``why`` when they would take
    more lines (or characters)."""
    return _summary(knowledge, PLAIN).render(
        rec, voice, bars=bars, max_lines=max_lines, limit=limit or summary_limit(voice)
    )


def render_one_line(rec: Recommendation, knowledge: Knowledge, *, voice: Voice = "they") -> str:
    """The result in one line of plain text, for a link's preview: the strongest reason for the
    recommended side (how sure it is, when no answer speaks for it)."""
    return _summary(knowledge, PLAIN).one_line(rec, voice)


def summary_limit(voice: Voice) -> int:
    """Visible characters a summary may take: a person's own result leaves room for the line
    that may come before it; a shared one comes alone."""
    return SUMMARY_LIMIT if voice == "they" else SUMMARY_LIMIT - INTRO_ROOM


def render_details_html(
    knowledge: Knowledge, criterion: str | int, rec: Recommendation | None = None
) -> str:
    """One criterion in full, as Telegram HTML: see :func:`render_details_text`."""
    return _summary(knowledge, HTML).details(_criterion(knowledge, criterion), rec)


def render_details_text(
    knowledge: Knowledge, criterion: str | int, rec: Recommendation | None = None
) -> str:
    """One criterion in full: what it means, what the article says of each stack, its verdict,
    its points for this user (given ``rec``) and the article's own words.

    ``criterion`` is its id ("security"), its name, or its number in the article's order.
    """
    return _summary(knowledge, PLAIN).details(_criterion(knowledge, criterion), rec)


def render_own_html(rec: Recommendation, knowledge: Knowledge) -> str:
    """The advisor's own rules that gave points, as Telegram HTML: see :func:`render_own_text`."""
    return _summary(knowledge, HTML).own(rec)


def render_own_text(rec: Recommendation, knowledge: Knowledge) -> str:
    """The page of details after the six criteria: each of the advisor's own rules that gave
    points, marked "Beyond the article", with its points, the answers behind them and how far
    the article goes."""
    return _summary(knowledge, PLAIN).own(rec)


def render_why_html(rec: Recommendation, knowledge: Knowledge) -> str:
    """Why this result, as Telegram HTML: see :func:`render_why_text`."""
    return _summary(knowledge, HTML).why(rec)


def render_why_text(rec: Recommendation, knowledge: Knowledge) -> str:
    """Why this result: the points of each side and the biggest entries of the ledger behind
    them, each with the answers that caused it."""
    return _summary(knowledge, PLAIN).why(rec)


def find_criterion(knowledge: Knowledge, name: str) -> Criterion | None:
    """The criterion a typed name means: its number, id or name, in this language or in
    English (any case, accents or none: "seguranca" is "Segurança")."""
    wanted = _plain(name)
    english = knowledge.speaking("en")
    for number, c in enumerate(knowledge.criteria, start=1):
        original = english.criteria[number - 1]
        if wanted in (str(number), c.id, _plain(c.title), _plain(original.title)):
            return c
    return None


def _plain(text: str) -> str:
    """Text as compared when typed: without case, accents or surrounding space."""
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _criterion(knowledge: Knowledge, criterion: str | int) -> Criterion:
    found = find_criterion(knowledge, str(criterion))
    if found is None:
        raise KeyError(f"no criterion {criterion!r}")
    return found


@functools.lru_cache(maxsize=16)
def _summary(knowledge: Knowledge, style: Style) -> SummaryRenderer:
    return SummaryRenderer(renderer(knowledge, style))


class SummaryRenderer:
    """Builds summaries, details and "why" of one knowledge base in one style."""

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
        limit: int = SUMMARY_LIMIT - INTRO_ROOM,
        max_lines: int | None = None,
    ) -> str:
        """The strongest reason of each side where it fits the screen, else none (and, where
        lines are counted, without blank lines); in the longest cases, the six criteria
        without their glosses. The same result gives the same summary wherever it is shown."""
        text = ""
        variants = [(n, True) for n in range(REASONS_PER_SIDE, -1, -1)] + [(0, False)]
        for per_side, glosses in variants:
            lines = self._lines(rec, voice, bars, per_side, glosses)
            text = "\n".join(lines).strip("\n")
            if max_lines is not None and text.count("\n") + 1 > max_lines:
                text = re.sub(r"\n\n+", "\n", text)
            fits = max_lines is None or text.count("\n") + 1 <= max_lines
            if fits and visible_length(text, self.s) <= limit:
                return text
        return text

    def _lines(
        self, rec: Recommendation, voice: Voice, bars: bool, per_side: int, glosses: bool = True
    ) -> Iterator[str]:
        s, line = self.s, self.full.line
        if intro := self.t(f"summary.{voice}.intro"):
            yield line(intro)
        yield s.bold(self.t("summary.verdict", stack=self.full.stack(rec.choice)))
        lead = "either" if rec.choice == "either" else rec.confidence
        yield line(f"{self.t(f'summary.lead.{lead}')} {self.full.points(rec)}")
        yield ""
        if bars:
            yield render_chart_text(rec, self.k, title=False)
        else:
            yield s.bold(self.t("summary.criteria"))
            yield from (line(s.bullet + self.entry_line(e, glosses)) for e in rec.criteria)
            if rec.own:
                yield s.bold(self.t("summary.own"))
                yield from (line(s.bullet + self.entry_line(e)) for e in rec.own)
        if per_side:
            yield ""
            sides = reasons_by_side(rec, per_side)
            order = [rec.choice] if rec.choice in sides else []
            order += [st for st in STACKS if st in sides and st != rec.choice]
            for stack in order:
                yield s.bold(self.t("summary.reasons_for", stack=self.full.stack(stack)))
                yield from (line(s.bullet + self._reason(r, voice)) for r in sides[stack])
            if not sides:
                yield line(self.t(f"summary.{voice}.no_reasons"))
        yield ""
        yield line(self._change(rec, voice))
        yield line(s.escape(hire_line(rec, self.k)))
        if invite := self.t(f"summary.{voice}.invite"):
            yield ""
            yield line(invite)

    def one_line(self, rec: Recommendation, voice: Voice) -> str:
        """The strongest reason for the recommended side, else how sure the advice is."""
        sides = reasons_by_side(rec, 1)
        if rec.choice in sides:
            return self._reason(sides[rec.choice][0], voice)
        lead = "either" if rec.choice == "either" else rec.confidence
        return f"{self.t(f'summary.lead.{lead}')} {self.full.points(rec)}"

    def entry_line(self, entry: Entry, gloss: bool = True) -> str:
        """One line of the ledger: "Security (safe from attacks): Django +4." """
        if entry.side is None:
            points = self.k.text("summary.tie_points")
        else:
            points = self.k.text(
                "summary.side_points", stack=self.full.stack(entry.side), points=entry.points
            )
        if entry.beyond_article:
            return self.t("summary.own_line", title=entry.title, points=points)
        c = entry.criterion
        if not gloss:
            return self.t("summary.own_line", title=c.title, points=points)
        return self.t("summary.criterion", title=c.title, gloss=c.gloss, points=points)

    def _reason(self, reason: Reason, voice: Voice) -> str:
        option = reason.option
        because = option.because if voice == "you" else option.because_they
        told = self.k.text(f"summary.{voice}.reason", because=because)
        fit = reason.fit
        if fit is not None:
            text = self.k.text("result.reason_fit", because=told, reason=fit.reason)
            text = self.k.text("result.beyond_article", reason=text)
        else:
            title = reason.entry.criterion.title
            text = self.k.text("summary.reason_criterion", because=told, title=title)
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

    def why(self, rec: Recommendation) -> str:
        """The points of each side, and each side's biggest entries with what caused them."""
        s, line = self.s, self.full.line
        if rec.choice == "either":
            title = self.t("why.title_either")
        else:
            title = self.t("why.title", stack=self.full.stack(rec.choice))
        lines = [s.bold(title), line(self.full.points(rec)), "", line(self.t("why.biggest"))]
        order = [rec.choice] if rec.choice in STACKS else []
        order += [st for st in STACKS if st not in order]
        for stack in order:
            entries = strongest(rec, stack, WHY_ENTRIES)
            if not entries:
                continue
            lines.append(s.bold(self.t("summary.reasons_for", stack=self.full.stack(stack))))
            lines += [line(s.bullet + self._why_entry(e)) for e in entries]
        return "\n".join(lines)

    def _why_entry(self, entry: Entry) -> str:
        joiner = self.k.text("why.joiner")
        if entry.beyond_article:
            because = joiner.join(c.option.because for c in entry.causes)
            key = "why.entry_own"
        else:
            parts = [cause.option.because for cause in entry.causes] or [entry.criterion.favours]
            because, key = joiner.join(parts), "why.entry"
        text = self.k.text(key, title=entry.title, points=entry.points, because=because)
        return self.s.escape(text)

    def own(self, rec: Recommendation) -> str:
        s, line = self.s, self.full.line
        number = len(self.k.criteria) + 1
        lines = [s.bold(f"{number}. {self.t('result.own_title')}")]
        for entry in rec.own:
            lines.append(line(s.bullet + self.full.ledger_line(entry)))
            lines.append(line(s.escape(entry.source.summary)))
        return "\n".join(lines)

    def details(self, criterion: Criterion, rec: Recommendation | None) -> str:
        s, line = self.s, self.full.line
        number = self.k.criteria.index(criterion) + 1
        title = self.t("details.title", number=number, title=criterion.title, gloss=criterion.gloss)
        lines = [s.bold(title), line(s.escape(criterion.summary))]
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
            entry = rec.entry(criterion.id)
            assert entry is not None, "every criterion has an entry"
            lines.append(self.full.mattered(entry))
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
