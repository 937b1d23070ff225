"""Forced sales: what the mandate excludes, and the single-name cap across the client's book."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from portfolio.planner.state import HouseholdState, round_qty


@dataclass(frozen=True)
class Forced:
    qty: np.ndarray
    value: np.ndarray
    cap_hit: np.ndarray
    name_weight: np.ndarray
    notes: list[str]
    request_qty: np.ndarray | None = None  # of `qty`, units sold for a withdrawal


def forced_sales(s: HouseholdState) -> Forced:
    m = s.mandate
    n = s.n
    forced_qty = np.where(s.excluded, s.qty, 0.0)
    cap_hit = np.zeros(n, dtype=bool)
    name_weight = np.zeros(n)
    if m.single_name_cap is not None and n:
        # The cap is on the client's whole book: a name above it is trimmed in every account that
        # holds it, pro rata to what each holds.
        client = s.client_of_acct[s.acct]
        HV = np.bincount(client, weights=s.value)
        sym_codes, sym_names = pd.factorize(s.symbol)
        name_key = pd.factorize(client.astype(np.int64) * len(sym_names) + sym_codes)[0]
        live = s.single & ~s.excluded
        SV = np.bincount(name_key, weights=np.where(live, s.value, 0.0))
        cap_total = m.single_name_cap * HV[client]
        name_weight = SV[name_key] / np.where(HV[client] > 0, HV[client], 1.0)
        cap_hit = live & (SV[name_key] > cap_total + 0.005)
        share = s.value / np.where(SV[name_key] > 0, SV[name_key], 1.0)
        excess_val = (SV[name_key] - cap_total) * share
        uv = s.unit_value
        excess = np.where(cap_hit, excess_val / np.where(uv > 0, uv, 1.0), 0.0)
        forced_qty = np.where(
            cap_hit, np.minimum(round_qty(excess, s.whole, up=True), s.qty), forced_qty
        )
    forced_val = forced_qty * s.unit_value
    notes: list[str] = []
    # Closing out an excluded holding is never held back by the minimum trade size.
    small = (forced_val > 0) & (forced_val < m.min_trade_value) & ~s.excluded
    for i in np.flatnonzero(small):
        notes.append(
            f"{s.symbol[i]} in {s.accounts[s.acct[i]]}: the required sale of "
            f"${forced_val[i]:,.2f} is below the ${m.min_trade_value:,.0f} minimum trade"
        )
    forced_qty = np.where(small, 0.0, forced_qty)
    forced_val = np.where(small, 0.0, forced_val)
    return Forced(forced_qty, forced_val, cap_hit, name_weight, notes)
