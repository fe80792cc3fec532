"""The conversation flow: one `transitions` state machine built from data/questions.yaml.

States: ``welcome``, one ``q_<id>`` per question, ``result``, and after it the two steps of
the hand-off to a human expert (``lead_consent``, ``lead_contact``). Triggers (declared only):
``start``, ``answer``, ``back``, ``restart``, ``why`` (an aside that stays on the question),
and ``lead``, ``consent``, ``decline``, ``contacted`` for the hand-off. Conditional questions
are skipped by guarded transitions, in both directions.

One machine serves every user: a session is loaded into the machine's single model, one
trigger fires, and the new state is copied back. Every call is synchronous, so in an asyncio
program no other session can interleave.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, Literal

from transitions import Machine

from advisor import Knowledge, Option, Question, recommend

from .interpreter import Command, Interpreter
from .session import LEAD_CONSENT, LEAD_CONTACT, RESULT, WELCOME, Session, question_state
from .views import (
    Asking,
    Consent,
    ContactRequest,
    Finished,
    Goodbye,
    Help,
    Notice,
    View,
    Welcome,
)

SECONDS_PER_QUESTION = 10
#: States after the questions: the result and the two steps of the hand-off to an expert.
HandOffStep = Literal["lead", "consent", "decline", "contacted"]


class _Cursor:
    """The machine's model: the state and answers of the session being handled."""

    state: str

    def __init__(self) -> None:
        self.answers: Mapping[str, str] = {}
        self.trigger: Callable[..., bool]
        self.may_trigger: Callable[..., bool]


