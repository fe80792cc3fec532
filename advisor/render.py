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

from .model import STACKS, Knowledge, Option, Stack
from .scoring import AnswerChange, Entry, Recommendation

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
        self.ledger_title = s.bold(self.t("result.ledger_title"))
        self.criteria_title = s.bold(self.t("result.criteria_title"))
        self.own_title = s.bold(self.t("result.own_title"))
        self.change_title = s.bold(self.t("result.change_title"))
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
            head = self.t("result.criterion_line", number=number, title=c.title, gloss=c.gloss)
            self.criterion_head[c.id] = "\n".join(
                (s.bold(head), self.line(s.escape(c.summary)), self.line(verdict))
            )
            stacks: tuple[Stack, ...] = STACKS if c.verdict == "tie" else (c.winner,)
            tail = [self.line(s.bullet + s.escape(c.stacks[st])) for st in stacks]
            tail.append(self.line(s.italic(self.t("result.criterion_quote", quote=c.quote))))
            if c.quote_translation:
                translation = self.t("details.quote_translation", translation=c.quote_translation)
                tail.append(self.line(s.escape(translation)))
            self.criterion_tail[c.id] = "\n".join(tail)

    def t(self, key: str, **values: object) -> str:
        """The escaped text at ``key`` with values filled in."""
        return self.s.escape(self.k.text(key, **values))

    def line(self, text: str) -> str:
        return self.s.wrap(text)

    def stack(self, name: str) -> str:
        return self.k.text(f"stack.{name}")

    def points(self, rec: Recommendation) -> str:
        """The ledger's sums: "Points: Django 9, Node.js 5." (escaped)."""
        return self.t("summary.points", **sums(rec, self.k))

    def sections(self, rec: Recommendation) -> Iterator[str]:
        """The result as blocks; a block is never split across messages.

        Blocks depend on a few values each, and many users share them, so each is built once
        and then looked up (the caches are bounded).
        """
        django, nodejs = rec.points("django"), rec.points("nodejs")
        yield self._memo(("head", rec.choice, rec.confidence, django, nodejs), self._head, rec)
        ledger = _ledger_key(rec)
        yield self._memo(("ledger", ledger), self._ledger, rec)
        yield self.criteria_title
        for entry in rec.criteria:
            key = ("criterion", entry.source.id, entry.level, entry.points, _causes(entry))
            yield self._memo(key, self._criterion, entry)
        if rec.own:
            yield self._memo(("own", ledger), self._own, rec)
        what_if = rec.what_if
        changes = None if what_if is None else (what_if.choice, what_if.changes)
        team = rec.answers.get(TEAM)
        yield self._memo(("change", changes, rec.choice, team), self._change, rec)
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
        confidence = self.t(
            "result.confidence", confidence=confidence_words(rec, self.k), **sums(rec, self.k)
        )
        return f"{self.title}\n{verdict}\n{self.line(confidence)}"

    def _ledger(self, rec: Recommendation) -> str:
        """Every entry of the ledger with the points of each of its parts, and the sums."""
        lines = [self.ledger_title]
        lines += [self.line(self.s.bullet + self.ledger_line(e)) for e in rec.ledger]
        total = self.t("result.ledger_total", **sums(rec, self.k))
        lines.append(self.line(self.s.bold(total)))
        return "\n".join(lines)

    def ledger_line(self, entry: Entry) -> str:
        """One entry: "Security: +4 for Django (1 from the article's rating, 3 because …)"."""
        k = self.k
        if entry.side is None:
            return self.t("result.ledger_tie", title=entry.criterion.title)
        parts = [k.text("result.ledger_base", points=entry.base)] if entry.base else []
        for cause in entry.causes:
            because = cause.option.because
            if entry.beyond_article:
                fit = next(f for f in cause.option.fits if f.rule == entry.source.id)
                because = k.text("result.reason_fit", because=because, reason=fit.reason)
            parts.append(k.text("result.ledger_cause", points=cause.points, because=because))
        text = k.text(
            "result.ledger_own" if entry.beyond_article else "result.ledger_line",
            title=entry.title,
            points=entry.points,
            stack=self.stack(entry.side),
            because=k.text("result.ledger_joiner").join(parts),
        )
        return self.s.escape(text)

    def _criterion(self, entry: Entry) -> str:
        cid = entry.source.id
        return f"{self.criterion_head[cid]}\n{self.mattered(entry)}\n{self.criterion_tail[cid]}"

    def _own(self, rec: Recommendation) -> str:
        """The advisor's own reasons that gave points: each with its points and its rule."""
        lines = [self.own_title]
        for entry in rec.own:
            assert entry.side is not None, "an own reason gives its points to a side"
            head = self.t(
                "result.own_line",
                title=entry.title,
                points=entry.points,
                stack=self.stack(entry.side),
            )
            lines.append(self.line(self.s.bullet + head))
            lines.append(self.line(self.s.escape(entry.source.summary)))
        return "\n".join(lines)

    def _change(self, rec: Recommendation) -> str:
        hire = self.line(self.s.escape(hire_line(rec, self.k)))
        if rec.what_if is None:
            return f"{self.change_title}\n{self.change_none}\n{hire}"
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
        return f"{self.change_title}\n{self.line(text)}\n{hire}"

    def mattered(self, entry: Entry) -> str:
        """How much a criterion mattered to this user, its points, and the answers why."""
        level = self.k.text(f"importance.{entry.level}")
        if entry.side is not None:
            points = self.k.text(
                "result.criterion_points", points=entry.points, stack=self.stack(entry.side)
            )
        else:
            points = self.k.text("result.criterion_points_tie")
        if not entry.causes:
            return self.line(self.t("result.criterion_mattered", level=level, points=points))
        because = self.k.text("result.because_joiner").join(c.option.because for c in entry.causes)
        return self.line(
            self.t("result.criterion_mattered_because", level=level, points=points, because=because)
        )

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


