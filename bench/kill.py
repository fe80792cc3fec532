"""Kill one instance every few seconds: several `python bot.py` on one PostgreSQL, one result.

Three bots in webhook mode share one PostgreSQL schema behind the fake Bot API's balancer
(round-robin over the instances, up to ``max_connections`` updates in flight, anything not
acknowledged with a 2xx delivered again to the next instance). Simulated users press through
the dialog — each presses, waits for the reply, presses again — while one instance (in turn)
is killed with SIGKILL and started again: the next kill comes once the one killed last is
serving again (it answers ``/readyz``) and the users have sent ``kill_every`` updates since
the last kill.
The chaos is paced by progress, not by the clock: on a busy machine it slows down with the
bots instead of killing them faster than they can start, on a fast one it does not run out
of kills before the users are done, and some instance always serves. The kills stop after
``chaos_seconds`` at the latest.

What is checked, and reported by :func:`run_kill`:

- **lost**: users whose reply never came — while instances are being killed a user waits as
  long as it takes, and once the kills are over, ``STEP_TIMEOUT`` more for each reply — or
  whose answers the database does not hold as they gave them;
- **duplicated**: updates applied more than once: every user has exactly one "started" and one
  "finished" event, and as many applied update ids as updates sent;
- **misordered**: users whose result differs from the advisor core's for their answers (the
  summary text, as ``bench/load.py`` computes it) or whose stored answers differ from theirs;
- **resent**: messages a user saw twice because an instance died between sending one and
  marking it sent (allowed: at most once more per kill).

Used by ``tests/e2e/test_multi_instance.py`` (300 users, about a minute on two cores) and by
the ``kill`` phase of ``python -m bench``.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import json
import os
import random
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from advisor import Knowledge
from fake_telegram import FakeTelegram, TgChat, TgUser
from fake_telegram import updates as u
from fake_telegram.models import StoredMessage

from .load import Questions, verdict

ROOT = Path(__file__).resolve().parent.parent
SECRET = "balanced-secret"
#: Once the kills are over, a user waiting longer than this for one reply is lost.
STEP_TIMEOUT = 60.0
#: The kills stop after this long at the latest, in seconds (then the users finish in calm).
CHAOS_SECONDS = 180.0
POLL_SECONDS = 0.05
READY_SECONDS = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Instance:
    """One `python bot.py` in webhook mode on its own port; its stderr goes to a file."""

    name: str
    env: dict[str, str]
    port: int
    log: Path
    proc: asyncio.subprocess.Process | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def start(self) -> None:
        self.starts += 1
        with self.log.open("ab") as log:
            log.write(f"\n--- start {self.starts} ---\n".encode())
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "bot.py",
                "--env-file",
                os.devnull,
                cwd=ROOT,
                env={**self.env, "PORT": str(self.port)},
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=log,
            )

    async def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(sig)
            try:
                await asyncio.wait_for(self.proc.wait(), 15)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


async def serving(port: int, timeout: float = READY_SECONDS) -> None:  # noqa: ASYNC109
    """Wait until the instance on ``port`` answers ``GET /readyz`` with 200 (it is up and can
    reach its database): it takes updates again."""
    deadline = time.monotonic() + timeout
    url = f"http://127.0.0.1:{port}/readyz"
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(url, timeout=aiohttp.ClientTimeout(total=5)) as answer:
                    if answer.status == 200:
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"the instance on port {port} is not ready")
            await asyncio.sleep(0.1)


async def accepting(port: int, timeout: float = READY_SECONDS) -> None:  # noqa: ASYNC109
    """Wait until something listens on the port."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if time.monotonic() > deadline:
                raise AssertionError(f"nothing listens on port {port}") from None
            await asyncio.sleep(0.1)
            continue
        writer.close()
        await writer.wait_closed()
        return


