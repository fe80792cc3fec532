"""Simulated Telegram users who talk to a bot through the fake Bot API server's control API.

Each user sends ``/start`` and then presses, for every question, an option chosen by a seeded
RNG from the inline keyboard of the bot's latest question message (the last row holds the
navigation buttons and is skipped, as is "See my result now"), until the result arrives.

How a reply is recognised (the same for our bot and the floor):

* the **first reply** to an update is the first Bot API call the bot makes for it: a
  ``sendMessage``/``editMessageText`` to the user's chat or, for a button press, the
  ``answerCallbackQuery`` of that press, whichever reaches the fake first;
* an update is **done** when everything the user waits for has arrived: for ``/start`` the
  question message; for a press the answer to the callback query and either the message edited
  into the next question, or the result (the last result message is the one with buttons).

**Latency** is measured on the fake's clock, from the moment the fake queued the update (ready
for ``getUpdates``) to the moment it received the reply call. A user acts again only when its
previous update is done, so each user's updates are strictly sequential.
"""

from __future__ import annotations

import asyncio
import collections
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from advisor import Knowledge, Question, recommend
from advisor.summary import render_summary_html
from fake_telegram import TgChat, TgUser, parse_html
from fake_telegram import updates as u

JSON = dict[str, Any]
REPLY_METHODS = frozenset({"sendMessage", "sendPhoto", "editMessageText", "answerCallbackQuery"})
IGNORED_METHODS = frozenset({"getUpdates", "getMe", "sendChatAction", "editMessageReplyMarkup"})
#: A reply later than this counts as lost (the runs' own time limit is the same).
STEP_TIMEOUT = 600.0
#: Replies later than this are counted apart (``late_replies``): slow, but not lost.
LATE_AFTER = 60.0
LOST = "no complete reply"
MISMATCH = "result differs from the advisor core's"
POST_CHUNK = 500


@dataclass
class Step:
    """One update a user sent, and what the bot did about it."""

    kind: str  # "start" or "press"
    query_id: str | None = None
    message_id: int | None = None
    update_id: int | None = None
    queued_at: float | None = None
    first_reply: float | None = None
    done_at: float | None = None
    answered: bool = False
    content: str | None = None  # "question" or "result" once it has arrived
    result_texts: list[str] = field(default_factory=list)
    posted_at: float = 0.0

    @property
    def complete(self) -> bool:
        if self.kind == "start":
            return self.content is not None
        return self.answered and self.content is not None


class SimUser:
    """One simulated user in a private chat with the bot."""

    def __init__(self, user_id: int, seed: int, max_presses: int | None = None) -> None:
        self.user = TgUser(user_id, f"User{user_id % 100_000}", username=f"bench_{user_id}")
        self.chat = TgChat.private(self.user)
        self.rng = random.Random(seed)
        self.max_presses = max_presses
        self.presses = 0
        self.message: JSON | None = None  # the live question message
        self.answers: dict[str, str] = {}
        self.step: Step | None = None
        self.steps: list[Step] = []
        self.result: list[str] | None = None
        self.problems: list[str] = []
        self.finished = False
        self.lost = False
        self._message_ids = 0
        self._queries = 0

    @property
    def id(self) -> int:
        return self.user.id

    def next_message_id(self) -> int:
        known = int(self.message["message_id"]) if self.message else 0
        self._message_ids = max(self._message_ids, known) + 1
        return self._message_ids

    def start_update(self) -> tuple[JSON, Step]:
        message = u.text_message(self.next_message_id(), self.user, self.chat, "/start")
        return u.message_update(message), Step("start")

    def press_update(self, questions: Questions) -> tuple[JSON, Step] | None:
        """Press a random option of the live question; None if there is none to press."""
        message = self.message
        rows = (message or {}).get("reply_markup", {}).get("inline_keyboard", [])
        options = [button for row in rows[:-1] for button in row if "callback_data" in button]
        if message is None or not options:
            self.problems.append("no question with option buttons to press")
            return None
        question = questions.identify(message.get("text", ""))
        if question is None:
            self.problems.append(f"unknown question: {message.get('text', '')[:80]!r}")
            return None
        if options[-1]["text"] == questions.see_now:  # "See my result now" is not an answer
            options.pop()
        button = self.rng.choice(options)
        option = questions.option_id(question, button["text"])
        if option is None:
            self.problems.append(f"unknown option {button['text']!r} of {question.id}")
            return None
        self.answers[question.id] = option
        self._queries += 1
        query_id = f"{self.id}-{self._queries}"
        update = u.callback_query_update(
            query_id, self.user, message, button["callback_data"], f"ci{self.chat.id}"
        )
        self.presses += 1
        return update, Step("press", query_id=query_id, message_id=int(message["message_id"]))

    def wants_more(self) -> bool:
        if self.finished or self.lost or self.problems:
            return False
        return self.max_presses is None or self.presses < self.max_presses


