"""A user's place in the dialog and their answers, as a small JSON-compatible record."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .model import Knowledge

SCHEMA_VERSION = 1
WELCOME = "welcome"
RESULT = "result"
LEAD_CONSENT = "lead_consent"
LEAD_CONTACT = "lead_contact"
#: "What if…": picking another answer to one question, then looking at the result it gives.
REVISE = "revise"
PREVIEW = "preview"
WHAT_IF = (REVISE, PREVIEW)
#: The two steps of the hand-off to an expert, and every state after the questions.
HAND_OFF = (LEAD_CONSENT, LEAD_CONTACT)
AFTER_RESULT = (RESULT, *WHAT_IF, *HAND_OFF)
QUESTION_PREFIX = "q_"


def question_state(question_id: str) -> str:
    """The state name of a question."""
    return QUESTION_PREFIX + question_id


@dataclass(slots=True)
class Session:
    """Where one user is in the dialog.

    ``round`` grows on every restart, so buttons of an earlier round can be told apart.
    ``source`` is the tracked link the user came from, if any. In "What if…", ``revising``
    is the question whose answer the user is trying another one for, and ``trial`` that other
    answer once picked (``answers`` keep the real ones until the user keeps the change).
    ``choices`` are the two options a "Did you mean A or B?" offered at the question asked:
    the next typed reply is read against them ("the first one", "2"); any other step clears
    them.
    """

    state: str = WELCOME
    answers: dict[str, str] = field(default_factory=dict)
    round: int = 0
    source: str | None = None
    revising: str | None = None
    trial: str | None = None
    #: The language spoken with this person ("" until known: see the conversation service).
    language: str = ""
    #: The result could not reach the person (they had blocked the bot): it is shown on their
    #: next /start rather than started over.
    unseen: bool = False
    #: The options (ids) a "Did you mean A or B?" offered at the current question, in order.
    choices: tuple[str, ...] = ()

    @property
    def question_id(self) -> str | None:
        """The id of the question being asked, or None at the welcome and the result."""
        if self.state.startswith(QUESTION_PREFIX):
            return self.state[len(QUESTION_PREFIX) :]
        return None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-compatible dict carrying the schema version."""
        data: dict[str, Any] = {"v": SCHEMA_VERSION, "s": self.state, "a": dict(self.answers)}
        if self.round:
            data["r"] = self.round
        if self.source:
            data["src"] = self.source
        if self.revising:
            data["wq"] = self.revising
        if self.trial:
            data["wo"] = self.trial
        if self.language:
            data["l"] = self.language
        if self.unseen:
            data["u"] = 1
        if self.choices:
            data["c"] = list(self.choices)
        return data

    @classmethod
    def from_dict(cls, data: object, knowledge: Knowledge) -> Session | None:
        """Restore a session; None when the data is corrupt, of another version or stale."""
        if not isinstance(data, dict) or data.get("v") != SCHEMA_VERSION:
            return None
        state, answers = data.get("s"), data.get("a")
        round_, source = data.get("r", 0), data.get("src")
        revising, trial = data.get("wq"), data.get("wo")
        if not isinstance(state, str) or not isinstance(answers, dict):
            return None
        if not all(v is None or isinstance(v, str) for v in (revising, trial)):
            return None
        if not isinstance(round_, int) or isinstance(round_, bool) or round_ < 0:
            return None
        if source is not None and not isinstance(source, str):
            return None
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in answers.items()):
            return None
        if knowledge.prune(answers) != answers:
            return None
        choices = data.get("c", [])
        if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
            return None
        language = data.get("l", "")
        if not isinstance(language, str) or language not in knowledge.languages:
            language = ""  # a language no longer offered: chosen again from Telegram's
        session = cls(state, dict(answers), round_, source, revising, trial, language)
        session.unseen = data.get("u") == 1 and state in AFTER_RESULT
        session.choices = _offered(tuple(choices), session, knowledge)
        if state in WHAT_IF:
            return session if _valid_what_if(session, knowledge) else None
        if revising is not None or trial is not None:
            return None
        if state == WELCOME or state in AFTER_RESULT:
            return session
        question = knowledge.question(session.question_id or "")
        if question is None or not question.applies(answers):
            return None
        return session


def _offered(choices: tuple[str, ...], session: Session, knowledge: Knowledge) -> tuple[str, ...]:
    """The choices of a "Did you mean…?" still offered: options of the question asked (none
    when the data changed since, or at any other step)."""
    question = knowledge.question(session.question_id or "")
    if question is None or len(choices) < 2 or len(set(choices)) != len(choices):
        return ()
    if not all(question.option(choice) is not None for choice in choices):
        return ()
    return choices


def _valid_what_if(session: Session, knowledge: Knowledge) -> bool:
    """A question being revised that is asked, and (when previewing) one of its options."""
    question = knowledge.question(session.revising or "")
    if question is None or not question.applies(session.answers):
        return False
    if session.state == REVISE:
        return session.trial is None
    return question.option(session.trial) is not None
