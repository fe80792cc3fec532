"""The conversation flow: one `transitions` state machine built from data/questions.yaml.

States: ``welcome``, one ``q_<id>`` per question, ``result``, "What if…" (``revise``: pick
another answer to one question; ``preview``: see the result it gives) and the two steps of the
hand-off to a human expert (``lead_consent``, ``lead_contact``). Triggers (declared only):
``start``, ``answer``, ``back``, ``restart``, ``why`` (an aside that stays on the question),
``skip`` (the result now), ``revise``, ``preview``, ``keep``, ``discard`` for "What if…", and
``lead``, ``consent``, ``decline``, ``contacted`` for the hand-off. Conditional questions are
skipped by guarded transitions, in both directions.

One machine serves every user: a session is loaded into the machine's single model, one
trigger fires, and the new state is copied back. Every call is synchronous, so in an asyncio
program no other session can interleave.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, Literal

from transitions import Machine

from advisor import Knowledge, Option, Question, recommend
from advisor.scoring import Choice, settled_choice
from advisor.session import (
    HAND_OFF,
    LEAD_CONSENT,
    LEAD_CONTACT,
    PREVIEW,
    RESULT,
    REVISE,
    WELCOME,
    WHAT_IF,
    Session,
    question_state,
)
from advisor.summary import find_criterion
from advisor.whatif import alternatives, effects, outcome

from .choices import ShortReplies
from .interpreter import Command, Interpreter, normalize
from .views import (
    Asking,
    AtResult,
    Consent,
    ContactRequest,
    Explained,
    Finished,
    FullReport,
    Goodbye,
    Help,
    Notice,
    Preview,
    Revising,
    Summary,
    View,
    Welcome,
    WhyResult,
    YourAnswers,
)

SECONDS_PER_QUESTION = 10
#: States after the questions: the result and the two steps of the hand-off to an expert.
HandOffStep = Literal["lead", "consent", "decline", "contacted"]
#: The pages of the result a front end can ask for.
Page = Literal["summary", "details", "report", "answers"]
#: Where the result's pages can be read: the result, and while the hand-off asks for consent.
PAGES_READABLE = (RESULT, *HAND_OFF)
#: How many changes the list of answers suggests first.
SUGGESTIONS = 3
#: The triggers whose effect is the engine's method of that name, given only the session.
_EFFECTS = frozenset({"back", "why", "restart", "skip", "summary", "keep", "undo"})


class _Cursor:
    """The machine's model: the state and answers of the session being handled; its methods
    are the transitions' callbacks (named in the table, as transitions takes them)."""

    state: str

    def __init__(self) -> None:
        self.answers: Mapping[str, str] = {}
        self.session: Session | None = None
        self.trigger: Callable[..., bool]
        self.may_trigger: Callable[..., bool]

    def end_what_if(self) -> None:
        """Leaving "What if…": nothing is being revised or tried any more."""
        assert self.session is not None
        self.session.revising = self.session.trial = None

    def drop_trial(self) -> None:
        """Back from the result an answer would give to the answers to pick from."""
        assert self.session is not None
        self.session.trial = None