class Questions:
    """Recognises questions by their prompt and maps button labels back to option ids."""

    def __init__(self, knowledge: Knowledge) -> None:
        self.knowledge = knowledge
        self.questions = sorted(knowledge.questions, key=lambda q: -len(q.prompt))
        self.chosen_prefix = knowledge.text("telegram.button.chosen", label="")
        self.see_now = knowledge.text("telegram.button.see_now")

    def identify(self, text: str) -> Question | None:
        return next((q for q in self.questions if q.prompt in text), None)

    def option_id(self, question: Question, label: str) -> str | None:
        for candidate in (label, label.removeprefix(self.chosen_prefix)):
            found = next((o.id for o in question.options if o.label == candidate), None)
            if found is not None:
                return found
        return None

    def expected_result(self, answers: dict[str, str]) -> list[str]:
        """The summary's visible text, as the advisor core computes it (the same screen
        wherever it is shown)."""
        k = self.knowledge
        return [parse_html(render_summary_html(recommend(k, answers), k)).text]


def verdict(texts: Iterable[str]) -> str | None:
    """The 'Recommendation: …' line of a result."""
    for text in texts:
        for line in text.splitlines():
            if line.startswith("Recommendation:"):
                return line.strip()
    return None


class Driver:
    """Sends the users' updates and matches the bot's calls to them, via the control API."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        api_url: str,
        knowledge: Knowledge,
        *,
        since: int = 0,
        on_done: Callable[[SimUser], None] | None = None,
    ) -> None:
        self.http = http
        self.api_url = api_url
        self.questions = Questions(knowledge)
        self.since = since
        self.on_done = on_done or (lambda user: None)
        self.users: dict[int, SimUser] = {}
        self.by_query: dict[str, SimUser] = {}
        self.outbox: list[tuple[SimUser, JSON, Step]] = []
        self.stray: list[str] = []
        self.completed: list[Step] = []
        self.in_flight = 0
        self.late_calls = 0
        #: Failed calls that are expected in a run ("method status description" -> count).
        self.tolerated: dict[str, int] = {}
        self.calls_seen = 0
        #: Bot API calls the bot made apart from getUpdates and getMe.
        self.api_calls = 0
        self.posts = 0

    # -- sending -----------------------------------------------------------------------------

    def add(self, user: SimUser) -> None:
        self.users[user.chat.id] = user

    def enqueue_start(self, user: SimUser) -> None:
        self.add(user)
        update, step = user.start_update()
        self._enqueue(user, update, step)

    def enqueue_next(self, user: SimUser) -> bool:
        """Queue the user's next press; False when the user is finished (or stuck)."""
        if not user.wants_more():
            return False
        made = user.press_update(self.questions)
        if made is None:
            return False
        update, step = made
        self._enqueue(user, update, step)
        return True

    def _enqueue(self, user: SimUser, update: JSON, step: Step) -> None:
        user.step = step
        user.steps.append(step)
        if step.query_id is not None:
            self.by_query[step.query_id] = user
        step.posted_at = asyncio.get_running_loop().time()
        self.in_flight += 1
        self.outbox.append((user, update, step))

    async def flush(self) -> None:
        """Post every queued update (in batches) to the fake."""
        while self.outbox:
            batch, self.outbox = self.outbox[:POST_CHUNK], self.outbox[POST_CHUNK:]
            url = f"{self.api_url}/_fake/updates"
            async with self.http.post(url, json=[update for _, update, _ in batch]) as response:
                body = await response.json()
            self.posts += 1
            for (user, _, step), update_id, queued_at in zip(
                batch, body["result"], body["queued_at"], strict=True
            ):
                step.update_id, step.queued_at = int(update_id), float(queued_at)
                if step.complete and step.done_at is not None:
                    self._finish_step(user, step)

    # -- receiving ---------------------------------------------------------------------------

    async def pump(self, wait: float) -> int:
        """Read the calls made since the last pump (long-polling up to ``wait`` seconds)."""
        params = {"since": str(self.since), "wait": str(wait), "compact": "1"}
        async with self.http.get(f"{self.api_url}/_fake/calls", params=params) as response:
            body = await response.json()
        self.since = int(body["next"])
        for call in body["result"]:
            self.handle(call)
        self.calls_seen += len(body["result"])
        return len(body["result"])

    def handle(self, call: JSON) -> None:
        method = call["method"]
        if method not in ("getUpdates", "getMe"):
            self.api_calls += 1
        if method in IGNORED_METHODS and call["status"] == 200:
            return
        user = None
        if call.get("callback_query_id") is not None:
            user = self.by_query.get(call["callback_query_id"])
        if user is None and call.get("chat_id") is not None:
            user = self.users.get(call["chat_id"])
        if user is None:
            if call["status"] != 200 or method in REPLY_METHODS:
                self.stray.append(f"{method} {call['status']} for no simulated user")
            return
        failure = f"{method} {call['status']} {call.get('description')}"
        if call["status"] != 200 and failure in self.tolerated:
            self.tolerated[failure] += 1
            return
        step = user.step
        if user.lost:  # a late reply to a user already counted as lost
            self.late_calls += 1
            return
        if step is None or step.done_at is not None:
            self.stray.append(f"{method} {call['status']} to user {user.id} who waited for nothing")
            return
        if call["status"] != 200:
            self._abandon(user, step, f"{method} failed: {failure}")
            return
        problems = len(user.problems)
        if method in REPLY_METHODS and step.first_reply is None:
            step.first_reply = float(call["time"])
        if method == "answerCallbackQuery":
            self._answered(user, step, call)
        elif method == "sendMessage":
            self._sent(user, step, call["message"])
        elif method == "sendPhoto":  # the chart before the summary
            if step.kind != "press" or user.message is not None:
                user.problems.append("a photo where no result was due")
        elif method == "editMessageText":
            self._edited(user, step, call["message"])
        if len(user.problems) > problems and not step.complete:
            self._abandon(user, step, None)
        elif step.complete:
            step.done_at = float(call["time"])
            if step.queued_at is not None:
                self._finish_step(user, step)

    def _answered(self, user: SimUser, step: Step, call: JSON) -> None:
        if call.get("callback_query_id") != step.query_id:
            user.problems.append(f"answer to another query {call.get('callback_query_id')}")
        elif call.get("text"):
            user.problems.append(f"the press was answered with {call['text']!r}")
        step.answered = True

    def _sent(self, user: SimUser, step: Step, message: JSON) -> None:
        text = str(message.get("text", ""))
        keyboard = message.get("reply_markup", {}).get("inline_keyboard")
        if step.kind == "press" and (step.result_texts or verdict([text])):
            # A result can quote a question (in "what would change the answer").
            step.result_texts.append(text)
            if keyboard:
                step.content = "result"
        elif keyboard and self.questions.identify(text) is not None:
            user.message = message
            step.content = "question"
        else:
            user.problems.append(f"unexpected message: {text[:80]!r}")

    def _edited(self, user: SimUser, step: Step, message: JSON) -> None:
        if step.kind != "press" or message.get("message_id") != step.message_id:
            user.problems.append(f"edited message {message.get('message_id')} unexpectedly")
            return
        keyboard = message.get("reply_markup", {}).get("inline_keyboard")
        if keyboard:
            user.message = message
            step.content = "question"
        else:
            user.message = None  # "all answered": the result follows as new messages

    def _finish_step(self, user: SimUser, step: Step) -> None:
        self.in_flight -= 1
        self.completed.append(step)
        user.step = None
        if step.content == "result":
            user.result = step.result_texts
            user.finished = True
        self.on_done(user)

    def _abandon(self, user: SimUser, step: Step, problem: str | None) -> None:
        """The user cannot go on (a failed call or a reply it cannot use): it is lost."""
        if problem is not None:
            user.problems.append(problem)
        user.lost = True
        user.step = None
        self.in_flight -= 1
        self.on_done(user)

    def expire(self, now: float, timeout: float = STEP_TIMEOUT) -> None:
        """Give up on users whose update has waited too long: their answers are lost."""
        for user in list(self.users.values()):
            step = user.step
            if step is not None and now - step.posted_at > timeout:
                self._abandon(user, step, f"{LOST} to a {step.kind} within {timeout:g}s")

    async def summary(self) -> JSON:
        async with self.http.get(f"{self.api_url}/_fake/summary") as response:
            body = await response.json()
        return dict(body["result"])


