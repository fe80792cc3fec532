"""Render a recommendation as Telegram HTML (split into messages) or as plain text.

All wording comes from ``data/texts.yaml``; this module only arranges it and adds markup.
The parts that do not depend on the answers are built once per knowledge and style.
"""

from __future__ import annotations

import functools
import html
import textwrap
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from typing import Any

from .model import STACKS, Knowledge, Stack
from .scoring import AnswerChange, CriterionResult, Reason, Recommendation

TELEGRAM_LIMIT = 4096
CACHE_SIZE = 20_000
MAX_MESSAGES = 3
PLAIN_WIDTH = 78


@dataclass(frozen=True, slots=True)
class Style:
    """How to mark up text: escaping, bold, italics, bullets and line wrapping."""

    name: str
    escape: Callable[[str], str]
    bold: Callable[[str], str]
    italic: Callable[[str], str]
    wrap: Callable[[str], str]
    bullet: str = "• "


def _same(text: str) -> str:
    return text


@functools.lru_cache(maxsize=4096)
def _wrap(text: str) -> str:
    """Wrap one paragraph for a terminal, indenting the continuation of a bullet."""
    if len(text) <= PLAIN_WIDTH:
        return text
    indent = "  " if text.startswith("• ") else ""
    return textwrap.fill(text, PLAIN_WIDTH, subsequent_indent=indent, break_on_hyphens=False)


HTML = Style(
    name="html",
    escape=lambda s: html.escape(s, quote=False),
    bold=lambda s: f"<b>{s}</b>",
    italic=lambda s: f"<i>{s}</i>",
    wrap=_same,
)
PLAIN = Style(name="plain", escape=_same, bold=_same, italic=_same, wrap=_wrap)


