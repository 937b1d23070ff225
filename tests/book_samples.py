"""Small generated books for the practice view, the batch and the Dask path (seeded)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from portfolio.models import ClientMandate, Holdings, Lot, Position
from portfolio.practice import HouseholdBook
from portfolio.securities import load_securities

AS_OF = date(2025, 6, 30)
FUNDS = ("VTI", "VXUS", "BND", "VB", "VWO", "BNDX", "AAPL", "MSFT")
# One price per symbol, the reference price, as every household's file states it (the book plan
# prices each household by its own rows: `test_batch`'s repriced books differ by household).
PRICES = {s: float(load_securities().frame.loc[s, "price"]) for s in FUNDS}
PROFILES = ("conservative", "moderate", "aggressive")


def position(account: str, symbol: str, qty: float, price: float, lots=()) -> Position:
    return Position(
        account=account,
        symbol=symbol,
        quantity=qty,
        price=price,
        market_value=round(qty * price, 2),
        lots=list(lots),
    )


def cash(account: str, amount: float) -> Position:
    return Position(
        account=account,
        symbol="SPAXX",
        quantity=amount,
        price=1.0,
        market_value=amount,
        is_cash=True,
    )


def generated_book(n: int, seed: int = 3, advisors=("ann", "bob")) -> list[HouseholdBook]:
    """`n` households of two or three accounts, a few funds each, lots with random basis."""
    rng = np.random.default_rng(seed)
    out = []
    for h in range(n):
        positions = []
        for acct in ("Joint Taxable", "Rollover IRA", "Roth IRA")[: int(rng.integers(2, 4))]:
            for sym in rng.choice(FUNDS, size=int(rng.integers(2, 5)), replace=False):
                price = PRICES[str(sym)]
                qty = float(rng.integers(10, 400))
                ratio = float(rng.uniform(0.7, 1.3))
                acquired = AS_OF - timedelta(days=int(rng.integers(5, 2000)))
                lots = [
                    Lot(quantity=qty, cost_basis=round(qty * price * ratio, 2), acquired=acquired)
                ]
                positions.append(position(acct, str(sym), qty, round(price, 2), lots))
            positions.append(cash(acct, round(float(rng.uniform(0, 20_000)), 2)))
        out.append(
            HouseholdBook(
                id=f"H{h:04d}",
                name=f"Household {h}",
                holdings=Holdings(positions=positions),
                mandate=ClientMandate(risk_profile=PROFILES[h % 3]),
                advisor=advisors[h % len(advisors)],
            )
        )
    return out
