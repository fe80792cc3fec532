"""Two commits of ours in one run, alternating: the closed or the open loop of each, one after
the other, so both see the same machine (a shared host's speed drifts within minutes).

    git worktree add /tmp/ab/before <commit>; ln -s $PWD/.venv /tmp/ab/before/.venv
    git worktree add /tmp/ab/after HEAD;      ln -s $PWD/.venv /tmp/ab/after/.venv
    python -m bench.ab /tmp/ab/before /tmp/ab/after --loop open --rate 100 --tries 5

Each try runs ``bench.e2e.closed_loop`` or ``open_loop`` for ``ours`` inside that tree (in a
child process, so each commit's own code is imported) and prints one JSON line: throughput,
latency, CPU per update of the bot and of the fake Bot API, errors, lost and misordered answers.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

#: Run inside a tree: one loop of ours, its figures as one JSON line.
CHILD = """
import asyncio, json, sys
from pathlib import Path
from bot import load
from bench import e2e
from bench.load import OpenLoopPlan
loop, work, users, rate, duration = sys.argv[1], Path(sys.argv[2]), *map(float, sys.argv[3:6])
knowledge = load(None)
async def main():
    if loop == "closed":
        fig = await e2e.closed_loop("ours", knowledge, work, int(users), 1, 600.0)
    else:
        plan = OpenLoopPlan(rate=rate, duration=duration, active_users=50)
        fig = await e2e.open_loop("ours", knowledge, work, plan, 1)
    keys = ("updates_per_second", "updates", "errors", "lost", "misordered", "latency_done_ms")
    found = {key: fig.get(key) for key in keys}
    found["cpu_ms_per_update"] = fig["resources"]["cpu_ms_per_update"]
    print(json.dumps(found))
asyncio.run(main())
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ab", description=__doc__.split("\n")[0])
    parser.add_argument("before", type=Path, help="a worktree of the earlier commit")
    parser.add_argument("after", type=Path, help="a worktree of the later commit")
    parser.add_argument("--loop", choices=("closed", "open"), default="closed")
    parser.add_argument("--tries", type=int, default=3, help="tries of each, alternating")
    parser.add_argument("--users", type=int, default=1000, help="closed-loop users")
    parser.add_argument("--rate", type=float, default=100.0, help="open-loop updates/s")
    parser.add_argument("--duration", type=float, default=30.0, help="open-loop seconds")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-ab-") as work:
        for attempt in range(args.tries):
            for name, tree in (("before", args.before), ("after", args.after)):
                figures = [str(args.users), str(args.rate), str(args.duration)]
                child = subprocess.run(
                    [
                        str(tree / ".venv" / "bin" / "python"),
                        "-c",
                        CHILD,
                        args.loop,
                        str(Path(work) / f"{name}-{attempt}"),
                        *figures,
                    ],
                    cwd=tree,
                    capture_output=True,
                    text=True,
                    check=False,
                )
                lines = child.stdout.strip().splitlines()
                found = lines[-1] if child.returncode == 0 and lines else child.stderr[-2000:]
                print(json.dumps({"commit": name, "try": attempt + 1}), found, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
