"""Wash-sale look-back: a taxable loss sale within 30 days after a purchase of the same fund.

IRC section 1091 and IRS Publication 550 ("Wash Sales"): a loss is disallowed when substantially
identical securities are acquired within 30 days before or after the sale, in any of the
taxpayer's accounts (IRAs included, Rev. Rul. 2008-5). Purchases after the sale are prevented by
the buy stage; purchases before it, known from the lots, are flagged here, not guessed at.
"""

from __future__ import annotations

import numpy as np

from portfolio.lots import sell_from_lots
from portfolio.planner.lookback import WINDOW, Lookback, bought_recently
from portfolio.planner.sells import Sells
from portfolio.planner.state import HouseholdState


def recent_purchase_flags(
    s: HouseholdState, sells: Sells, sell_qty: np.ndarray, lookback: Lookback
) -> dict[int, str]:
    """Row -> a warning for each taxable loss sale with a purchase in the 30 days before it."""
    out: dict[int, str] = {}
    if s.lots_of is None or not sells.loss_lots:
        return out
    start = s.as_of - WINDOW
    for i, taken in sells.loss_lots.items():
        if sell_qty[i] <= 0:
            continue
        bought: list = []
        units = 0.0
        for j in sorted(lookback.bought_in(i)):
            for lt in s.lots(j):
                if bought_recently(lt, s.as_of):
                    units += lt.quantity
                    bought.append(lt.acquired)
        # Lots sold in this very sale (at a loss or not) are no replacement: none is held.
        walked = sells.sold_lots.get(i, ())
        if abs(sum(q for _, q in walked) - sell_qty[i]) > 1e-6:  # cut back since: walk again
            again = sell_from_lots(
                s.lots(i),
                float(sell_qty[i]),
                float(s.unit_value[i]),
                s.as_of,
                tax_aware=s.mandate.tax_aware,
                forced=float(sell_qty[i]),
                whole=s.whole,
            )
            if not again.loss_lots:
                continue  # what is left of the sale takes no loss
            walked = again.sold_lots
        taken = walked
        units -= sum(q for d, q in taken if d is not None and start <= d <= s.as_of)
        if units > 1e-9:
            out[int(i)] = (
                f"possible wash sale: {units:g} units of {s.symbol[i]} or a substantially "
                f"identical fund were bought on {max(bought).isoformat()}, within 30 days "
                "before this loss sale; the loss may be disallowed"
            )
    return out
