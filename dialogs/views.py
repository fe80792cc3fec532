"""What a front end shows: one small frozen type per screen, handled with ``match``.

Views are data, not strings: the console and Telegram render them from ``data/texts.yaml``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from advisor import Option, Question, Recommendation
from advisor.scoring import Choice
from advisor.whatif import Alternative, Outcome


@dataclass(frozen=True, slots=True)
class Notice:
    """A one-line text shown before a screen (or alone): a text key with its values."""

    key: str
    values: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Languages:
    """The languages to choose from (``/language``): each code with its name in its own words."""

    choices: tuple[tuple[str, str], ...]
    current: str


@dataclass(frozen=True, slots=True)
class Welcome:
    """Before the first question (front ends begin the questions from here)."""

    notice: Notice | None = None


@dataclass(frozen=True, slots=True)
class Asking:
    """A question with its options, where it stands in the dialog, and what was chosen."""

    question: Question
    step: int
    steps: int
    can_go_back: bool
    selected: str | None = None
    show_why: bool = False
    notice: Notice | None = None
    #: A follow-up question (asked because of an earlier answer): it keeps that one's number.
    followup: bool = False
    #: When typed text could mean two options: just those two, to pick from.
    choices: tuple[Option, ...] = ()
    #: The recommendation, when no way of answering the rest could change it ("See my result
    #: now" is offered then).
    settled: Choice | None = None

    @property
    def options(self) -> tuple[Option, ...]:
        return self.question.options


@dataclass(frozen=True, slots=True)
class Finished:
    """A new result: the chart, then the summary with its buttons."""

    recommendation: Recommendation
    #: A line shown before the result (what a typed answer was taken as, or a skip).
    intro: Notice | None = None


@dataclass(frozen=True, slots=True)
class Summary:
    """Back to the summary from one of its pages: shown in place of that page, no new chart."""

    recommendation: Recommendation


@dataclass(frozen=True, slots=True)
class AtResult:
    """At the result (already shown), only a line is new: "You have your result…"."""

    notice: Notice


@dataclass(frozen=True, slots=True)
class Explained:
    """A criterion in full (``number`` 1 to 6, the article's order), the advisor's own rules
    that gave points (7, when there are any), or all of them (None)."""

    recommendation: Recommendation
    number: int | None = None
    notice: Notice | None = None

    @property
    def pages(self) -> int:
        """How many pages of details this result has: the six criteria, and one for the
        advisor's own rules when they gave points."""
        return len(self.recommendation.criteria) + (1 if self.recommendation.own else 0)


@dataclass(frozen=True, slots=True)
class WhyResult:
    """Why this result: the biggest entries of the ledger for each side (``why`` typed there)."""

    recommendation: Recommendation


@dataclass(frozen=True, slots=True)
class FullReport:
    """The long form of the result: every criterion, reasons and quotes."""

    recommendation: Recommendation


@dataclass(frozen=True, slots=True)
class YourAnswers:
    """What the user answered, question by question, and the changes that matter most."""

    recommendation: Recommendation
    #: Every question asked, in order, with the answer (None: not answered).
    answered: tuple[tuple[Question, Option | None], ...]
    #: The single changes that would change the recommendation or its confidence, best first.
    suggestions: tuple[Alternative, ...]
    notice: Notice | None = None


@dataclass(frozen=True, slots=True)
class Revising:
    """ "What if…": another answer to one question, each option with the result it would give."""

    question: Question
    #: The question's number in the list of answers.
    number: int
    current: Option | None
    effects: Mapping[str, Outcome]
    now: Outcome
    notice: Notice | None = None


@dataclass(frozen=True, slots=True)
class Preview:
    """ "What if…": the result with one answer changed, to keep or to go back from."""

    question: Question
    old: Option | None
    new: Option
    before: Recommendation
    after: Recommendation
    notice: Notice | None = None


@dataclass(frozen=True, slots=True)
class Consent:
    """The hand-off to an expert asks for consent first."""

    notice: Notice | None = None


@dataclass(frozen=True, slots=True)
class ContactRequest:
    """After consent, the hand-off asks for a phone number or an e-mail address."""

    notice: Notice | None = None


@dataclass(frozen=True, slots=True)
class Help:
    """How to use the bot (asked for by typing "help"), over the screen the person is on."""

    current: View | None = None


@dataclass(frozen=True, slots=True)
class About:
    """Where the advice comes from and every rule of the advisor's own (``/about``)."""


@dataclass(frozen=True, slots=True)
class ForgetAsk:
    """``/forget`` asks first: delete everything stored about the person, or keep it?"""


@dataclass(frozen=True, slots=True)
class Hint:
    """A short message on its own that changes nothing (for a sticker, an unknown command)."""

    notice: Notice


@dataclass(frozen=True, slots=True)
class Goodbye:
    """The person is leaving for now ("thanks, bye"); the answers are kept."""


#: The result and its pages.
ResultPage = (
    Finished | Summary | Explained | WhyResult | FullReport | YourAnswers | Revising | Preview
)
View = (
    Welcome
    | Languages
    | Asking
    | Finished
    | Summary
    | AtResult
    | Explained
    | WhyResult
    | FullReport
    | YourAnswers
    | Revising
    | Preview
    | Consent
    | ContactRequest
    | Help
    | About
    | ForgetAsk
    | Hint
    | Goodbye
)
