"""Start-up: wall time of ``python bot.py --console`` from launch to the first question."""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from typing import Any

from .processes import ROOT, base_env

MARKER = b"Question 1 of"
TIME_LIMIT = 30.0


async def one_start() -> float:
    """Seconds from spawning the console chat until it prints the first question."""
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "bot.py",
        "--console",
        cwd=ROOT,
        env=base_env(),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert process.stdout is not None and process.stdin is not None
    try:
        async with asyncio.timeout(TIME_LIMIT):
            while True:
                line = await process.stdout.readline()
                if not line:
                    raise RuntimeError("bot.py --console ended before asking a question")
                if MARKER in line:
                    elapsed = time.perf_counter() - started
                    break
        process.stdin.close()
        await process.stdout.read()
        await asyncio.wait_for(process.wait(), 10)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return elapsed


async def run(runs: int) -> dict[str, Any]:
    """Start the console chat ``runs`` times, one after another; the median is the figure."""
    times = [await one_start() for _ in range(max(1, runs))]
    return {
        "runs": len(times),
        "seconds": [round(t, 3) for t in times],
        "median_seconds": round(statistics.median(times), 3),
        "first_seconds": round(times[0], 3),
        "max_seconds": round(max(times), 3),
    }
