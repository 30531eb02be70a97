"""Accuracy statistics for the quality canary: intervals, their text, and when to demote.

An endpoint is demoted only when it is *significantly* below the best one: the lower bound of
the difference (best - it) must clear a practical margin, and both must have enough samples.
So a few unlucky answers never punish anybody, and a real 97% vs 99% gap is not worth a flag.
Thresholds are tuned by `bench/quality_eval.py` (8 endpoints at 97%, 2 at 60%).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from functools import lru_cache

Z95 = 1.959963984540054  # two-sided 95%
MIN_SAMPLES = 10  # below this, on either side, nobody is flagged
MARGIN = 0.05  # gaps smaller than 5 points do not matter to a user
Z_FLAG = 1.959963984540054  # checked every time the ranking runs, so not looser than this


@lru_cache(maxsize=65536)  # rankings recompute the same tallies over and over
def wilson(passed: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion; (0, 1) with no samples."""
    if n <= 0:
        return 0.0, 1.0
    p = passed / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def accuracy_text(passed: int, n: int) -> str:
    """E.g. "97% of 64, 95% CI 89-99"."""
    if n <= 0:
        return "no samples"
    low, high = wilson(passed, n)
    return f"{100 * passed / n:.0f}% of {n}, 95% CI {100 * low:.0f}-{100 * high:.0f}"


def difference_low(pass_a: int, n_a: int, pass_b: int, n_b: int, z: float = Z95) -> float:
    """Lower bound of p_a - p_b (Newcombe's hybrid score method, from the two Wilson intervals).

    Unlike the normal approximation it behaves at 0% and 100% and with small counts.
    """
    p_a, p_b = pass_a / n_a, pass_b / n_b
    low_a, _ = wilson(pass_a, n_a, z)
    _, high_b = wilson(pass_b, n_b, z)
    return p_a - p_b - math.hypot(p_a - low_a, high_b - p_b)


def significantly_below(
    pass_a: int,
    n_a: int,
    pass_best: int,
    n_best: int,
    *,
    min_samples: int = MIN_SAMPLES,
    margin: float = MARGIN,
    z: float = Z_FLAG,
) -> bool:
    """Is endpoint a's accuracy below the best one's by more than `margin`, beyond chance?"""
    if n_a < min_samples or n_best < min_samples:
        return False
    return difference_low(pass_best, n_best, pass_a, n_a, z) > margin


def reference(
    tallies: Iterable[tuple[int, int]], min_samples: int = MIN_SAMPLES
) -> tuple[int, int] | None:
    """The best endpoint's (passed, n): the highest Wilson lower bound, so that a lucky 5 of 5
    does not become the bar; None while no endpoint has enough samples."""
    eligible = [(p, n) for p, n in tallies if n >= min_samples]
    return max(eligible, key=lambda t: wilson(*t)[0], default=None)
