"""Target weights from a model portfolio, tactical tilts and the cash floor; tolerance bands."""

from __future__ import annotations

from collections.abc import Mapping

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
