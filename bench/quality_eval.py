"""Quality canary: how many probes until the wrong endpoints are flagged, and false flags.

    python bench/quality_eval.py [--runs 1000] [--horizon 100] [--seed 1]
Simulated, no HTTP: 10 endpoints, 8 answer correctly 97% of the time and 2 at 60%. Each round
gives every endpoint one quality probe, then runs the ranking's test on the tallies so far
(monitor.quality_stats: the bar is the endpoint with the highest Wilson lower bound, a flag is
"significantly below it"). A run counts the first round at which both bad endpoints are
flagged, and whether any good endpoint was flagged at any round up to the horizon (the ranking
re-tests after every probe, so every round is a chance for a false flag).
Goal: both bad ones flagged within 30 probes each, false flags on the good ones under 1%.
"""

from __future__ import annotations

import argparse
import random
from typing import Any

from common import header, median

from monitor.quality_stats import reference, significantly_below

GOOD, BAD = 0.97, 0.60
GOAL_PROBES = 30


def one_run(rng: random.Random, rates: list[float], horizon: int) -> tuple[int | None, list[bool]]:
    """(first round with every bad endpoint flagged or None, per endpoint: ever flagged)."""
    passed = [0] * len(rates)
    flagged_ever = [False] * len(rates)
    bad = [i for i, rate in enumerate(rates) if rate == BAD]
    both_at = None
    for n in range(1, horizon + 1):
        passed = [p + (rng.random() < rate) for p, rate in zip(passed, rates, strict=True)]
        best = reference((p, n) for p in passed)
        if best is None:
            continue
        flags = [significantly_below(p, n, *best) for p in passed]
        flagged_ever = [was or now for was, now in zip(flagged_ever, flags, strict=True)]
        if both_at is None and all(flags[i] for i in bad):
            both_at = n
    return both_at, flagged_ever


def run(runs: int, horizon: int, seed: int, good: int = 8, bad: int = 2) -> dict[str, Any]:
    rng = random.Random(seed)
    rates = [GOOD] * good + [BAD] * bad
    found: list[int] = []
    false_flags = runs_with_false_flag = 0
    for _ in range(runs):
        both_at, flagged = one_run(rng, rates, horizon)
        if both_at is not None:
            found.append(both_at)
        wrongly = sum(flagged[:good])
        false_flags += wrongly
        runs_with_false_flag += wrongly > 0
    ordered = sorted(found)  # runs never flagged count as beyond the horizon: the tail
    at95 = round(0.95 * (runs - 1))
    return {
        "runs": runs,
        "horizon": horizon,
        "median": median(found) if found else None,
        "p95": ordered[at95] if at95 < len(ordered) else None,
        "max": ordered[-1] if found else None,
        "within_goal": sum(n <= GOAL_PROBES for n in found) / runs,
        "never": runs - len(found),
        "false_flag_rate": false_flags / (runs * good),
        "runs_with_false_flag": runs_with_false_flag / runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--horizon", type=int, default=100, help="probes per endpoint per run")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    header("quality canary: probes to flag 2 bad of 10, false flags on the 8 good")
    f = run(args.runs, args.horizon, args.seed)
    print(f"runs: {f['runs']}, probes per endpoint per run: {f['horizon']}")
    print(
        f"probes per endpoint until both bad ones are flagged: median {f['median']}, "
        f"p95 {f['p95']}, max {f['max']}, never within the horizon: {f['never']} runs"
    )
    print(f"runs with both flagged within {GOAL_PROBES} probes: {100 * f['within_goal']:.1f}%")
    print(
        f"false flags: {100 * f['false_flag_rate']:.2f}% of good endpoints "
        f"({100 * f['runs_with_false_flag']:.1f}% of runs flag at least one)"
    )
    met = f["p95"] is not None and f["p95"] <= GOAL_PROBES and f["false_flag_rate"] < 0.01
    print(f"goal (p95 <= {GOAL_PROBES} probes, false flags < 1%): {'met' if met else 'MISSED'}")


if __name__ == "__main__":
    main()
