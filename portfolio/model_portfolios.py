"""Model portfolios per risk profile, read from data/models.csv."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

from portfolio.models import ModelPortfolio, ModelSleeve, RiskProfile
from portfolio.securities import DATA_DIR

MODELS_CSV = DATA_DIR / "models.csv"
_SOURCE = "data/models.csv (stock/bond splits after Vanguard's published allocation models)"


@lru_cache(maxsize=8)
def _load_all(path: str) -> dict[str, ModelPortfolio]:
    df = pd.read_csv(path, comment="#", dtype=str, keep_default_na=False)
    df.columns = [c.strip().lower() for c in df.columns]
    out: dict[str, ModelPortfolio] = {}
    for profile, grp in df.groupby("profile", sort=False):
        sleeves = [
            ModelSleeve(
                asset_class=r.asset_class.strip(),
                weight=float(r.weight),
                vehicle=r.vehicle.strip().upper(),
                esg_vehicle=(r.esg_vehicle.strip() or r.vehicle.strip()).upper(),
            )
            for r in grp.itertuples(index=False)
        ]
        total = sum(s.weight for s in sleeves)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"model '{profile}' weights sum to {total:.4f}, not 1")
        out[str(profile).strip()] = ModelPortfolio(
            profile=RiskProfile(str(profile).strip()),
            name=str(profile).replace("_", " ").title(),
            source=_SOURCE,
            sleeves=sleeves,
        )
    return out


def load_model(profile: RiskProfile | str, path: str | Path = MODELS_CSV) -> ModelPortfolio:
    models = _load_all(str(path))
    key = RiskProfile(profile).value
    if key not in models:
        raise KeyError(f"no model portfolio for profile '{key}' in {Path(path).name}")
    return models[key]


def all_models(path: str | Path = MODELS_CSV) -> dict[str, ModelPortfolio]:
    return dict(_load_all(str(path)))
