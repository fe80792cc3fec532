"""Smoke run of the whole benchmark harness with tiny numbers, so that it does not rot."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_quick_benchmark_runs_every_phase_and_loses_nothing(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    env["PTB_TIMEDELTA"] = "1"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Throughput ratio" in done.stdout
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["correct"] is True
    assert summary["crashed"] == []
    for name in (
        "advisor",
        "startup",
        "load_closed",
        "bound",
        "load_open",
        "memory",
        "reports",
        "web",
    ):
        assert (tmp_path / f"{name}.json").is_file(), name
    closed = json.loads((tmp_path / "load_closed.json").read_text())
    ours, floor = closed["ours"], closed["floor"]
    assert ours["finished_users"] == ours["users"] == 5
    assert ours["lost"] == ours["misordered"] == ours["errors"] == 0
    assert floor["finished_users"] == 5 and floor["errors"] == 0
    assert closed["ratio"] is not None and closed["ratio"] > 0
    baseline = closed["baseline"]
    assert baseline["finished_users"] == 5
    assert baseline["lost"] == baseline["misordered"] == baseline["errors"] == 0
    assert closed["ratio_to_baseline"] is not None and closed["ratio_to_baseline"] > 0
    assert sorted(closed["floors"], key=int) == ["4", "16", "64", "4096"]
    assert all(f["finished_users"] == 5 and f["errors"] == 0 for f in closed["floors"].values())
    bound = json.loads((tmp_path / "bound.json").read_text())["runs"]
    assert [(r["latency_ms_simulated"], r["max_concurrent_updates"]) for r in bound] == [
        (0, 4),
        (0, 64),
        (50, 4),
        (50, 64),
    ]
    assert all(r["lost"] == r["misordered"] == r["errors"] == 0 for r in bound)
    assert ours["latency_first_reply_ms"]["p99"] is not None
    opened = json.loads((tmp_path / "load_open.json").read_text())
    assert opened["ours"]["lost"] == opened["ours"]["errors"] == 0
    assert opened["ours"]["offered"]["offered_updates"] == 20
    memory = json.loads((tmp_path / "memory.json").read_text())
    assert memory["storage"]["sessions"] == 50
    assert memory["peak_rss_mb"] > 0
    assert memory["updates"] == 50 and memory["lost"] == 0
    reports = json.loads((tmp_path / "reports.json").read_text())
    assert reports["storage_prefilled"]["sessions"] == 2_000
    assert reports["storage_prefilled"]["events"] == 10_000
    assert reports["lost"] == reports["errors"] == reports["misordered"] == 0
    assert [r["command"] for r in reports["reports"]] == ["stats"] * 2 + ["export"] * 2
    assert all(r["ms"] is not None for r in reports["reports"])
    assert reports["report_checks"]["export_rows"]["session"] >= 2_000
    for command in ("stats", "export"):
        assert reports[command]["users_during"]["updates"] > 0
    assert reports["baseline"]["p99"] is not None
    assert "Web pages, 20 requests/s" in done.stdout
    web = json.loads((tmp_path / "web.json").read_text())
    for storage in ("sqlite", "postgresql"):
        fig = web[storage]
        if fig is None:  # no PostgreSQL server
            assert storage == "postgresql"
            continue
        assert fig["storage"] == storage
        assert fig["prepared"]["finished"] == fig["prepared"]["mid_dialog"] == 5
        assert fig["prepared"]["wrong_results"] == 0
        assert fig["share_codes"] == 5
        assert fig["requests"] == 20 and fig["http_requests"] >= 20
        assert fig["errors"] == 0, fig["error_parts"]
        assert fig["web"]["exit_code"] == 0
        assert fig["latency_ms"]["p99"] is not None
        assert sum(found["requests"] for found in fig["by_kind"].values()) == 20
        assert fig["resources"]["cpu_ms_per_request"] > 0
    if web["postgresql"] is not None:
        assert web["postgresql"]["database"]["statements_per_update"] > 0
    if (tmp_path / "postgres.json").is_file():  # a PostgreSQL server answered
        postgres = json.loads((tmp_path / "postgres.json").read_text())
        assert sorted(postgres["webhook"], key=int) == ["1", "2"]
        for fig in postgres["webhook"].values():
            assert fig["finished_users"] == 5
            assert fig["lost"] == fig["misordered"] == fig["errors"] == 0
            assert fig["database"]["statements_per_update"] > 0
        assert postgres["webhook_scaling_to_one"]["2"] is not None
    if (tmp_path / "kill.json").is_file():
        killed = json.loads((tmp_path / "kill.json").read_text())
        assert (killed["users"], killed["instances"]) == (20, 3)
        assert killed["lost"] == killed["duplicated"] == killed["misordered"] == 0
