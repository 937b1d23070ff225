"""Target weights from a model portfolio, tactical tilts and the cash floor; tolerance bands."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from portfolio.models import AssetClass, ClientMandate, ModelPortfolio

MAX_TILT = 0.05


def clamp_tilts(tilts: Mapping[str, float] | None, model: ModelPortfolio) -> dict[str, float]:
    """Keep only tilts on the model's own sleeves, each within ±5 points; cash is not tilted."""
    if not tilts:
        return {}
    sleeves = set(model.weights())
    out: dict[str, float] = {}
    for cls, delta in tilts.items():
        if cls in sleeves and cls != AssetClass.CASH and np.isfinite(delta) and delta != 0:
            out[cls] = float(np.clip(delta, -MAX_TILT, MAX_TILT))
    return out


def target_weights(
    model: ModelPortfolio, mandate: ClientMandate, tilts: Mapping[str, float] | None = None
) -> dict[str, float]:
    """Asset class -> target weight, summing to 1.

    Tilts shift sleeves (never below zero) and the non-cash sleeves are renormalised so the
    cash sleeve is untouched; a cash floor above the model's cash sleeve raises cash and scales
    the other sleeves down pro rata.
    """
    base = model.weights()
    applied = clamp_tilts(tilts, model)
    cash_w = base.get(AssetClass.CASH.value, 0.0)
    risky = {c: max(0.0, w + applied.get(c, 0.0)) for c, w in base.items() if c != "cash"}
    total_risky = sum(risky.values())
    target_cash = max(cash_w, mandate.cash_floor)
    scale = (1.0 - target_cash) / total_risky if total_risky > 0 else 0.0
    out = {c: w * scale for c, w in risky.items()}
    out[AssetClass.CASH.value] = target_cash if total_risky > 0 else 1.0
    return out


def band_width(target: float, mandate: ClientMandate) -> float:
    """Tolerance either side of target: min(absolute, relative x target); band_abs if no target."""
    if target <= 0:
        return mandate.band_abs
    return min(mandate.band_abs, mandate.band_rel * target)


def reassign_unbuyable(
    weights: Mapping[str, float], moves: Mapping[str, str]
) -> tuple[dict[str, float], list[str]]:
    """Move the weight of sleeves no fund qualifies for to the sleeve chosen for them
    (`planner.sleeve_vehicles`, SecurityMaster.nearest_qualifying_sleeve); say what moved."""
    out = dict(weights)
    notes: list[str] = []
    for cls, w in weights.items():
        dest = moves.get(cls)
        if cls == AssetClass.CASH or dest is None or dest == cls or w <= 0:
            continue
        out[dest] = out.get(dest, 0.0) + w
        out[cls] = 0.0
        notes.append(
            f"No fund the mandate allows for {cls.replace('_', ' ')}; its {w:.1%} "
            f"target moves to {dest.replace('_', ' ')}"
        )
    return out, notes


# Share of each class's band the income lean may use: whole-share rounding then still lands the
# class inside its band around the model's target.
LEAN_SHARE = 0.9


@dataclass(frozen=True)
class IncomeLean:
    """Target weights leaned toward yield, the shift per class, and what the bands leave."""

    weights: dict[str, float]
    shifts: dict[str, float]
    gap_left: float  # estimated yield still missing after the lean (0 when met)
    exhausted: bool  # every higher-yielding sleeve at the top of its band, or no donor left


def lean_for_income(
    weights: Mapping[str, float],
    model_weights: Mapping[str, float],
    class_yields: Mapping[str, float],
    gap: float,
    mandate: ClientMandate,
) -> IncomeLean:
    """Shift target weight from lower- to higher-yielding sleeves until `gap` (a yield) is closed.

    Moving a weight t from class d to class r raises the estimated yield by t x (y_r - y_d), so
    the highest-yielding sleeve takes from the lowest first. Every class stays within
    `LEAN_SHARE` of its band around the model's target (`model_weights`, before any lean); cash
    and classes without a target or a yield are left alone. Ties break by class name, so the
    result depends only on the inputs.
    """
    out = dict(weights)
    shifts: dict[str, float] = {}
    eligible = [
        c
        for c, w in model_weights.items()
        if c != AssetClass.CASH.value and w > 0 and c in class_yields
    ]
    up = {
        c: max(model_weights[c] + LEAN_SHARE * band_width(model_weights[c], mandate) - out[c], 0.0)
        for c in eligible
    }
    down = {
        c: max(
            out[c]
            - max(model_weights[c] - LEAN_SHARE * band_width(model_weights[c], mandate), 0.0),
            0.0,
        )
        for c in eligible
    }
    receivers = sorted(eligible, key=lambda c: (-class_yields[c], c))
    donors = sorted(eligible, key=lambda c: (class_yields[c], c))
    i = j = 0
    left = max(gap, 0.0)
    while left > 1e-12 and i < len(receivers) and j < len(donors):
        r, d = receivers[i], donors[j]
        spread = class_yields[r] - class_yields[d]
        if spread <= 0:
            break
        if up[r] <= 1e-12:
            i += 1
            continue
        if down[d] <= 1e-12:
            j += 1
            continue
        t = min(up[r], down[d], left / spread)
        up[r] -= t
        down[d] -= t
        out[r] += t
        out[d] -= t
        shifts[r] = shifts.get(r, 0.0) + t
        shifts[d] = shifts.get(d, 0.0) - t
        left -= t * spread
    return IncomeLean(
        weights=out,
        shifts={c: v for c, v in shifts.items() if abs(v) > 1e-12},
        gap_left=max(left, 0.0) if left > 1e-12 else 0.0,
        exhausted=left > 1e-12,
    )
