"""An anchor: no framework at all, the same Bot API calls as the floor (bench/floor_bot.py).

A bare ``aiohttp.ClientSession`` long-polls ``getUpdates`` and, for each update, in a task of
its own (no limit, no per-user order): ``/start`` sends the first question with its inline
keyboard; a button press edits the message into the next question and answers the callback
query; the last press edits the message into "all answered", sends the chart PNG and the
summary with its buttons, then answers. Screens are the floor's (``floor_bot.build_screens``).
Requests are JSON bodies (the photo multipart); answers are parsed only to see ``ok``. This is
the least a Python bot can spend per update on these calls: the bottom line for CPU.

    BOT_TOKEN=... TELEGRAM_API_URL=http://127.0.0.1:PORT python -m bench.raw_floor
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
from typing import Any

import aiohttp

from bot import load

from .floor_bot import build_chart, build_screens

JSON = dict[str, Any]
#: Connections to the Bot API (aiogram's default, for a like-for-like anchor).
POOL = 100
POLL_TIMEOUT = 10
log = logging.getLogger("raw_floor")


class RawFloor:
    def __init__(self, http: aiohttp.ClientSession, api_url: str, token: str) -> None:
        knowledge = load(None)
        screens, done, result = build_screens(knowledge)
        self.screens = [(text, _markup(markup)) for text, markup in screens]
        self.result = [(text, _markup(markup)) for text, markup in result]
        self.done = done
        self.chart = build_chart(knowledge)
        self.http = http
        self.base = f"{api_url}/bot{token}/"
        self.tasks: set[asyncio.Task[None]] = set()

    async def call(self, method: str, params: JSON) -> Any:
        async with self.http.post(self.base + method, json=params) as response:
            body = await response.json()
        if not body.get("ok"):
            raise RuntimeError(f"{method}: {body.get('description')}")
        return body["result"]

    async def send_photo(self, chat_id: int) -> None:
        form = aiohttp.FormData()
        form.add_field("chat_id", str(chat_id))
        form.add_field("photo", self.chart, filename="chart.png", content_type="image/png")
        async with self.http.post(self.base + "sendPhoto", data=form) as response:
            body = await response.json()
        if not body.get("ok"):
            raise RuntimeError(f"sendPhoto: {body.get('description')}")

    async def handle(self, update: JSON) -> None:
        try:
            if "callback_query" in update:
                await self.press(update["callback_query"])
            elif (update.get("message") or {}).get("text", "").startswith("/start"):
                text, markup = self.screens[0]
                chat_id = update["message"]["chat"]["id"]
                await self.call("sendMessage", _message(chat_id, text, markup))
        except Exception:
            log.exception("update %s failed", update.get("update_id"))

    async def press(self, query: JSON) -> None:
        chat_id = query["message"]["chat"]["id"]
        target = {"chat_id": chat_id, "message_id": query["message"]["message_id"]}
        step = (query.get("data") or "").split("|")[1]
        following = int(step) + 1 if step.isdigit() else 0
        if following < len(self.screens):
            text, markup = self.screens[following]
            await self.call("editMessageText", {**target, **_message(None, text, markup)})
        else:
            await self.call("editMessageText", {**target, **_message(None, self.done, None)})
            await self.send_photo(chat_id)
            for text, markup in self.result:
                await self.call("sendMessage", _message(chat_id, text, markup))
        await self.call("answerCallbackQuery", {"callback_query_id": query["id"]})

    async def poll(self) -> None:
        await self.call("getMe", {})
        offset = 0
        while True:
            try:
                updates = await self.call("getUpdates", {"offset": offset, "timeout": POLL_TIMEOUT})
            except (aiohttp.ClientError, RuntimeError):
                log.warning("getUpdates failed; retrying", exc_info=True)
                await asyncio.sleep(0.5)
                continue
            for update in updates:
                offset = max(offset, int(update["update_id"]) + 1)
                task = asyncio.create_task(self.handle(update))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)


def _markup(markup: object) -> JSON | None:
    as_dict = getattr(markup, "to_dict", None)
    return as_dict() if as_dict else None


def _message(chat_id: int | None, text: str, markup: JSON | None) -> JSON:
    params: JSON = {"text": text, "parse_mode": "HTML"}
    if chat_id is not None:
        params["chat_id"] = chat_id
    if markup is not None:
        params["reply_markup"] = markup
    return params


async def run() -> None:
    api_url = os.environ.get("TELEGRAM_API_URL", "https://api.telegram.org").rstrip("/")
    timeout = aiohttp.ClientTimeout(total=POLL_TIMEOUT + 30)
    connector = aiohttp.TCPConnector(limit=POOL)
    async with aiohttp.ClientSession(
        timeout=timeout, connector=connector, json_serialize=json.dumps
    ) as http:
        floor = RawFloor(http, api_url, os.environ["BOT_TOKEN"])
        poller = asyncio.create_task(floor.poll())
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, poller.cancel)
        loop.add_signal_handler(signal.SIGINT, poller.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await poller
        if floor.tasks:
            await asyncio.wait(floor.tasks, timeout=10)


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(run())


if __name__ == "__main__":
    main()