#: The question about the team's language (who to hire depends on it).
TEAM = "team"


def confidence_words(rec: Recommendation, knowledge: Knowledge) -> str:
    """How sure, in a few words: "clear", "narrow lead"; for Either, "a close call" (the words
    a close call is kept for)."""
    if rec.choice == "either":
        return knowledge.text("whatif.outcome.either")
    return knowledge.text(f"confidence.{rec.confidence}")


def sums(rec: Recommendation, knowledge: Knowledge) -> dict[str, object]:
    """The ledger's sums as text values: each stack's name and its points (``{django}
    {django_points}, {nodejs} {nodejs_points}``), for every text that states them."""
    return {
        "django": knowledge.text("stack.django"),
        "nodejs": knowledge.text("stack.nodejs"),
        "django_points": rec.points("django"),
        "nodejs_points": rec.points("nodejs"),
    }


def _causes(entry: Entry) -> tuple[Option, ...]:
    return tuple(c.option for c in entry.causes)


def _ledger_key(rec: Recommendation) -> tuple[Hashable, ...]:
    """What the ledger's text depends on: each entry's source, points and the answers behind
    them."""
    return tuple((e.source.id, e.side, e.points, _causes(e)) for e in rec.ledger)


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


#: The own reason the team question's answers give points by: the stack a team's language fits.
TEAM_RULE = "team_language"


def hire_line(rec: Recommendation, knowledge: Knowledge) -> str:
    """Who to hire, from the facts: the team's language (the answer to ``team``) and the
    recommendation. It never sends the reader back to the team's language when that is known."""
    team = knowledge.question(TEAM)
    option = team.option(rec.answers.get(TEAM)) if team is not None else None
    answer = option.id if option is not None else "unknown"
    if rec.choice == "either":
        key = f"hire.either.{answer}"
        return knowledge.text(key if key in knowledge.texts else "hire.either.unknown")
    if f"hire.{answer}.{rec.choice}" in knowledge.texts:  # no team yet: "hire.neither.…"
        return knowledge.text(f"hire.{answer}.{rec.choice}")
    knows = {f.stack for f in option.fits if f.rule == TEAM_RULE} if option is not None else set()
    if knows and rec.choice not in knows:
        return knowledge.text(f"hire.switch.{rec.choice}")
    return knowledge.text(f"hire.{rec.choice}")
