"""How long one full recommendation takes: score the answers and render the result.

Every result a user can reach answers each question that applies (the conditional one only
when it is asked): 576,000 answer sets with today's data. Timing all of them takes about ten
minutes, so by default a seeded, uniform random sample is measured; ``--all`` measures all.

    python -m bench.advisor_bench            # 20,000 answer sets, about 20 seconds
    python -m bench.advisor_bench --all      # every answer set, about ten minutes

Each answer set is timed on its own, recommend + render_html and recommend + render_text
taking turns, on one CPU core where the system lets us pin the process.

Reading one typed message (``Interpreter.understand``) is timed too, on every phrasing of the
typed-answer corpus (tests/data/typed_answers.yaml) with the question it answers, each message
read ``TYPED_ROUNDS`` times. The figures are printed and written to
``bench/results/advisor.json``; :func:`main` returns them.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from advisor import Knowledge, Question, load_knowledge, recommend
from advisor.chart import render_chart_png
from advisor.render import MAX_MESSAGES, TELEGRAM_LIMIT, render_html, render_text
from dialogs.interpreter import Interpreter

RESULTS = Path(__file__).resolve().parent / "results" / "advisor.json"
SAMPLE = 20_000
SEED = 2024
WARM_UP = 500
TARGET_MEDIAN_US = 200.0
#: Typed messages: the phrasings people write, and the target for reading one (issue 11).
TYPED_ANSWERS = Path(__file__).resolve().parent.parent / "tests" / "data" / "typed_answers.yaml"
TYPED_ROUNDS = 20
TYPED_TARGET_MEDIAN_US = 1000.0
#: The chart of the six criteria (advisor/chart.py, issue 12): charts drawn, and the target.
CHART_SAMPLE = 100
CHART_TARGET_MEDIAN_MS = 50.0

Answers = dict[str, str]
Run = Callable[[Answers], object]


def answer_sets(knowledge: Knowledge) -> Iterator[Answers]:
    """Every complete set of answers, in a fixed order."""
    questions = knowledge.questions

    def extend(index: int, answers: Answers) -> Iterator[Answers]:
        if index == len(questions):
            yield dict(answers)
            return
        question = questions[index]
        if not question.applies(answers):
            yield from extend(index + 1, answers)
            return
        for option in question.options:
            answers[question.id] = option.id
            yield from extend(index + 1, answers)
        del answers[question.id]

    return extend(0, {})


def choose_sets(knowledge: Knowledge, sample: int | None, seed: int) -> tuple[list[Answers], int]:
    """The answer sets to measure (all, or a uniform seeded sample) and how many exist."""
    total = sum(1 for _ in answer_sets(knowledge))
    if sample is None or sample >= total:
        return list(answer_sets(knowledge)), total
    wanted = set(random.Random(seed).sample(range(total), sample))
    chosen = [answers for i, answers in enumerate(answer_sets(knowledge)) if i in wanted]
    random.Random(seed).shuffle(chosen)  # no help from answers sharing a prefix in a row
    return chosen, total


@contextmanager
def one_core() -> Iterator[int | None]:
    """Pin this process to one CPU core while measuring (where the system supports it)."""
    if not hasattr(os, "sched_setaffinity"):
        yield None
        return
    before = os.sched_getaffinity(0)
    core = min(before)
    os.sched_setaffinity(0, {core})
    try:
        yield core
    finally:
        os.sched_setaffinity(0, before)


def measure(runs: dict[str, Run], sets: Sequence[Answers]) -> dict[str, list[float]]:
    """Microseconds for each run on each answer set, one call at a time.

    The runs take turns on every answer set, so noise on the machine hits them alike.
    """
    for answers in sets[:WARM_UP]:
        for run in runs.values():
            run(answers)
    clock = time.perf_counter_ns
    timings: dict[str, list[float]] = {name: [] for name in runs}
    gc.collect()
    for answers in sets:
        for name, run in runs.items():
            start = clock()
            run(answers)
            timings[name].append((clock() - start) / 1000)
    return timings


def typed_messages(knowledge: Knowledge) -> list[tuple[str, Question]]:
    """Every phrasing of the typed-answer corpus of the knowledge's language, with the question
    it answers."""
    path = TYPED_ANSWERS
    if knowledge.language != "en":
        path = TYPED_ANSWERS.with_name(f"typed_answers_{knowledge.language}.yaml")
    corpus = yaml.safe_load(path.read_text(encoding="utf-8"))["answers"]
    found = [(str(e["say"]), knowledge.question(e["q"])) for e in corpus]
    return [(text, question) for text, question in found if question is not None]


def measure_typed(knowledge: Knowledge, rounds: int = TYPED_ROUNDS) -> list[float]:
    """Microseconds to read one typed message, for each message of the corpus, ``rounds`` times."""
    interpreter = Interpreter(knowledge)
    messages = typed_messages(knowledge)
    for text, question in messages:  # warm up
        interpreter.understand(text, question)
    clock = time.perf_counter_ns
    timings: list[float] = []
    gc.collect()
    for _ in range(rounds):
        for text, question in messages:
            start = clock()
            interpreter.understand(text, question)
            timings.append((clock() - start) / 1000)
    return timings


def measure_chart(knowledge: Knowledge, sets: Sequence[Answers]) -> list[float]:
    """Milliseconds to draw one chart PNG, for the first ``CHART_SAMPLE`` answer sets."""
    chosen = sets[:CHART_SAMPLE]
    recs = [recommend(knowledge, answers) for answers in chosen]
    render_chart_png(recs[0], knowledge)  # the first imports matplotlib and draws the texts
    clock = time.perf_counter_ns
    timings: list[float] = []
    for rec in recs:
        start = clock()
        render_chart_png(rec, knowledge)
        timings.append((clock() - start) / 1e6)
    return timings


def measure_languages(
    knowledge: Knowledge, sets: Sequence[Answers], sample: int
) -> dict[str, dict[str, float]]:
    """Each translation's median for a result (recommend + render_html) and a typed message
    of its own corpus: a language must cost no more than English (issue 15: within 10 %)."""
    found = {}
    with one_core():
        for code in knowledge.languages[1:]:
            k = knowledge.speaking(code)

            def html(answers: Answers, k: Knowledge = k) -> list[str]:
                return render_html(recommend(k, answers), k)

            timings = measure({"html": html}, sets)["html"]
            typed = measure_typed(k, max(1, min(TYPED_ROUNDS, sample // 1000)))
            found[code] = {
                "recommend_render_html_median_us": round(statistics.median(timings), 1),
                "interpret_typed_median_us": round(statistics.median(typed), 1),
            }
    return found


def summary(timings: list[float]) -> dict[str, float]:
    return {
        "median_us": round(statistics.median(timings), 1),
        "p95_us": round(statistics.quantiles(timings, n=20)[-1], 1),
        "mean_us": round(statistics.fmean(timings), 1),
    }


def largest_html(knowledge: Knowledge, sets: Sequence[Answers]) -> dict[str, int]:
    """The longest Telegram result among the answer sets (outside the timed loop)."""
    chars = messages = longest_message = 0
    for answers in sets:
        rendered = render_html(recommend(knowledge, answers), knowledge)
        chars = max(chars, sum(map(len, rendered)))
        messages = max(messages, len(rendered))
        longest_message = max(longest_message, *map(len, rendered))
    return {"chars": chars, "messages": messages, "longest_message": longest_message}


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.advisor_bench", description=__doc__)
    parser.add_argument("--all", action="store_true", help="measure every answer set")
    parser.add_argument("--sample", type=int, default=SAMPLE, help="answer sets to sample")
    parser.add_argument("--seed", type=int, default=SEED, help="seed of the sample")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the JSON")
    args = parser.parse_args(argv)

    knowledge = load_knowledge()
    sets, total = choose_sets(knowledge, None if args.all else args.sample, args.seed)

    def html(answers: Answers) -> list[str]:
        return render_html(recommend(knowledge, answers), knowledge)

    def text(answers: Answers) -> str:
        return render_text(recommend(knowledge, answers), knowledge)

    runs: dict[str, Run] = {"recommend_render_html": html, "recommend_render_text": text}
    with one_core() as core:
        timings = measure(runs, sets)
        typed = measure_typed(knowledge, max(1, min(TYPED_ROUNDS, args.sample // 1000)))
        chart = measure_chart(knowledge, sets)
    figures: dict[str, Any] = {
        "answer_sets": total,
        "measured": len(sets),
        "sampled": len(sets) < total,
        "seed": args.seed if len(sets) < total else None,
        "cpu_core": core,
        "python": platform.python_version(),
        "machine": platform.machine(),
        **{name: summary(t) for name, t in timings.items()},
        "target_median_us": TARGET_MEDIAN_US,
        "largest_html": largest_html(knowledge, sets),
        "interpret_typed_message": {
            **summary(typed),
            "messages": len(typed),
            "target_median_us": TYPED_TARGET_MEDIAN_US,
        },
    }
    figures["languages"] = measure_languages(knowledge, sets, args.sample)
    chart_median = round(statistics.median(chart), 1)
    figures["chart"] = {
        "median_ms": chart_median,
        "max_ms": round(max(chart), 1),
        "charts": len(chart),
        "target_median_ms": CHART_TARGET_MEDIAN_MS,
        "meets_target": chart_median <= CHART_TARGET_MEDIAN_MS,
    }
    figures["meets_target"] = figures["recommend_render_html"]["median_us"] <= TARGET_MEDIAN_US
    figures["interpret_typed_message"]["meets_target"] = (
        figures["interpret_typed_message"]["median_us"] <= TYPED_TARGET_MEDIAN_US
    )
    report(figures)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return figures


def report(figures: dict[str, Any]) -> None:
    how = (
        f"a seeded random sample (seed {figures['seed']}) of {figures['measured']:,} of the"
        if figures["sampled"]
        else "all"
    )
    core = f"CPU core {figures['cpu_core']}" if figures["cpu_core"] is not None else "any core"
    print(f"Stack Advisor: {how} {figures['answer_sets']:,} complete answer sets, on {core}")
    for key, name in (("recommend_render_html", "html"), ("recommend_render_text", "text")):
        t = figures[key]
        print(
            f"  recommend + render_{name}: median {t['median_us']} µs, "
            f"p95 {t['p95_us']} µs, mean {t['mean_us']} µs"
        )
    verdict = "met" if figures["meets_target"] else "NOT met"
    print(f"  target: median ≤ {figures['target_median_us']:g} µs (html): {verdict}")
    typed = figures["interpret_typed_message"]
    verdict = "met" if typed["meets_target"] else "NOT met"
    print(
        f"  reading a typed message ({typed['messages']:,} readings): median "
        f"{typed['median_us']} µs, p95 {typed['p95_us']} µs; "
        f"target median ≤ {typed['target_median_us']:g} µs: {verdict}"
    )
    chart = figures["chart"]
    verdict = "met" if chart["meets_target"] else "NOT met"
    print(
        f"  chart PNG ({chart['charts']} charts): median {chart['median_ms']} ms, "
        f"max {chart['max_ms']} ms; target median ≤ {chart['target_median_ms']:g} ms: {verdict}"
    )
    for code, lang in figures.get("languages", {}).items():
        print(
            f"  {code}: recommend + render_html median {lang['recommend_render_html_median_us']} "
            f"µs; a typed message median {lang['interpret_typed_median_us']} µs"
        )
    big = figures["largest_html"]
    print(
        f"  longest Telegram result: {big['chars']:,} characters in {big['messages']} message(s), "
        f"longest message {big['longest_message']:,} (limit {MAX_MESSAGES} × {TELEGRAM_LIMIT:,})"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