class DialogEngine:
    """Runs the dialog for any number of sessions over one shared state machine."""

    def __init__(
        self, knowledge: Knowledge, *, _fixed: dict[tuple[str, str], bool] | None = None
    ) -> None:
        self.knowledge = knowledge
        self.interpreter = Interpreter(knowledge)
        #: Short replies read against what was just offered ("the first one", "yes").
        self.replies = ShortReplies(knowledge.vocabulary)
        #: The same dialog in each language (made when first needed), this one included.
        self._languages: dict[str, DialogEngine] = {knowledge.language: self}
        #: The words typed for the result's pages and for keep / undo, read once from data.
        self._vocab = {
            name: {normalize(w) for w in knowledge.text(f"whatif.words.{name}").split("|")}
            for name in ("details", "report", "answers", "change", "keep", "undo", "summary")
        }
        self._cursor = _Cursor()
        table = self._transitions()
        self._machine = Machine(
            model=self._cursor,
            states=[
                WELCOME,
                *(question_state(q.id) for q in knowledge.questions),
                RESULT,
                REVISE,
                PREVIEW,
                LEAD_CONSENT,
                LEAD_CONTACT,
            ],
            transitions=table,
            initial=WELCOME,
            auto_transitions=False,
            send_event=False,
        )
        #: Whether a trigger may fire from a state, where no condition decides it (most do).
        self._fixed = _fixed if _fixed is not None else _fixed_answers(table, self._machine.states)

    def speaking(self, language: str | None) -> DialogEngine:
        """This dialog in another language (English when that one is not loaded); every
        language's engine shares the others, so each is made once."""
        knowledge = self.knowledge.speaking(language)
        engine = self._languages.get(knowledge.language)
        if engine is None:
            engine = DialogEngine(knowledge, _fixed=self._fixed)  # the same flow in words
            engine._languages = self._languages
            self._languages[knowledge.language] = engine
        return engine

    # -- the flow, as data for transitions ---------------------------------------------------

    def _transitions(self) -> list[dict[str, Any]]:
        questions = self.knowledge.questions
        states = [question_state(q.id) for q in questions]
        first = states[0]
        table: list[dict[str, Any]] = [
            {"trigger": "start", "source": WELCOME, "dest": first},
            {"trigger": "restart", "source": "*", "dest": first, "after": "end_what_if"},
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
        what_if = [REVISE, PREVIEW]
        readable = list(PAGES_READABLE)
        end, drop = {"after": "end_what_if"}, {"after": "drop_trial"}
        table += [
            {"trigger": "why", "source": RESULT, "dest": None},
            {"trigger": "page", "source": readable, "dest": None},
            {"trigger": "summary", "source": readable, "dest": None},
            {"trigger": "summary", "source": what_if, "dest": RESULT, **end},
            {"trigger": "revise", "source": [RESULT, *what_if], "dest": REVISE},
            {"trigger": "preview", "source": REVISE, "dest": PREVIEW},
            {"trigger": "keep", "source": PREVIEW, "dest": RESULT, **end},
            {"trigger": "discard", "source": what_if, "dest": RESULT, **end},
            {"trigger": "back", "source": REVISE, "dest": RESULT, **end},
            {"trigger": "back", "source": PREVIEW, "dest": REVISE, **drop},
            {"trigger": "undo", "source": PREVIEW, "dest": REVISE, **drop},
            {"trigger": "quiz", "source": "*", "dest": None},
            {"trigger": "language", "source": "*", "dest": None},
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
        session.choices = ()  # a step: a "Did you mean…?" is no longer the last thing asked
        cursor = self._cursor
        self._machine.set_state(session.state, model=cursor)
        cursor.answers, cursor.session = session.answers, session
        try:
            cursor.trigger(trigger)
        finally:
            cursor.answers, cursor.session = {}, None
        session.state = cursor.state

    # -- which action is valid where: asked of the machine itself ---------------------------

    def may(self, session: Session, trigger: str) -> bool:
        """Whether ``trigger`` would move this session (its conditions included)."""
        fixed = self._fixed.get((session.state, trigger))
        if fixed is not None:  # the same answer as the machine's, without asking it again
            return fixed
        cursor = self._cursor
        self._machine.set_state(session.state, model=cursor)
        cursor.answers = session.answers
        try:
            return bool(cursor.may_trigger(trigger))
        finally:
            cursor.answers = {}

    # -- what front ends call ----------------------------------------------------------------

    def fire(self, session: Session, trigger: str) -> View:
        """The effect of a trigger that needs nothing but the session: the method of its name
        (``back``, ``why``, ``restart``, ``skip``, ``summary``, ``keep``, ``undo``)."""
        if trigger not in _EFFECTS:
            return self.view(session, notice=self._idle_notice(session))
        effect: Callable[[Session], View] = getattr(self, trigger)
        return effect(session)

    def start(self, session: Session) -> View:
        """Begin the questions (or, if already under way, show where the user is)."""
        if self.may(session, "start"):
            self._fire(session, "start")
        return self.view(session)

    def restart(self, session: Session) -> View:
        """Forget the answers and ask the first question again."""
        session.answers = {}
        session.round += 1
        self._fire(session, "restart")
        return self.view(session, notice=Notice("dialog.notice.restarted"))

    def back(self, session: Session) -> View:
        """Go to the previous question asked, keeping its answer; stay on the first one.

        In "What if…", back goes from the result it would give to the answers to pick from,
        and from there to the result as it is."""
        if self.may(session, "undo"):
            return self.undo(session)
        if self.may(session, "discard"):
            return self.discard(session)
        before = session.state
        self._fire(session, "back")
        if session.state == before:
            return self.view(session, notice=Notice("dialog.notice.back_on_first"))
        return self.view(session)

    def undo(self, session: Session) -> View:
        """ "What if…": from the result an answer would give back to the answers to pick from."""
        if not self.may(session, "undo"):
            return self.view(session, notice=self._idle_notice(session))
        self._fire(session, "undo")
        return self.view(session)

    def why(self, session: Session) -> View:
        """Explain why the current question is asked, and ask it again; on the result, explain
        the result (the biggest entries of its ledger)."""
        if not self.may(session, "why"):
            return self.view(session, notice=self._idle_notice(session))
        self._fire(session, "why")
        if session.question_id is None:
            return WhyResult(recommend(self.knowledge, session.answers))
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
        if session.state == PREVIEW:
            return self._preview_text(session, text)
        if session.state == RESULT and (page := self._result_command(session, text)) is not None:
            return page
        question = self.current_question(session)
        if session.state == REVISE:
            question = self.knowledge.question(session.revising or "")
        offered, session.choices = self.offered(session), ()
        if offered and question is not None and self.interpreter.command(text) is None:
            picked = self.replies.pick(text, question, offered)
            if picked.option is not None:
                return self._confirmed(self.answer(session, picked.option.id), picked.option)
            if picked.out_of_range:
                return self._did_you_mean(session, offered)
        understood = self.interpreter.understand(text, question)
        if understood.command is not None:
            return self.command(session, understood.command)
        if understood.option is not None and session.state == REVISE:
            return self.try_answer(session, understood.option.id)
        if understood.option is not None and question is not None:
            return self._confirmed(self.answer(session, understood.option.id), understood.option)
        if question is None:
            return self.view(session, notice=Notice("dialog.notice.at_result"))
        if len(understood.candidates) >= 2:
            return self._did_you_mean(session, understood.candidates[:2])
        return self.view(
            session, notice=Notice("dialog.notice.nothing_fits", {"hint": question.hint})
        )

    def _did_you_mean(self, session: Session, choices: tuple[Option, ...]) -> View:
        """Ask which of two options was meant, offering just those; the session remembers
        them, so the reply is read against them ("the second one", "2", "medium")."""
        first, second = choices[:2]
        if session.question_id is not None:  # not "What if…", which shows every option
            session.choices = (first.id, second.id)
        values = {"first": first.label, "second": second.label}
        return self.view(session, notice=Notice("dialog.notice.did_you_mean", values))

    def offered(self, session: Session) -> tuple[Option, ...]:
        """The two options the last "Did you mean A or B?" at this question offered (none
        when something else was asked since)."""
        question = self.current_question(session)
        if question is None or not session.choices:
            return ()
        options = tuple(question.option(choice) for choice in session.choices)
        return tuple(o for o in options if o is not None)

    @staticmethod
    def _confirmed(view: View, option: Option) -> View:
        """Say in one line what a typed answer was taken as (``back`` undoes it)."""
        got_it = Notice("dialog.notice.got_it", {"answer": option.label})
        if isinstance(view, Asking) and view.notice is None:
            return replace(view, notice=got_it)
        if isinstance(view, Finished):
            return replace(view, intro=got_it)
        return view

    def skip(self, session: Session) -> View:
        """The result now, from what is known (unanswered questions count as "not sure").

        When the rest could not change the recommendation, says so instead of "skipped"."""
        if not self.may(session, "skip"):
            return self.view(session, notice=self._idle_notice(session))
        settled = self.settled(session)
        self._fire(session, "skip")
        view = self.view(session)
        assert isinstance(view, Finished)
        intro = "dialog.notice.settled_result" if settled else "dialog.notice.skipped"
        return replace(view, intro=Notice(intro))

    def settled(self, session: Session) -> Choice | None:
        """The recommendation when no way of answering the current and later questions could
        change it (and seeing the result now gives it), else None."""
        question = self.current_question(session)
        if question is None:
            return None
        return _settled(self.knowledge, question.id, frozenset(session.answers.items()))

    # -- the result's pages and "What if…" -----------------------------------------------------

    def page(self, session: Session, page: Page, number: int | None = None) -> View:
        """A page of the result: the summary, a criterion's details (all: None), the full
        report, or the list of answers."""
        if page == "summary":
            return self.summary(session)
        if not self.may(session, "page"):
            return self.view(session, notice=self._idle_notice(session))
        rec = recommend(self.knowledge, session.answers)
        if page == "details":
            explained = Explained(rec, number)
            if number is not None and not 1 <= number <= explained.pages:
                explained = Explained(rec, None)
            return explained
        if page == "report":
            return FullReport(rec)
        return self.your_answers(session)

    def summary(self, session: Session) -> View:
        """The result's summary again (from "What if…": the result as it was)."""
        if not self.may(session, "summary"):
            return self.view(session, notice=self._idle_notice(session))
        self._fire(session, "summary")
        return Summary(recommend(self.knowledge, session.answers))

    def your_answers(self, session: Session, notice: Notice | None = None) -> View:
        """What the user answered, with the changes that matter most first."""
        rec = recommend(self.knowledge, session.answers)
        asked = self.knowledge.applicable(session.answers)
        answered = tuple((q, q.option(session.answers.get(q.id))) for q in asked)
        suggestions = tuple(
            a for a in alternatives(self.knowledge, session.answers) if a.flips or a.shifts
        )[:SUGGESTIONS]
        return YourAnswers(rec, answered, suggestions, notice)

    def revise(self, session: Session, question_id: str) -> View:
        """ "What if…": offer the other answers to one question, each with its result."""
        question = self.knowledge.question(question_id)
        if not self.may(session, "revise"):
            return self.view(session, notice=self._idle_notice(session))
        if question is None or not question.applies(session.answers):
            return self.your_answers(session, Notice("whatif.no_such_question"))
        session.revising, session.trial = question.id, None
        self._fire(session, "revise")
        return self.view(session)

    def try_answer(self, session: Session, option_id: str) -> View:
        """ "What if…": the result with this answer to the question being revised."""
        question = self.knowledge.question(session.revising or "")
        if not self.may(session, "preview") or question is None:
            return self.view(session, notice=self._idle_notice(session))
        option = question.option(option_id)
        if option is None:
            return self.view(session, notice=Notice("dialog.notice.reask"))
        if option.id == session.answers.get(question.id):
            return self.view(session, notice=Notice("whatif.same", {"answer": option.label}))
        session.trial = option.id
        self._fire(session, "preview")
        return self.view(session)

    def keep(self, session: Session) -> View:
        """ "What if…": make the tried answer the real one and show the new result."""
        question = self.knowledge.question(session.revising or "")
        option = question.option(session.trial) if question else None
        if not self.may(session, "keep") or question is None or option is None:
            return self.view(session, notice=self._idle_notice(session))
        session.answers = self.knowledge.prune({**session.answers, question.id: option.id})
        self._fire(session, "keep")
        view = self.view(session)
        assert isinstance(view, Finished)
        values = {"question": question.short, "answer": option.label}
        return replace(view, intro=Notice("whatif.kept", values))

    def discard(self, session: Session) -> View:
        """ "What if…": back to the result as it was."""
        if not self.may(session, "discard"):
            return self.view(session, notice=self._idle_notice(session))
        self._fire(session, "discard")
        return Summary(recommend(self.knowledge, session.answers))

    def _result_command(self, session: Session, text: str) -> View | None:
        """Typed words for the result's pages: "details 4", "report", "answers", "change 2"."""
        said = normalize(text)
        for page, _word, rest in self._page_words(said):
            if page == "details":
                found = find_criterion(self.knowledge, rest) if rest else None
                rec = recommend(self.knowledge, session.answers)
                if rest.isdigit() and found is None and 0 < int(rest) <= Explained(rec).pages:
                    return self.page(session, "details", int(rest))  # the own rules' page
                if rest and found is None:
                    return Explained(rec, notice=Notice("whatif.no_such_point"))
                number = self.knowledge.criteria.index(found) + 1 if found else None
                return self.page(session, "details", number)
            if page == "change" and rest:
                question = self._typed_question(session, rest)
                if question is None:
                    return self.your_answers(session, Notice("whatif.no_such_question"))
                return self.revise(session, question.id)
            if page in ("change", "answers"):
                return self.page(session, "answers")
            if page == "report" and not rest:
                return self.page(session, "report")
            if page == "summary" and not rest:
                return self.page(session, "summary")
        return None

    def _page_words(self, said: str) -> list[tuple[str, str, str]]:
        """(page, the word, what follows it) for each page word ``said`` begins with."""
        found = []
        for page in ("details", "report", "answers", "change", "summary"):
            for word in self._vocab[page]:
                if said == word or said.startswith(word + " "):
                    found.append((page, word, said[len(word) :].strip()))
        return sorted(found, key=lambda f: -len(f[1]))

    def _typed_question(self, session: Session, said: str) -> Question | None:
        """A question named by its number in the list of answers, its id or its short name."""
        asked = self.knowledge.applicable(session.answers)
        if said.isdigit():
            index = int(said) - 1
            return asked[index] if 0 <= index < len(asked) else None
        for question in asked:
            if said in (question.id, normalize(question.short)):
                return question
        return None

    def _preview_text(self, session: Session, text: str) -> View:
        """While a changed answer's result is shown: keep it, or go back."""
        said = normalize(text)
        command = self.interpreter.command(text)
        if command == "restart":
            return self.restart(session)
        if command == "help":
            return Help(self.view(session))
        if said in self._vocab["keep"]:
            return self.keep(session)
        if command == "back" or said in self._vocab["undo"]:
            return self.back(session)
        return self.view(session, notice=Notice("whatif.keep_or_back"))

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
            if notice is not None:
                return AtResult(notice)
            return Finished(recommend(self.knowledge, session.answers))
        if session.state in WHAT_IF:
            return self._what_if_view(session, notice)
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
            choices=self.offered(session),
            settled=self.settled(session),
        )

    def _what_if_view(self, session: Session, notice: Notice | None) -> View:
        k = self.knowledge
        question = k.question(session.revising or "")
        assert question is not None, session.revising
        current = question.option(session.answers.get(question.id))
        trial = question.option(session.trial)
        if session.state == PREVIEW and trial is not None:
            before = recommend(k, session.answers)
            after = recommend(k, k.prune({**session.answers, question.id: trial.id}))
            return Preview(question, current, trial, before, after, notice)
        number = k.applicable(session.answers).index(question) + 1
        now = outcome(k, session.answers)
        return Revising(
            question, number, current, effects(k, session.answers, question), now, notice
        )

    def _idle_notice(self, session: Session) -> Notice:
        if session.state == RESULT:
            return Notice("dialog.notice.done")
        if session.state == REVISE:
            return Notice("whatif.pick")
        if session.state == PREVIEW:
            return Notice("whatif.keep_or_back")
        return Notice("dialog.notice.reask")

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


@functools.lru_cache(maxsize=8192)
def _settled(
    knowledge: Knowledge, question_id: str, answers: frozenset[tuple[str, str]]
) -> Choice | None:
    """:meth:`DialogEngine.settled`, cached: many users share the same early answers."""
    ids = [q.id for q in knowledge.questions]
    remaining = ids[ids.index(question_id) :]
    given = dict(answers)
    choice = settled_choice(knowledge, given, remaining)
    if choice is None or recommend(knowledge, given).choice != choice:
        return None
    return choice


def _fixed_answers(
    table: list[dict[str, Any]], states: Mapping[str, object]
) -> dict[tuple[str, str], bool]:
    """``may`` for each (state, trigger) whose answer no condition changes: False where the
    trigger has no transition from the state, True where one has no condition. The others
    (a guarded ``answer`` or ``back``, with no plain way out) are asked of the machine."""
    triggers = {row["trigger"] for row in table}
    fixed: dict[tuple[str, str], bool] = {}
    for state in states:
        for trigger in triggers:
            rows = [
                row
                for row in table
                if row["trigger"] == trigger
                and (row["source"] == "*" or state in _as_list(row["source"]))
            ]
            if not rows:
                fixed[state, trigger] = False
            elif any(not row.get("conditions") for row in rows):
                fixed[state, trigger] = True
    return fixed


def _as_list(source: str | list[str]) -> list[str]:
    return [source] if isinstance(source, str) else source
