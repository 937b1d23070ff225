"""Drift: each planning unit's class values against its targets and bands, and the change wanted.

Out-of-band classes are brought back to target; cash above its band is invested in under-target
classes; cash below its band or the floor is raised from over-target ones. Cash here is the cash
class: swept cash plus cash-class holdings (T-bill ETFs, purchased money-market funds).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from portfolio.models import AssetClass
from portfolio.planner.forced import Forced
from portfolio.planner.state import EPS, HouseholdState
from portfolio.securities import NEAREST_SLEEVES
from portfolio.targets import band_width


@dataclass(frozen=True)
class Drift:
    C: np.ndarray  # (units x classes) after the forced sales
    C_today: np.ndarray  # before them, for the reasons' wording
    T: np.ndarray
    D: np.ndarray  # change wanted per unit and class (+ buy, - sell)
    out: np.ndarray
    B: np.ndarray  # tradable book per unit
    V: np.ndarray  # whole book per unit
    T_cash: np.ndarray
    floor: np.ndarray
    need: np.ndarray  # cash the unit must raise
    raising: np.ndarray  # units that sell over-target classes to raise cash
    # Units whose cash starts below the mandate's floor (a hard rule, where the cash band is
    # not): their sales go on to target even at a taxable gain, so the floor is raised.
    floor_short: np.ndarray
    val_rem: np.ndarray  # per row, after the forced sales
    qty_rem: np.ndarray
    in_class: np.ndarray
    tol_w: np.ndarray
    tol_cash: np.ndarray  # per unit: the cash band in dollars
    reach: np.ndarray  # per class: brought to target even at a taxable gain (the income lean)


def class_drift(
    s: HouseholdState,
    forced: Forced,
    weights: Mapping[str, float],
    reach: frozenset[str] = frozenset(),
) -> Drift:
    """`reach`: classes brought to target even inside their band (the income lean's)."""
    m = s.mandate
    V = s.by_unit(s.value)
    cash0 = s.by_unit(np.where(s.is_cash | s.cash_hold, s.value, 0.0))
    frozen = s.by_unit(np.where(~s.tradable & ~s.is_cash, s.value, 0.0))
    B = V - frozen

    qty_rem = s.qty - forced.qty
    val_rem = np.where(s.tradable, qty_rem * s.unit_value, 0.0)
    cash_f = cash0 + s.by_unit(np.where(s.cash_hold, 0.0, forced.value))
    in_class = s.tradable & (s.row_k >= 0)
    C = s.class_matrix(val_rem, in_class)
    C_today = s.class_matrix(s.value, in_class)

    w = np.array([weights.get(c, 0.0) for c in s.classes])
    w_cash = float(weights.get(AssetClass.CASH.value, 0.0))
    T_cash = np.maximum(w_cash * B, m.cash_floor * V)
    risky_total = max(1.0 - w_cash, EPS)
    # Holdings that are never traded (a CUSIP-only Treasury) still count in their class: the
    # model applies to the whole book and the tradable part fills what they leave, pro rata.
    frozen_rows = ~s.tradable & ~s.is_cash & (s.row_k >= 0)
    F = s.class_matrix(np.where(frozen_rows, s.value, 0.0), frozen_rows)
    R = np.maximum(B - T_cash, 0.0)
    T_full = (w / risky_total)[None, :] * np.maximum(V - T_cash, 0.0)[:, None]
    T_raw = np.clip(T_full - F, 0.0, None)
    # A frozen holding above its class's target stands in for the nearest sleeves first (a
    # Treasury bond held by CUSIP lowers what the plan buys of other bonds), then pro rata.
    excess = np.clip(F - T_full, 0.0, None)
    index = {c: k for k, c in enumerate(s.classes)}
    for k in np.flatnonzero(excess.sum(0) > EPS):
        for near in NEAREST_SLEEVES.get(s.classes[k], ()):
            j = index.get(str(near))
            if j is None:
                continue
            take = np.minimum(excess[:, k], T_raw[:, j])
            T_raw[:, j] -= take
            excess[:, k] -= take
    T_sum = T_raw.sum(1)
    T = T_raw * np.where(T_sum > EPS, R / np.where(T_sum > EPS, T_sum, 1.0), 0.0)[:, None]
    tol_w = np.array([band_width(x, m) for x in w])
    tol = tol_w[None, :] * B[:, None]
    tol_cash = band_width(w_cash, m) * B
    floor_val = m.cash_floor * V

    out = np.abs(C - T) > tol + EPS * np.maximum(B, 1.0)[:, None]
    must = np.array([c in reach for c in s.classes], dtype=bool)
    if reach:
        out |= must[None, :] & (np.abs(C - T) > EPS * np.maximum(B, 1.0)[:, None])
    D = np.where(out, T - C, 0.0)

    cash1 = cash_f - D.sum(1)
    excess = cash1 - T_cash
    deploy = excess > tol_cash + EPS
    gap = np.clip(T - (C + D), 0.0, None)
    G = gap.sum(1)
    f = np.where(deploy & (G > 0), np.minimum(1.0, excess / np.where(G > 0, G, 1.0)), 0.0)
    D = D + f[:, None] * gap
    cash1 = cash_f - D.sum(1)
    need = np.where(
        (cash1 < T_cash - tol_cash - EPS) | (cash1 < floor_val - EPS), T_cash - cash1, 0.0
    )
    # Cash short of its target: first sell what sits above target in classes still inside their
    # band (so out-of-band classes do reach target), and only then scale the buys down.
    over = np.clip((C + D) - T, 0.0, None)
    over_total = over.sum(1)
    f2 = np.where(need > 0, np.minimum(1.0, need / np.where(over_total > 0, over_total, 1.0)), 0.0)
    D = D - f2[:, None] * over
    need2 = need - f2 * over_total
    buys = np.clip(D, 0.0, None)
    P = buys.sum(1)
    cut = np.clip(np.minimum(P, need2), 0.0, None)
    D = np.where(D > 0, D * (1.0 - cut / np.where(P > 0, P, 1.0))[:, None], D)
    return Drift(
        C=C,
        C_today=C_today,
        T=T,
        D=D,
        out=out,
        B=B,
        V=V,
        T_cash=T_cash,
        floor=floor_val,
        need=need,
        raising=f2 > 0,
        floor_short=(floor_val > 0) & (cash_f < floor_val - EPS),
        val_rem=val_rem,
        qty_rem=qty_rem,
        in_class=in_class,
        tol_w=tol_w,
        tol_cash=tol_cash,
        reach=must,
    )
