"""Asset location: which account type each class belongs in (lower rank = better home).

Common practice in the research of Vanguard and Morningstar ("asset location"): the least
tax-efficient sleeves (taxable bonds, TIPS, REITs, high yield, commodities) go into tax-deferred
accounts first; the highest expected growth (small caps, emerging markets) into tax-free ones;
broad, low-turnover equity index funds and international equity (the foreign tax credit is only
usable there) stay in taxable accounts; municipal bonds belong only in taxable accounts.
Location is a preference: it decides where buys go and where sales come from among
tax-advantaged accounts, never a reason on its own to sell.
"""

from __future__ import annotations

import numpy as np

from portfolio.planner.state import TYPE_NAMES

# class -> rank per account type, in TYPE_NAMES order (taxable, tax_deferred, tax_free)
_RANKS: dict[str, tuple[int, int, int]] = {
    "us_bonds": (2, 0, 1),
    "treasuries": (2, 0, 1),
    "tips": (2, 0, 1),
    "high_yield": (2, 0, 1),
    "intl_bonds": (2, 0, 1),
    "real_estate": (2, 0, 1),
    "commodities": (2, 0, 1),
    "us_small_cap": (1, 2, 0),
    "emerging_equity": (1, 2, 0),
    "us_equity": (0, 2, 1),
    "intl_equity": (0, 2, 1),
    "municipals": (0, 3, 3),
}
_DEFAULT = (1, 1, 1)


def location_ranks(classes: list[str]) -> np.ndarray:
    """(account types x classes) ranks; 0 is where a class is taxed least."""
    return np.array([_RANKS.get(c, _DEFAULT) for c in classes], dtype=np.int64).T.reshape(
        len(TYPE_NAMES), len(classes)
    )


def home_of(cls: str) -> str:
    """The account type a class is best held in, for the reasons' wording."""
    ranks = _RANKS.get(cls, _DEFAULT)
    return TYPE_NAMES[int(np.argmin(ranks))]
