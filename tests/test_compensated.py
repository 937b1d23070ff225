"""Compensated sums give what a frame's grouped sum and running sum give, to the bit."""

from __future__ import annotations

import numpy as np
import pandas as pd

from portfolio.compensated import running_sums, total


def test_total_equals_a_grouped_sum_where_a_plain_sum_does_not_and_skips_missing() -> None:
    # Twelve cash flows where in-order addition and compensation differ in the last bit.
    values = [-23250.31, -2187.92, -12459.11, -7322.67, -5442.59, -3163.0, 4116.31, 10425.13]
    values += [-1285.35, float("nan"), 13664.63, -6651.95, 3515.1]
    grouped = pd.DataFrame({"g": 0, "v": values}).groupby("g")["v"].sum().iloc[0]
    assert total(values) == grouped
    assert sum(v for v in values if v == v) != grouped  # in-order addition rounds differently


def test_running_sums_restart_at_each_start_as_a_grouped_cumsum() -> None:
    rng = np.random.default_rng(3)
    values = rng.normal(0, 1e6, 400) * rng.random(400)
    groups = np.sort(rng.integers(0, 30, 400))
    starts = np.r_[True, groups[1:] != groups[:-1]]
    expected = pd.Series(values).groupby(groups).cumsum().to_numpy()
    assert np.array_equal(running_sums(values, starts), expected)