class Renderer:
    """Renders results of one knowledge base in one style."""

    def __init__(self, knowledge: Knowledge, style: Style) -> None:
        self.k = knowledge
        self.s = style
        self._cache: dict[Hashable, str] = {}
        s = style
        self.title = s.bold(self.t("result.title"))
        self.reasons_title = s.bold(self.t("result.reasons_title"))
        self.criteria_title = s.bold(self.t("result.criteria_title"))
        self.criteria_untouched = (
            f"{self.criteria_title}\n{self.line(self.t('result.criteria_untouched'))}"
        )
        self.change_title = s.bold(self.t("result.change_title"))
        self.no_reasons = self.line(self.t("result.no_reasons"))
        self.change_none = self.line(self.t("result.change_none"))
        self.disclaimer = self.line(
            s.italic(
                self.t(
                    "result.disclaimer",
                    title=knowledge.source.title,
                    publisher=knowledge.source.publisher,
                )
            )
        )
        self.criterion_head: dict[str, str] = {}
        self.criterion_tail: dict[str, str] = {}
        for number, c in enumerate(knowledge.criteria, start=1):
            if c.verdict == "tie":
                verdict = self.t("result.criterion_verdict_tie")
            else:
                verdict = self.t("result.criterion_verdict", winner=self.stack(c.verdict))
            self.criterion_head[c.id] = "\n".join(
                (
                    s.bold(self.t("result.criterion_line", number=number, title=c.title)),
                    self.line(s.escape(c.summary)),
                    self.line(verdict),
                )
            )
            stacks: tuple[Stack, ...] = STACKS if c.verdict == "tie" else (c.winner,)
            tail = [self.line(s.bullet + s.escape(c.stacks[st])) for st in stacks]
            tail.append(self.line(s.italic(self.t("result.criterion_quote", quote=c.quote))))
            if c.quote_translation:
                translation = self.t("details.quote_translation", translation=c.quote_translation)
                tail.append(self.line(s.escape(translation)))
            self.criterion_tail[c.id] = "\n".join(tail)
        self.criterion_bare = {
            c.id: f"{self.criterion_head[c.id]}\n{self.criterion_tail[c.id]}"
            for c in knowledge.criteria
        }

    def t(self, key: str, **values: object) -> str:
        """The escaped text at ``key`` with values filled in."""
        return self.s.escape(self.k.text(key, **values))

    def line(self, text: str) -> str:
        return self.s.wrap(text)

    def stack(self, name: str) -> str:
        return self.k.text(f"stack.{name}")

    def sections(self, rec: Recommendation) -> Iterator[str]:
        """The result as blocks; a block is never split across messages.

        Blocks depend on a few values each, and many users share them, so each is built once
        and then looked up (the caches are bounded).
        """
        django, nodejs = _points(rec)
        yield self._memo(("head", rec.choice, rec.confidence, django, nodejs), self._head, rec)
        yield self._memo(("reasons", rec.reasons), self._reasons, rec)
        untouched = not any(cr.drivers for cr in rec.criteria)
        yield self.criteria_untouched if untouched else self.criteria_title
        for cr in rec.criteria:
            if untouched:
                yield self.criterion_bare[cr.criterion.id]
                continue
            drivers = tuple(d.option for d in cr.drivers)
            key = ("criterion", cr.criterion.id, cr.level, cr.contribution, drivers)
            yield self._memo(key, self._criterion, cr)
        what_if = rec.what_if
        changes = None if what_if is None else (what_if.choice, what_if.changes)
        yield self._memo(("change", changes), self._change, rec)
        yield self.disclaimer

    def _memo(self, key: Hashable, build: Callable[[Any], str], value: Any) -> str:
        found = self._cache.get(key)
        if found is None:
            if len(self._cache) >= CACHE_SIZE:
                self._cache.clear()
            found = self._cache[key] = build(value)
        return found

    def _head(self, rec: Recommendation) -> str:
        s = self.s
        if rec.choice == "either":
            verdict = s.bold(self.t("result.recommendation_either"))
        else:
            verdict = s.bold(self.t("result.recommendation", stack=self.stack(rec.choice)))
        django, nodejs = _points(rec)
        confidence = self.t(
            "result.confidence",
            confidence=self.k.text(f"confidence.{rec.confidence}"),
            django=self.stack("django"),
            nodejs=self.stack("nodejs"),
            django_points=django,
            nodejs_points=nodejs,
        )
        return f"{self.title}\n{verdict}\n{self.line(confidence)}"

    def _reasons(self, rec: Recommendation) -> str:
        lines = [self.reasons_title]
        lines.extend(self.line(self.s.bullet + self.reason(r)) for r in rec.reasons)
        if not rec.reasons:
            lines.append(self.no_reasons)
        return "\n".join(lines)

    def _criterion(self, cr: CriterionResult) -> str:
        cid = cr.criterion.id
        return f"{self.criterion_head[cid]}\n{self.mattered(cr)}\n{self.criterion_tail[cid]}"

    def _change(self, rec: Recommendation) -> str:
        if rec.what_if is None:
            return f"{self.change_title}\n{self.change_none}"
        joined = self.k.text("result.change_joiner").join(
            self.answer_change(c) for c in rec.what_if.changes
        )
        if rec.what_if.choice == "either":
            key = "result.change_either"
        elif len(rec.what_if.changes) == 1:
            key = "result.change_one"
        else:
            key = "result.change_two"
        text = self.t(key, change=joined, stack=self.stack(rec.what_if.choice))
        return f"{self.change_title}\n{self.line(text)}"

    def mattered(self, cr: CriterionResult) -> str:
        level = self.k.text(f"importance.{cr.level}")
        if cr.contribution:
            stack = "django" if cr.contribution > 0 else "nodejs"
            points = self.k.text(
                "result.criterion_points", points=abs(cr.contribution), stack=self.stack(stack)
            )
        else:
            points = self.k.text("result.criterion_points_tie")
        if not cr.drivers:
            return self.line(self.t("result.criterion_mattered", level=level, points=points))
        because = self.k.text("result.because_joiner").join(d.option.because for d in cr.drivers)
        return self.line(
            self.t("result.criterion_mattered_because", level=level, points=points, because=because)
        )

    def reason(self, reason: Reason) -> str:
        if reason.fit is not None:
            assert reason.option is not None
            text = self.k.text(
                "result.reason_fit", because=reason.option.because, reason=reason.fit.reason
            )
        elif reason.option is None:
            assert reason.criterion is not None
            text = self.k.text("result.reason_article", favours=reason.criterion.favours)
        else:
            assert reason.criterion is not None
            text = self.k.text(
                "result.reason_criterion",
                because=reason.option.because,
                favours=reason.criterion.favours,
            )
        if reason.beyond_article:
            text = self.k.text("result.beyond_article", reason=text)
        return self.s.escape(text[:1].upper() + text[1:])

    def answer_change(self, change: AnswerChange) -> str:
        if change.old is None:
            return self.k.text(
                "result.answer_new", new=change.new.label, question=change.question.prompt
            )
        return self.k.text(
            "result.answer_change",
            new=change.new.label,
            old=change.old.label,
            question=change.question.prompt,
        )


def _points(rec: Recommendation) -> tuple[int, int]:
    """Points for Django and for Node.js: the total split by the lead.

    A tied criterion's importance counts in the total but goes to neither stack.
    """
    shared = rec.total - sum(cr.importance for cr in rec.criteria if not cr.criterion.sign)
    django = (shared + rec.lead) // 2
    return django, shared - django


@functools.lru_cache(maxsize=16)
def renderer(knowledge: Knowledge, style: Style) -> Renderer:
    """The renderer for this knowledge and style, built once."""
    return Renderer(knowledge, style)


def render_html(rec: Recommendation, knowledge: Knowledge) -> list[str]:
    """Telegram HTML: at most three messages of at most 4096 characters each."""
    messages: list[str] = []
    current = ""
    for block in renderer(knowledge, HTML).sections(rec):
        candidate = f"{current}\n\n{block}" if current else block
        if len(candidate) <= TELEGRAM_LIMIT:
            current = candidate
        else:
            messages.append(current)
            current = block
    messages.append(current)
    if len(messages) > MAX_MESSAGES or any(len(m) > TELEGRAM_LIMIT for m in messages):
        raise ValueError(f"the result does not fit {MAX_MESSAGES} Telegram messages")
    return messages


def render_text(rec: Recommendation, knowledge: Knowledge) -> str:
    """Plain text for a terminal."""
    return "\n\n".join(renderer(knowledge, PLAIN).sections(rec))