class DialogEngine:
    """Runs the dialog for any number of sessions over one shared state machine."""

    def __init__(self, knowledge: Knowledge) -> None:
        self.knowledge = knowledge
        self.interpreter = Interpreter(knowledge)
        self._cursor = _Cursor()
        self._machine = Machine(
            model=self._cursor,
            states=[
                WELCOME,
                *(question_state(q.id) for q in knowledge.questions),
                RESULT,
                LEAD_CONSENT,
                LEAD_CONTACT,
            ],
            transitions=self._transitions(),
            initial=WELCOME,
            auto_transitions=False,
            send_event=False,
        )

    # -- the flow, as data for transitions ---------------------------------------------------

    def _transitions(self) -> list[dict[str, Any]]:
        questions = self.knowledge.questions
        states = [question_state(q.id) for q in questions]
        first = states[0]
        table: list[dict[str, Any]] = [
            {"trigger": "start", "source": WELCOME, "dest": first},
            {"trigger": "restart", "source": "*", "dest": first},
            {"trigger": "back", "source": [WELCOME, first], "dest": None},
            {"trigger": "skip", "source": states, "dest": RESULT},
        ]
        for i, source in enumerate(states):
            table.append({"trigger": "why", "source": source, "dest": None})
            for later in questions[i + 1 :]:
                table.append(self._guarded("answer", source, later))
            table.append({"trigger": "answer", "source": source, "dest": RESULT})
            for earlier in reversed(questions[:i]):
                table.append(self._guarded("back", source, earlier))
        for earlier in reversed(questions):
            table.append(self._guarded("back", RESULT, earlier))
        table += [
            {"trigger": "lead", "source": RESULT, "dest": LEAD_CONSENT},
            {"trigger": "consent", "source": LEAD_CONSENT, "dest": LEAD_CONTACT},
            {"trigger": "contacted", "source": LEAD_CONTACT, "dest": RESULT},
            {"trigger": "decline", "source": [LEAD_CONSENT, LEAD_CONTACT], "dest": RESULT},
            {"trigger": "back", "source": [LEAD_CONSENT, LEAD_CONTACT], "dest": RESULT},
        ]
        return table

    def _guarded(self, trigger: str, source: str, dest: Question) -> dict[str, Any]:
        def applies() -> bool:
            return dest.applies(self._cursor.answers)

        return {
            "trigger": trigger,
            "source": source,
            "dest": question_state(dest.id),
            "conditions": [applies],
        }

    def _fire(self, session: Session, trigger: str) -> None:
        cursor = self._cursor
        self._machine.set_state(session.state, model=cursor)
        cursor.answers = session.answers
        try:
            cursor.trigger(trigger)
        finally:
            cursor.answers = {}
        session.state = cursor.state

    # -- which action is valid where: asked of the machine itself ---------------------------

    def may(self, session: Session, trigger: str) -> bool:
        """Whether ``trigger`` would move this session (its conditions included)."""
        cursor = self._cursor
        self._machine.set_state(session.state, model=cursor)
        cursor.answers = session.answers
        try:
            return bool(cursor.may_trigger(trigger))
        finally:
            cursor.answers = {}

    def triggers(self, state: str) -> list[str]:
        """The triggers declared for a state."""
        return list(self._machine.get_triggers(state))

    # -- what front ends call ----------------------------------------------------------------

    def start(self, session: Session) -> View:
        """Begin the questions (or, if already under way, show where the user is)."""
        if session.state == WELCOME:
            self._fire(session, "start")
        return self.view(session)

    def restart(self, session: Session) -> View:
        """Forget the answers and ask the first question again."""
        session.answers = {}
        session.round += 1
        self._fire(session, "restart")
        return self.view(session, notice=Notice("dialog.notice.restarted"))

    def back(self, session: Session) -> View:
        """Go to the previous question asked, keeping its answer; stay on the first one."""
        before = session.state
        self._fire(session, "back")
        if session.state == before:
            return self.view(session, notice=Notice("dialog.notice.back_on_first"))
        return self.view(session)

    def why(self, session: Session) -> View:
        """Explain why the current question is asked, and ask it again."""
        if not self.may(session, "why"):
            return self.view(session, notice=self._idle_notice(session))
        self._fire(session, "why")
        return self.view(session, show_why=True)

    def answer(self, session: Session, option_id: str) -> View:
        """Record an answer to the current question and move on."""
        question = self.current_question(session)
        if question is None:
            return self.view(session, notice=self._idle_notice(session))
        if question.option(option_id) is None:
            return self.view(session, notice=Notice("dialog.notice.reask"))
        answers = {**session.answers, question.id: option_id}
        session.answers = self.knowledge.prune(answers)
        self._fire(session, "answer")
        return self.view(session)

    def handle_text(self, session: Session, text: str) -> View:
        """Interpret typed text as a command or an answer; ask rather than guess."""
        if session.state == WELCOME:
            return self.start(session)
        question = self.current_question(session)
        understood = self.interpreter.understand(text, question)
        if understood.command is not None:
            return self.command(session, understood.command)
        if understood.option is not None and question is not None:
            return self._confirmed(self.answer(session, understood.option.id), understood.option)
        if question is None:
            return self.view(session, notice=Notice("dialog.notice.at_result"))
        if len(understood.candidates) >= 2:
            first, second = understood.candidates[:2]
            values = {"first": first.label, "second": second.label}
            asking = self.view(session, notice=Notice("dialog.notice.did_you_mean", values))
            assert isinstance(asking, Asking)
            return replace(asking, choices=(first, second))
        return self.view(
            session, notice=Notice("dialog.notice.nothing_fits", {"hint": question.hint})
        )

    @staticmethod
    def _confirmed(view: View, option: Option) -> View:
        """Say in one line what a typed answer was taken as (``back`` undoes it)."""
        got_it = Notice("dialog.notice.got_it", {"answer": option.label})
        if isinstance(view, Asking) and view.notice is None:
            return replace(view, notice=got_it)
        if isinstance(view, Finished) and view.notice is None:
            return replace(view, intro=got_it)
        return view

    def skip(self, session: Session) -> View:
        """The result now, from what is known (unanswered questions count as "not sure")."""
        if not self.may(session, "skip"):
            return self.view(session, notice=self._idle_notice(session))
        self._fire(session, "skip")
        view = self.view(session)
        assert isinstance(view, Finished)
        return replace(view, intro=Notice("dialog.notice.skipped"))

    def hand_off(self, session: Session, step: HandOffStep) -> View:
        """Move through the hand-off to an expert; ignored where that step does not apply."""
        if self.may(session, step):
            self._fire(session, step)
        return self.view(session)

    def command(self, session: Session, command: Command) -> View:
        """Carry out a command: back, restart, why, help or quit."""
        if command == "back":
            return self.back(session)
        if command == "restart":
            return self.restart(session)
        if command == "why":
            return self.why(session)
        if command == "skip":
            return self.skip(session)
        if command in ("bye", "quit"):
            return Goodbye()
        return Help(self.view(session))

    def current_question(self, session: Session) -> Question | None:
        """The question being asked, or None."""
        qid = session.question_id
        return self.knowledge.question(qid) if qid else None

    def view(
        self, session: Session, *, notice: Notice | None = None, show_why: bool = False
    ) -> View:
        """The screen for the session's current state."""
        if session.state == WELCOME:
            return Welcome(notice)
        if session.state == LEAD_CONSENT:
            return Consent(notice)
        if session.state == LEAD_CONTACT:
            return ContactRequest(notice)
        if session.state == RESULT:
            return Finished(recommend(self.knowledge, session.answers), notice)
        question = self.current_question(session)
        assert question is not None, session.state
        asked = self.knowledge.applicable(session.answers)
        index = asked.index(question)
        # Follow-up questions keep the number of the question before them, so the count
        # never jumps when one appears ("Question 5 of 9", not "6 of 10").
        numbered = [q for q in asked[: index + 1] if not q.ask_if]
        return Asking(
            question,
            step=max(1, len(numbered)),
            steps=self._main_questions,
            can_go_back=index > 0,
            selected=session.answers.get(question.id),
            show_why=show_why,
            notice=notice,
            followup=bool(question.ask_if),
        )

    def _idle_notice(self, session: Session) -> Notice:
        return Notice("dialog.notice.done" if session.state == RESULT else "dialog.notice.reask")

    @property
    def _main_questions(self) -> int:
        """How many questions everyone is asked (follow-ups are not counted)."""
        return len([q for q in self.knowledge.questions if not q.ask_if])

    def welcome_values(self) -> dict[str, object]:
        """Values for the welcome text: how many questions and about how long."""
        count = self._main_questions
        return {
            "count": count,
            "minutes": max(1, math.ceil(count * SECONDS_PER_QUESTION / 60)),
            "title": self.knowledge.source.title,
            "publisher": self.knowledge.source.publisher,
        }
