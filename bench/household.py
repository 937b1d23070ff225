"""The engine's tax cost against the exact optimum, on 200 random small households.

Each household has a taxable account, a rollover IRA and sometimes a Roth IRA, holding a few of
the moderate model's funds in tax lots (random cost basis and purchase date) and some swept cash.
The engine plans it (fractional shares, no minimum trade, so both solve the same continuous
problem). The same problem is then solved exactly as a linear program with scipy's HiGHS:

    minimise    sum over taxable lots of (gain per dollar x dollars sold)  (+ a tiny turnover cost)
    subject to  every household class within its band (the 5/25 rule), cash within its band,
                each account's buys <= its swept cash + its own sales, 0 <= sold <= lot value.

The LP may sell any lot, losses included, and stops at the band's edge, so it bounds from below
what any plan could realise. Both sides follow the wash-sale rule (IRC section 1091): a loss is
disallowed for as many shares as were bought in the 30 days before and are still held, in any
account of the household. The engine matches the earliest acquired loss shares, as the regulation
says; the LP may match the cheapest (one binary switch per fund group, so a small mixed-integer
program), which keeps it a bound. Printed: total realised gains of each, their ratio, how many
households each leaves with every class in band, and the mean largest drift after trades.

A second LP may sell only classes the household holds above target ("no harvest"): the first
one also sells losses in classes it then buys back (loss harvesting), so the gap between the two
shows how much of the engine's ratio is harvesting rather than the choice of what to sell. The
engine harvests only with the mandate's `offset_gains` switch (the "offset" row).

Run from the repository root:  python bench/household.py [--households 200] [--seed 11]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
from scipy.optimize import linprog

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from portfolio.engine import rebalance
from portfolio.fund_groups import load_fund_groups
from portfolio.model_portfolios import load_model
from portfolio.models import ClientMandate, Holdings, Lot, Position
from portfolio.securities import load_securities
from portfolio.targets import band_width

AS_OF = date(2025, 6, 30)
WINDOW = timedelta(days=30)  # the wash-sale look-back
ACCOUNTS = ("Joint Taxable", "Rollover IRA", "Roth IRA")


@dataclass
class Outcome:
    gains: float
    in_band: bool
    max_drift: float


def random_household(rng: np.random.Generator, vehicles: list[str], prices: dict) -> Holdings:
    n_acct = int(rng.integers(2, 4))
    positions: list[Position] = []
    for a in ACCOUNTS[:n_acct]:
        for sym in rng.choice(vehicles, size=int(rng.integers(2, 5)), replace=False):
            price = prices[sym]
            qty = float(np.floor(rng.lognormal(np.log(60_000), 0.8) / price)) + 1
            lots, left = [], qty
            for _ in range(int(rng.integers(1, 4))):
                q = left if len(lots) == 2 else float(np.floor(left * rng.uniform(0.3, 1.0)))
                if q <= 0:
                    continue
                left -= q
                ratio = rng.uniform(0.6, 1.4)
                acquired = AS_OF - timedelta(days=int(rng.integers(20, 2_500)))
                lots.append(
                    Lot(quantity=q, cost_basis=round(q * price * ratio, 2), acquired=acquired)
                )
                if left <= 0:
                    break
            if left > 0:
                lots.append(Lot(quantity=left, cost_basis=round(left * price, 2), acquired=AS_OF))
            positions.append(
                Position(
                    account=a,
                    symbol=str(sym),
                    quantity=qty,
                    price=price,
                    market_value=round(qty * price, 2),
                    lots=lots,
                )
            )
        cash = round(float(rng.uniform(0, 30_000)), 2)
        if cash > 0:
            positions.append(
                Position(
                    account=a,
                    symbol="SPAXX",
                    quantity=cash,
                    price=1.0,
                    market_value=cash,
                    is_cash=True,
                )
            )
    return Holdings(positions=positions)


def engine_outcome(h: Holdings, mandate: ClientMandate) -> Outcome:
    p = rebalance(h, mandate, as_of=AS_OF)
    drift = max(abs(w.post_trade - w.target) for w in p.asset_class_weights.values())
    in_band = all(
        abs(w.post_trade - w.target) <= w.band + 1e-6 for w in p.asset_class_weights.values()
    )
    return Outcome(p.realized_gains, in_band, drift)


def lp_outcome(
    h: Holdings, mandate: ClientMandate, securities, groups, *, harvest: bool = True
) -> Outcome:
    weights = load_model(mandate.risk_profile).weights()
    classes = [c for c in weights if c != "cash"]
    accounts = sorted({p.account for p in h.positions})
    taxable = {a: a.startswith("Joint") for a in accounts}
    total = sum(p.market_value for p in h.positions)
    cash = {
        a: sum(p.market_value for p in h.positions if p.is_cash and p.account == a)
        for a in accounts
    }
    lots = []  # (account, class, value, gain per dollar, group, price, recent units)
    for p in h.positions:
        if p.is_cash:
            continue
        cls = securities.asset_class(p.symbol)
        for lt in p.lots:
            value = lt.quantity * p.price
            g = (value - (lt.cost_basis or value)) / value if taxable[p.account] else 0.0
            bought = lt.acquired is not None and AS_OF - WINDOW <= lt.acquired <= AS_OF
            recent = lt.quantity if bought else 0.0
            lots.append((p.account, cls, value, g, groups.group(p.symbol), p.price, recent))
    # Wash sales (IRC section 1091): in each fund group, the taxable loss shares sold are matched
    # with the recent purchases still held (a recent taxable lot sold the same day replaces
    # nothing; an IRA's counts even when sold); min(loss shares, replacements) of them lose their
    # loss. The LP may choose which loss shares are matched (the cheapest), where the rule takes
    # the earliest acquired: a relaxation, so the optimum stays a bound from below.
    washed = sorted(
        {gr for *_, gr, _, r in lots if r > 0}
        & {gr for a, _, _, g, gr, _, _ in lots if taxable[a] and g < 0}
    )
    n_s, n_b, n_g = len(lots), len(accounts) * len(classes), len(washed)
    n = 2 * n_s + n_b + n_g  # sold, bought, disallowed (per lot), one switch per group
    c = np.r_[
        [g for _, _, _, g, *_ in lots],
        np.zeros(n_b),
        [-g for _, _, _, g, *_ in lots],
        np.zeros(n_g),
    ]
    c[: n_s + n_b] += 1e-4
    A, b = [], []
    held = {k: sum(lt[2] for lt in lots if lt[1] == k) for k in classes}
    for ki, k in enumerate(classes):
        row = np.zeros(n)
        for j, lt in enumerate(lots):
            if lt[1] == k:
                row[j] = -1.0
        for ai in range(len(accounts)):
            row[n_s + ai * len(classes) + ki] = 1.0
        tol = band_width(weights[k], mandate) * total
        target = weights[k] * total
        A += [row, -row]
        b += [target + tol - held[k], -(target - tol - held[k])]
    cash_row = np.r_[np.ones(n_s), -np.ones(n_b), np.zeros(n_s + n_g)]  # cash + sells - buys
    tol_c = band_width(weights.get("cash", 0.0), mandate) * total
    t_c = weights.get("cash", 0.0) * total
    cash_h = sum(cash.values())
    A += [cash_row, -cash_row]
    b += [t_c + tol_c - cash_h, -(t_c - tol_c - cash_h)]
    for ai, a in enumerate(accounts):  # each account funds its own buys
        row = np.zeros(n)
        for j, lt in enumerate(lots):
            if lt[0] == a:
                row[j] = -1.0
        row[n_s + ai * len(classes) : n_s + (ai + 1) * len(classes)] = 1.0
        A.append(row)
        b.append(cash[a])
    # A recent lot's own loss shares are left unmatched: no purchase replaces its own shares,
    # nor shares bought after it (Rev. Rul. 56-602); dropping them only lowers the bound.
    loss = [taxable[a] and g < 0 and gr in washed and not r for a, _, _, g, gr, _, r in lots]
    for j, on in enumerate(loss):  # a lot's disallowed dollars are dollars it sold
        if on:
            row = np.zeros(n)
            row[n_s + n_b + j], row[j] = 1.0, -1.0
            A.append(row)
            b.append(0.0)
    for gi, gr in enumerate(washed):
        mine = [j for j, lt in enumerate(lots) if lt[4] == gr]
        big = sum(lots[j][2] / lots[j][5] for j in mine) + 1.0
        matched = np.zeros(n)  # - disallowed shares
        for j in mine:
            if loss[j]:
                matched[n_s + n_b + j] = -1.0 / lots[j][5]
        # disallowed >= loss shares sold - big * z
        row = matched.copy()
        for j in mine:
            if loss[j]:
                row[j] += 1.0 / lots[j][5]
        row[n_s + n_b + n_s + gi] = -big
        A.append(row)
        b.append(0.0)
        # disallowed >= replacements still held - big * (1 - z)
        row = matched.copy()
        for j in mine:
            a, _, _, _, _, price, recent = lots[j]
            if recent and taxable[a]:
                row[j] -= 1.0 / price  # sold the same day: no replacement
        row[n_s + n_b + n_s + gi] = big
        A.append(row)
        b.append(big - sum(lots[j][6] for j in mine))
    # Without harvesting, only classes held above their target may be sold.
    may_sell = {k: harvest or held[k] > weights[k] * total for k in classes}
    bounds = (
        [(0, lt[2] if may_sell[lt[1]] else 0.0) for lt in lots]
        + [(0, None)] * n_b
        + [(0, None if on else 0.0) for on in loss]
        + [(0, 1)] * n_g
    )
    integrality = np.r_[np.zeros(2 * n_s + n_b), np.ones(n_g)]
    res = linprog(
        c,
        A_ub=np.array(A),
        b_ub=np.array(b),
        bounds=bounds,
        method="highs",
        integrality=integrality,
    )
    if res.status != 0:
        return Outcome(float("nan"), False, float("nan"))
    x = res.x
    gains = float(sum(lt[3] * x[j] - lt[3] * x[n_s + n_b + j] for j, lt in enumerate(lots)))
    after = {k: held[k] - sum(x[j] for j, lt in enumerate(lots) if lt[1] == k) for k in classes}
    for ai in range(len(accounts)):
        for ki, k in enumerate(classes):
            after[k] += x[n_s + ai * len(classes) + ki]
    drift = max(abs(after[k] / total - weights[k]) for k in classes)
    return Outcome(gains, True, drift)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--households", type=int, default=200)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args(argv)
    securities = load_securities()
    groups = load_fund_groups()
    mandate = ClientMandate(fractional=True, min_trade_value=0.0)
    model = load_model(mandate.risk_profile)
    vehicles = [s.vehicle for s in model.sleeves if s.asset_class != "cash"]
    prices = {v: securities.price(v) for v in vehicles}
    rng = np.random.default_rng(args.seed)
    offset = mandate.model_copy(update={"offset_gains": True})
    eng, off, opt, plain = [], [], [], []
    for _ in range(args.households):
        h = random_household(rng, vehicles, prices)
        eng.append(engine_outcome(h, mandate))
        off.append(engine_outcome(h, offset))
        opt.append(lp_outcome(h, mandate, securities, groups))
        plain.append(lp_outcome(h, mandate, securities, groups, harvest=False))
    ok = [i for i, o in enumerate(opt) if np.isfinite(o.gains) and np.isfinite(plain[i].gains)]
    e_gain = sum(max(eng[i].gains, 0.0) for i in ok)
    f_gain = sum(max(off[i].gains, 0.0) for i in ok)
    o_gain = sum(max(opt[i].gains, 0.0) for i in ok)
    p_gain = sum(max(plain[i].gains, 0.0) for i in ok)
    print(f"{len(ok)} random households (moderate model, taxable + IRA [+ Roth]), as of {AS_OF}")
    print(f"{'':<10}{'realised gains':>16}{'all in band':>13}{'mean max drift':>16}")
    print(
        f"{'engine':<10}{e_gain:>16,.0f}{sum(eng[i].in_band for i in ok):>13}"
        f"{np.mean([eng[i].max_drift for i in ok]):>16.2%}"
    )
    print(
        f"{'offset':<10}{f_gain:>16,.0f}{sum(off[i].in_band for i in ok):>13}"
        f"{np.mean([off[i].max_drift for i in ok]):>16.2%}"
    )
    print(
        f"{'LP (HiGHS)':<10}{o_gain:>16,.0f}{sum(opt[i].in_band for i in ok):>13}"
        f"{np.mean([opt[i].max_drift for i in ok]):>16.2%}"
    )
    print(
        f"{'LP no harv.':<10}{p_gain:>16,.0f}{sum(plain[i].in_band for i in ok):>13}"
        f"{np.mean([plain[i].max_drift for i in ok]):>16.2%}"
    )

    def ratio_of(a: float, b: float) -> float:
        return a / b if b > 0 else float("inf") if a > 0 else 1.0

    print(f"\nratio of realised gains, engine / optimum: {ratio_of(e_gain, o_gain):.2f}")
    print(
        "ratio of realised gains, engine / optimum without harvesting: "
        f"{ratio_of(e_gain, p_gain):.2f}"
    )
    print(
        "ratio of realised gains, engine with offset harvesting / optimum: "
        f"{ratio_of(f_gain, o_gain):.2f}"
    )
    zero = sum(1 for i in ok if max(opt[i].gains, 0) < 1 and max(eng[i].gains, 0) < 1)
    print(f"households where both realise no gain: {zero}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