# -- the two ways of offering load -------------------------------------------------------------


async def run_closed(
    driver: Driver, users: list[SimUser], concurrency: int, time_limit: float
) -> None:
    """Closed loop: ``concurrency`` users at a time, each acting as soon as its reply is done."""
    waiting = collections.deque(users)
    active = 0

    def on_done(user: SimUser) -> None:
        nonlocal active
        if driver.enqueue_next(user):
            return
        active -= 1
        if waiting:
            active += 1
            driver.enqueue_start(waiting.popleft())

    driver.on_done = on_done
    while waiting and active < concurrency:
        active += 1
        driver.enqueue_start(waiting.popleft())
    loop = asyncio.get_running_loop()
    deadline = loop.time() + time_limit
    await driver.flush()
    while (active or waiting) and loop.time() < deadline:
        await driver.pump(1.0)
        driver.expire(loop.time())
        await driver.flush()
    driver.on_done = lambda user: None
    driver.expire(loop.time(), timeout=0.0)
    for user in waiting:  # never started: the run timed out
        driver.add(user)
        user.lost = True


@dataclass
class OpenLoopPlan:
    rate: float
    duration: float
    active_users: int
    #: How long to wait, after the last offered update, for the replies still due.
    drain: float = 120.0
    #: The fake's simulated round trip to Telegram, in milliseconds.
    latency_ms: float = 0.0


