"""Sums compensated as pandas' grouped sums and running sums compute them (Kahan's method).

Where a frame's `groupby(...).sum()` or `.cumsum()` on a household's few rows is replaced by a
plain loop for speed, summing this way keeps every figure to the bit, so a sale's order or a
cash row never moves by a last-bit difference. A missing value adds nothing, as a frame skips it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np


def total(values: Iterable[float]) -> float:
    """The sum of `values`, missing ones skipped."""
    out = comp = 0.0
    for x in values:
        if math.isnan(x):
            continue
        y = x - comp
        t = out + y
        comp = (t - out) - y
        out = t
    return out


def running_sums(values: Sequence[float] | np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Running sums started afresh where `starts` is true (the first value always starts one)."""
    out = np.empty(len(values))
    acc = comp = 0.0
    for i, (fresh, x) in enumerate(zip(starts.tolist(), np.asarray(values).tolist(), strict=True)):
        if fresh:
            acc = comp = 0.0
        if not math.isnan(x):
            y = x - comp
            t = acc + y
            comp = (t - acc) - y
            acc = t
        out[i] = acc
    return out


__all__ = ["running_sums", "total"]
