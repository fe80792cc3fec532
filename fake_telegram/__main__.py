"""Run the fake Telegram server standalone: python -m fake_telegram --port 0."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

from .server import FakeTelegram


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m fake_telegram", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--token", default="123:ABC")
    parser.add_argument("--bot-username", default="stack_advisor_test_bot")
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=0.0,
        help="hold every Bot API answer back this long, like the round trip to Telegram (0)",
    )
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    """Serve until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    fake = FakeTelegram(
        args.token,
        host=args.host,
        port=args.port,
        bot_username=args.bot_username,
        latency=args.latency_ms / 1000,
    )
    async with fake:
        print(f"listening on {fake.root_url}", flush=True)
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    asyncio.run(serve(parse_args(argv)))


if __name__ == "__main__":
    main()