async def run_open(
    driver: Driver, make_user: Callable[[], SimUser], plan: OpenLoopPlan
) -> dict[str, Any]:
    """Open loop: one update every 1/rate seconds, whatever the bot's latency.

    About ``active_users`` users are in a dialog at once; each offered update goes to the user
    who has been ready longest, or to a new user (who sends /start) when none is ready. The
    offered rate therefore does not depend on how fast the bot answers.
    """
    ready: collections.deque[SimUser] = collections.deque()
    active: set[int] = set()

    def on_done(user: SimUser) -> None:
        if user.wants_more():
            ready.append(user)
        else:
            active.discard(user.id)

    driver.on_done = on_done
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    async def receive() -> None:
        while not stop.is_set() or driver.in_flight:
            await driver.pump(0.2)
            if stop.is_set() and loop.time() > drain_deadline:
                break

    drain_deadline = float("inf")
    receiver = asyncio.create_task(receive())
    offered = 0
    late = 0.0
    started = last_post = loop.time()
    interval = 1.0 / plan.rate
    total = max(1, round(plan.rate * plan.duration))
    try:
        for index in range(total):
            due = started + index * interval
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                late = max(late, -delay)
            user = ready.popleft() if ready and len(active) >= plan.active_users else None
            if user is None or not driver.enqueue_next(user):
                if user is not None:
                    active.discard(user.id)
                _new(make_user, driver, active)
            offered += 1
            last_post = loop.time()
            await driver.flush()
        offered_for = last_post - started
    finally:
        drain_deadline = loop.time() + plan.drain
        stop.set()
        await receiver
    driver.on_done = lambda user: None
    driver.expire(loop.time(), timeout=0.0)
    return {
        "offered_updates": offered,
        "offered_seconds": round(offered_for, 2),
        "offered_rate": round((offered - 1) / offered_for, 1) if offered_for > 0 else None,
        "max_schedule_lag_ms": round(late * 1000, 1),
        "users": len(driver.users),
    }


