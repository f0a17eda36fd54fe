"""Latency percentiles from cumulative histogram buckets, exactly as PromQL's
``histogram_quantile`` computes them (Prometheus 2.x, classic histograms):

- the buckets are sorted by upper bound; without a ``+Inf`` bucket the answer is NaN;
  buckets with the same bound are merged; counts that go down are raised to the previous
  one (the monotonicity fix for buckets scraped at slightly different moments);
- fewer than two buckets or no observations: NaN; q < 0: -Inf; q > 1: +Inf;
- the rank ``q × count`` falls in the first bucket whose count reaches it; in the
  ``+Inf`` bucket the answer is the highest finite bound; in the first bucket the lower
  bound is 0 (or the answer is that bucket's bound if it is not above 0); elsewhere the
  answer is interpolated linearly between the bucket's bounds.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping

PERCENTILES = (0.5, 0.9, 0.95, 0.99)


def _prepared(buckets: Mapping[float, float]) -> list[tuple[float, float]] | None:
    ordered = sorted(buckets.items())
    if not ordered or not math.isinf(ordered[-1][0]):
        return None
    merged: list[tuple[float, float]] = []
    for bound, count in ordered:
        if merged and merged[-1][0] == bound:
            merged[-1] = (bound, merged[-1][1] + count)
        else:
            merged.append((bound, count))
    highest = -math.inf
    fixed = []
    for bound, count in merged:
        highest = max(highest, count)
        fixed.append((bound, highest))
    return fixed


def histogram_quantile(q: float, buckets: Mapping[float, float]) -> float:
    """The ``q`` quantile (0..1) of cumulative ``buckets`` (upper bound → count)."""
    if math.isnan(q):
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    prepared = _prepared(buckets)
    if prepared is None or len(prepared) < 2:
        return math.nan
    observations = prepared[-1][1]
    if observations == 0:
        return math.nan
    rank = q * observations
    counts = [count for _, count in prepared[:-1]]
    index = bisect.bisect_left(counts, rank)  # the first bucket whose count reaches rank
    if index == len(prepared) - 1:
        return prepared[-2][0]
    if index == 0 and prepared[0][0] <= 0:
        return prepared[0][0]
    start, end, count = 0.0, prepared[index][0], prepared[index][1]
    if index > 0:
        start = prepared[index - 1][0]
        count -= prepared[index - 1][1]
        rank -= prepared[index - 1][1]
    return start + (end - start) * (rank / count)


def fraction_at_most(threshold: float, buckets: Mapping[float, float]) -> float:
    """The share of requests no slower than ``threshold`` seconds (the latency SLI),
    interpolated within the bucket the threshold falls in, as ``histogram_quantile``
    interpolates (exact when the threshold is a bucket bound); NaN without requests."""
    prepared = _prepared(buckets)
    if prepared is None or prepared[-1][1] == 0:
        return math.nan
    total = prepared[-1][1]
    below_bound, below_count = 0.0, 0.0
    for bound, count in prepared:
        if threshold < bound:
            if math.isinf(bound):
                return below_count / total
            share = (
                (threshold - below_bound) / (bound - below_bound) if bound > below_bound else 1.0
            )
            return (below_count + (count - below_count) * max(0.0, share)) / total
        below_bound, below_count = bound, count
    return 1.0