@dataclass
class Walker:
    """A simulated user: /start, then a random option of each question until the result."""

    fake: FakeTelegram
    questions: Questions
    user: TgUser
    chat: TgChat
    rng: random.Random
    #: Set when the kills are over: from then on a reply has STEP_TIMEOUT to come.
    calm: asyncio.Event = field(default_factory=asyncio.Event)
    answers: dict[str, str] = field(default_factory=dict)
    updates: int = 0
    result: str | None = None
    problem: str | None = None

    async def walk(self) -> None:
        try:
            self._send("/start")
            message = await self._wait_for_question()
            while message is not None:
                message = await self._press(message)
        except AssertionError as exc:
            self.problem = str(exc)

    def _send(self, text: str) -> None:
        self.updates += 1
        message_id = self.fake.next_message_id(self.chat.id)
        message = u.text_message(message_id, self.user, self.chat, text)
        self.fake.add_update(u.message_update(message))

    async def _press(self, message: StoredMessage) -> StoredMessage | None:
        """Press an option of the question; the next question (None: the result came)."""
        question = self.questions.identify(message.visible_text)
        assert question is not None, f"not a question: {message.visible_text[:60]!r}"
        rows = (message.reply_markup or {}).get("inline_keyboard", [])
        options = [b for row in rows[:-1] for b in row if "callback_data" in b]
        options = [b for b in options if b["text"] != self.questions.see_now]
        button = self.rng.choice(options)
        option = self.questions.option_id(question, button["text"])
        assert option is not None, f"unknown option {button['text']!r}"
        self.answers[question.id] = option
        self.updates += 1
        obj = self.fake.message_object(self.chat, message.message_id)
        assert obj is not None
        self.fake.add_update(
            u.callback_query_update(
                self.fake.new_query_id(),
                self.user,
                obj,
                button["callback_data"],
                f"c{self.chat.id}",
            )
        )
        return await self._wait_for_question()

    async def _wait_for_question(self) -> StoredMessage | None:
        """The next unanswered question shown with its buttons, or None once the result is.

        While instances are being killed there is no deadline; once the kills are over, the
        reply has STEP_TIMEOUT to come."""
        deadline: float | None = None
        while deadline is None or time.monotonic() < deadline:
            if deadline is None and self.calm.is_set():
                deadline = time.monotonic() + STEP_TIMEOUT
            for message in reversed(self.fake.messages(self.chat)):
                text = message.visible_text
                keyboard = (message.reply_markup or {}).get("inline_keyboard")
                if not keyboard:
                    continue
                if verdict([text]) is not None:
                    self.result = text
                    return None
                question = self.questions.identify(text)
                if question is not None and question.id not in self.answers:
                    return message
                break  # the newest message with buttons is not the next step yet
            await asyncio.sleep(POLL_SECONDS)
        raise AssertionError(
            f"lost: no reply within {STEP_TIMEOUT:g}s after the kills, after {self.answers}"
        )

    def resent(self) -> int:
        """Messages shown twice in a row with the same text (sent again after a kill)."""
        texts = [m.visible_text for m in self.fake.messages(self.chat) if m.visible_text]
        return sum(1 for a, b in itertools.pairwise(texts) if a == b)