def _new(make_user: Callable[[], SimUser], driver: Driver, active: set[int]) -> None:
    user = make_user()
    active.add(user.id)
    driver.enqueue_start(user)


# -- figures ---------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile of already sorted values."""
    if not values:
        return None
    rank = max(1, min(len(values), round(p / 100 * len(values) + 0.5)))
    return values[rank - 1]


def latency_ms(values: list[float]) -> dict[str, float | None]:
    ordered = sorted(values)

    def ms(p: float) -> float | None:
        found = percentile(ordered, p)
        return None if found is None else round(found * 1000, 1)

    return {
        "p50": ms(50),
        "p95": ms(95),
        "p99": ms(99),
        "max": None if not ordered else round(ordered[-1] * 1000, 1),
    }


def figures(driver: Driver, *, check_results: bool) -> dict[str, Any]:
    """Throughput, latencies and correctness of a finished run."""
    steps = [s for s in driver.completed if s.queued_at is not None and s.done_at is not None]
    first = [s.first_reply - s.queued_at for s in steps if s.first_reply and s.queued_at]
    done = [s.done_at - s.queued_at for s in steps if s.done_at and s.queued_at]
    began = min((s.queued_at for s in steps if s.queued_at is not None), default=0.0)
    ended = max((s.done_at for s in steps if s.done_at is not None), default=0.0)
    span = ended - began
    users = list(driver.users.values())
    finished = [user for user in users if user.finished]
    mismatched = verdict_mismatch = 0
    if check_results:
        for user in finished:
            expected = driver.questions.expected_result(user.answers)
            if user.result != expected:
                mismatched += 1
                user.problems.append(MISMATCH)
            if verdict(user.result or []) != verdict(expected):
                verdict_mismatch += 1
    problems = collections.Counter(
        p.split(":")[0]
        for user in users
        for p in user.problems
        if not p.startswith((LOST, MISMATCH))
    )
    return {
        "users": len(users),
        "finished_users": len(finished),
        "updates": len(steps),
        "seconds": round(span, 3),
        "updates_per_second": round(len(steps) / span, 1) if span > 0 else None,
        "latency_first_reply_ms": latency_ms(first),
        "latency_done_ms": latency_ms(done),
        "late_replies": sum(1 for seconds in done if seconds > LATE_AFTER),
        # Lost: the user waited in vain, or got something it could not go on from.
        "lost": sum(1 for user in users if user.lost or (user.problems and not user.finished)),
        "misordered": mismatched if check_results else None,
        "verdict_mismatch": verdict_mismatch if check_results else None,
        "user_problems": dict(problems),
        "protocol_errors": sum(problems.values()),
        "stray_calls": len(driver.stray),
        "late_calls_to_lost_users": driver.late_calls,
        "tolerated_failed_calls": dict(driver.tolerated),
        "stray_examples": driver.stray[:5],
        "calls_seen": driver.calls_seen,
        "reply_calls": driver.api_calls,
    }
