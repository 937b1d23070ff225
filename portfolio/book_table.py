"""The practice view's table: its columns and the filters on it, apart from the computation, so
the Book page can show stored figures without importing the planner."""

from __future__ import annotations

import numpy as np
import pandas as pd

# A household's figures, computed from its book (and stored, portfolio.book_summaries).
FIGURES = [
    "value",
    "worst_class",
    "worst_drift",
    "worst_band",
    "need",
    "out_of_band",
    "cap_breaches",
    "cash_above_band",
    "harvestable_loss",
    "tax_saved",
]
SUMMARY_COLUMNS = ["household", "name", "advisor", *FIGURES, "last_run", "last_status"]


def filter_summary(
    summary: pd.DataFrame,
    *,
    advisor: str | None = None,
    status: str | None = None,
    out_of_band_only: bool = False,
) -> pd.DataFrame:
    """Rows of one advisor, one last-run status (`none` for never run), or out of band only."""
    keep = np.ones(len(summary), dtype=bool)
    if advisor:
        keep &= (summary["advisor"] == advisor).to_numpy()
    if status:
        last = summary["last_status"].fillna("none").to_numpy(dtype=object)
        keep &= last == status
    if out_of_band_only:
        keep &= (summary["out_of_band"] > 0).to_numpy()
    return summary[keep]