async def run_kill(
    fake: FakeTelegram,
    knowledge: Knowledge,
    *,
    database_url: str,
    schema: str,
    work: Path,
    users: int,
    instances: int = 3,
    kill_every: int = 300,
    token: str,
    seed: int = 13,
    chaos_seconds: float = CHAOS_SECONDS,
) -> dict[str, Any]:
    """Run the users against ``instances`` bots behind ``fake``'s balancer, killing one each
    time the users have sent ``kill_every`` updates since the last kill and the one killed
    serves again; return the figures (see the module's docstring)."""
    hook = f"http://127.0.0.1:{free_port()}/hook"  # the balancer's address: nothing listens
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "PTB_TIMEDELTA": "1",
        "PYTHONUNBUFFERED": "1",
        "BOT_TOKEN": token,
        "TELEGRAM_API_URL": fake.root_url,
        "DATABASE_URL": database_url,
        "DATABASE_SCHEMA": schema,
        "MODE": "webhook",
        "WEBHOOK_URL": hook,
        "WEBHOOK_SECRET": SECRET,
        "LISTEN": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        "RATE_LIMIT": "0",
    }
    bots = [Instance(f"bot{n}", env, free_port(), work / f"bot{n}.log") for n in range(instances)]
    fake.balance_webhook([bot.url for bot in bots])
    questions = Questions(knowledge)
    rng = random.Random(seed)
    calm = asyncio.Event()
    walkers = []
    for n in range(users):
        someone = fake.user(f"U{n}")
        walkers.append(
            Walker(fake, questions, someone.user, someone.chat, random.Random(rng.random()), calm)
        )
    kills = 0
    began = time.monotonic()
    try:
        for bot in bots:  # one at a time: the first applies the schema, the others find it
            await bot.start()
            await accepting(bot.port)
        await fake.wait_for(lambda: fake.webhook is not None, timeout=READY_SECONDS)
        walking = asyncio.gather(*(walker.walk() for walker in walkers))
        chaos_ends = time.monotonic() + chaos_seconds

        def sent() -> int:
            return sum(walker.updates for walker in walkers)

        due = sent() + kill_every
        while not walking.done() and time.monotonic() < chaos_ends:
            if sent() < due:  # the users have not got far enough since the last kill
                await asyncio.wait({walking}, timeout=POLL_SECONDS)
                continue
            victim = bots[kills % len(bots)]
            due = sent() + kill_every
            await victim.kill()
            kills += 1
            await victim.start()
            await serving(victim.port)  # the next kill only once this one serves again
        calm.set()
        await walking
        seconds = time.monotonic() - began
    finally:
        for bot in bots:
            await bot.kill(signal.SIGTERM)
        fake.balance_webhook([])
    stored = await _stored(database_url, schema)
    return _figures(walkers, questions, stored, kills=kills, seconds=seconds, instances=instances)


@dataclass
class _Stored:
    answers: dict[int, dict[str, str]]
    events: dict[int, collections.Counter[str]]
    applied: dict[int, int]


async def _stored(url: str, schema: str) -> _Stored:
    connection = await asyncpg.connect(url, server_settings={"search_path": schema})
    try:
        answers = {
            user: json.loads(data).get("a", {})
            for user, data in await connection.fetch("SELECT user_id, data FROM sessions")
        }
        events: dict[int, collections.Counter[str]] = collections.defaultdict(collections.Counter)
        for user, kind, n in await connection.fetch(
            "SELECT user_id, kind, count(*) FROM events GROUP BY user_id, kind"
        ):
            events[user][kind] = n
        applied = {
            user: n
            for user, n in await connection.fetch(
                "SELECT user_id, count(*) FROM applied_updates GROUP BY user_id"
            )
        }
    finally:
        await connection.close()
    return _Stored(answers, events, applied)


def _figures(
    walkers: list[Walker],
    questions: Questions,
    stored: _Stored,
    *,
    kills: int,
    seconds: float,
    instances: int,
) -> dict[str, Any]:
    lost = duplicated = misordered = 0
    examples: list[str] = []
    for walker in walkers:
        user = walker.user.id
        if walker.problem is not None or walker.result is None:
            lost += 1
            examples.append(f"user {user}: {walker.problem}")
            continue
        if stored.answers.get(user) != walker.answers:
            lost += 1
            examples.append(f"user {user}: stored {stored.answers.get(user)} != {walker.answers}")
        events = stored.events.get(user, collections.Counter())
        if events["started"] != 1 or events["finished"] != 1:
            duplicated += 1
            examples.append(f"user {user}: events {dict(events)}")
        if stored.applied.get(user) != walker.updates:
            duplicated += 1
            examples.append(f"user {user}: {stored.applied.get(user)} of {walker.updates} applied")
        if [walker.result] != questions.expected_result(walker.answers):
            misordered += 1
            examples.append(f"user {user}: result differs from the advisor core's")
    updates = sum(walker.updates for walker in walkers)
    return {
        "instances": instances,
        "users": len(walkers),
        "updates": updates,
        "kills": kills,
        "seconds": round(seconds, 1),
        "updates_per_second": round(updates / seconds, 1) if seconds else None,
        "lost": lost,
        "duplicated": duplicated,
        "misordered": misordered,
        "resent": sum(walker.resent() for walker in walkers),
        "examples": examples[:5],
    }
