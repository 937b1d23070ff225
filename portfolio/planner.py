"""The vectorised planner: an enriched book + targets -> the trades every account needs.

Each account is rebalanced as its own book to the model: when every account meets the caps,
the bands and the cash floor, the household does too. Work is done on (accounts x asset classes)
arrays and grouped pandas operations, never a Python loop per position (tax lots excepted: they
are walked only for the positions that are sold and have lots).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from portfolio.labels import class_label
from portfolio.lots import sell_from_lots
from portfolio.models import AssetClass, ClientMandate, Lot, ModelPortfolio
from portfolio.securities import SecurityMaster, esg_eligible
from portfolio.targets import band_width

EPS = 1e-9
TRADE_COLUMNS = [
    "account",
    "symbol",
    "action",
    "quantity",
    "price",
    "value",
    "asset_class",
    "reason",
    "row",
    "realized_gain",
    "short_term_gain",
]


def _label(cls: str) -> str:
    return class_label(cls)


def _class_reason(
    cls: str, cw: float, tw: float, tol: float, out: bool, action: str, after: bool = False
) -> str:
    if out:
        side = "above" if cw > tw else "below"
        when = " after the required sales" if after else ""
        return (
            f"{cls} is {cw:.1%} of the account{when}, {side} its {tw:.1%} target by more "
            f"than the ±{tol:.1%} band"
        )
    if action == "BUY":
        return f"Invest cash above the cash target in {cls} ({cw:.1%} against {tw:.1%} target)"
    return f"Raise cash to its target from {cls} ({cw:.1%} against {tw:.1%} target)"


@dataclass
class Plan:
    """What the vectorised core decided, before pydantic models are built around it."""

    trades: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    target_values: dict[str, float] = field(default_factory=dict)  # household, tradable part


def _round_qty(q: np.ndarray, whole: bool, up: bool) -> np.ndarray:
    if whole:
        return np.ceil(q - 1e-9) if up else np.floor(q + 1e-9)
    scale = 1e6
    return (np.ceil(q * scale - 1e-6) if up else np.floor(q * scale + 1e-6)) / scale


def plan_trades(
    book: pd.DataFrame,
    mandate: ClientMandate,
    weights: Mapping[str, float],
    vehicles: Mapping[str, str],
    ref: pd.DataFrame,
    *,
    as_of: date,
    lots_of: Callable[[int], list[Lot]] | None = None,
) -> Plan:
    """Decide every trade for every account of `book` (an enriched frame, see portfolio.book).

    `weights` are target weights by asset class (summing to 1, cash included); `vehicles` the
    fund to buy per asset class when the account holds no eligible fund there; `ref` the
    reference frame (indexed by symbol) used to price and screen those vehicles.
    """
    notes: list[str] = []
    whole = not mandate.fractional
    n = len(book)
    if n == 0:
        return Plan(pd.DataFrame(columns=TRADE_COLUMNS), notes, {})

    acct_codes, accounts = pd.factorize(book["account"], sort=True)
    n_acct = len(accounts)
    value = book["value"].to_numpy(float)
    qty = book["quantity"].to_numpy(float)
    price = book["price"].to_numpy(float)
    is_cash = book["is_cash"].to_numpy(bool)
    tradable = book["tradable"].to_numpy(bool)
    excluded = book["excluded"].to_numpy(bool) & tradable
    single = book["single_name"].to_numpy(bool) & tradable
    classes_row = book["asset_class"].astype(str).to_numpy()

    V = np.bincount(acct_codes, weights=value, minlength=n_acct)
    cash0 = np.bincount(acct_codes, weights=np.where(is_cash, value, 0.0), minlength=n_acct)
    frozen = np.bincount(
        acct_codes, weights=np.where(~tradable & ~is_cash, value, 0.0), minlength=n_acct
    )
    B = V - frozen  # the tradable book: what the model is applied to

    # The price a unit trades at: the quoted price when it agrees with value / quantity, else the
    # implied one (bonds quoted per 100 of face value, where the stated value wins).
    implied = np.where(qty > 0, value / np.where(qty > 0, qty, 1.0), 0.0)
    agrees = (price > 0) & (np.abs(price - implied) <= 0.01 * np.abs(implied))
    unit_value = np.where(agrees, price, implied)

    # ---- 1. Forced sells: exclusions and the single-name cap ---------------------------------
    forced_qty = np.where(excluded, qty, 0.0)
    cap_hit = np.zeros(n, dtype=bool)
    name_weight = np.zeros(n)
    if mandate.single_name_cap is not None:
        # The cap is on the client's whole book (the household): a name above it is trimmed in
        # every account that holds it, pro rata to what each holds.
        hh_codes = pd.factorize(book["household"])[0] if "household" in book else np.zeros(n, int)
        HV = np.bincount(hh_codes, weights=value)
        sym_codes, sym_names = pd.factorize(book["symbol"].to_numpy())
        name_key = pd.factorize(hh_codes.astype(np.int64) * len(sym_names) + sym_codes)[0]
        SV = np.bincount(name_key, weights=np.where(single & ~excluded, value, 0.0))
        cap_total = mandate.single_name_cap * HV[hh_codes]
        name_weight = SV[name_key] / np.where(HV[hh_codes] > 0, HV[hh_codes], 1.0)
        cap_hit = single & ~excluded & (SV[name_key] > cap_total + 0.005)
        share_of_name = value / np.where(SV[name_key] > 0, SV[name_key], 1.0)
        excess_val = (SV[name_key] - cap_total) * share_of_name
        unit = unit_value
        excess = np.where(cap_hit, excess_val / np.where(unit > 0, unit, 1.0), 0.0)
        forced_qty = np.where(
            cap_hit, np.minimum(_round_qty(excess, whole, up=True), qty), forced_qty
        )
    forced_val = forced_qty * unit_value
    # Closing out an excluded holding is never held back by the minimum trade size.
    small = (forced_val > 0) & (forced_val < mandate.min_trade_value) & ~excluded
    for i in np.flatnonzero(small):
        notes.append(
            f"{book['symbol'].iat[i]} in {book['account'].iat[i]}: the required sale of "
            f"${forced_val[i]:,.2f} is below the ${mandate.min_trade_value:,.0f} minimum trade"
        )
    forced_qty = np.where(small, 0.0, forced_qty)
    forced_val = np.where(small, 0.0, forced_val)

    qty_rem = qty - forced_qty
    val_rem = np.where(tradable, qty_rem * unit_value, 0.0)
    cash_f = cash0 + np.bincount(acct_codes, weights=forced_val, minlength=n_acct)

    # ---- 2. Class drift against the tolerance bands (accounts x classes) ---------------------
    model_classes = [c for c in weights if c != AssetClass.CASH.value]
    held_classes = sorted(set(classes_row[tradable & ~is_cash]) - set(model_classes))
    classes = model_classes + held_classes
    n_cls = len(classes)
    row_k = pd.Index(classes, dtype=object).get_indexer(classes_row.astype(object))
    in_class = tradable & (row_k >= 0)
    C = np.zeros((n_acct, n_cls))
    np.add.at(C, (acct_codes[in_class], row_k[in_class]), val_rem[in_class])
    # What the advisor sees today (before the forced sales), for the reasons' wording.
    C_today = np.zeros((n_acct, n_cls))
    np.add.at(C_today, (acct_codes[in_class], row_k[in_class]), value[in_class])

    w = np.array([weights.get(c, 0.0) for c in classes])
    w_cash = float(weights.get(AssetClass.CASH.value, 0.0))
    T_cash = np.maximum(w_cash * B, mandate.cash_floor * V)
    risky_total = max(1.0 - w_cash, EPS)
    T = (w / risky_total)[None, :] * np.maximum(B - T_cash, 0.0)[:, None]
    tol = np.array([band_width(x, mandate) for x in w])[None, :] * B[:, None]
    tol_cash = band_width(w_cash, mandate) * B
    floor_val = mandate.cash_floor * V

    out = np.abs(C - T) > tol + EPS * np.maximum(B, 1.0)[:, None]
    D = np.where(out, T - C, 0.0)

    # Deploy cash that sits above its band; raise cash that sits below it or below the floor.
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
    f2 = np.where(
        need > 0,
        np.minimum(1.0, need / np.where(over_total > 0, over_total, 1.0)),
        0.0,
    )
    D = D - f2[:, None] * over
    need2 = need - f2 * over_total
    buys = np.clip(D, 0.0, None)
    P = buys.sum(1)
    cut = np.clip(np.minimum(P, need2), 0.0, None)
    D = np.where(D > 0, D * (1.0 - cut / np.where(P > 0, P, 1.0))[:, None], D)

    # ---- 3. Sells within each class, pro rata to what is left of each holding ----------------
    # Holdings an ESG-only mandate would not buy are sold first; the rest of a class pro rata.
    S = np.clip(-D, 0.0, None)
    first = in_class & ~book["esg_ok"].to_numpy(bool) if mandate.esg_only else np.zeros(n, bool)
    C0 = np.zeros_like(C)
    np.add.at(C0, (acct_codes[first], row_k[first]), val_rem[first])
    S0 = np.minimum(S, C0)
    kk = np.maximum(row_k, 0)
    row_S = np.where(in_class & first, S0[acct_codes, kk], (S - S0)[acct_codes, kk])
    row_C = np.where(in_class & first, C0[acct_codes, kk], (C - C0)[acct_codes, kk])
    row_S = np.where(in_class, row_S, 0.0)
    row_C = np.where(in_class, row_C, 0.0)
    share = np.where(row_C > 0, val_rem / np.where(row_C > 0, row_C, 1.0), 0.0)
    disc_val = row_S * share
    disc_qty = np.where(unit_value > 0, disc_val / np.where(unit_value > 0, unit_value, 1.0), 0.0)
    # Round to the nearest unit, but upward where the account must raise cash for its floor.
    raising = (f2 > 0)[acct_codes]
    nearest = np.round(disc_qty) if whole else np.round(disc_qty, 6)
    disc_qty = np.minimum(np.where(raising, _round_qty(disc_qty, whole, up=True), nearest), qty_rem)
    sell_qty = forced_qty + np.where(in_class, disc_qty, 0.0)

    realized = np.full(n, np.nan)
    short_term = np.full(n, np.nan)
    if lots_of is not None:
        pos_idx = book["pos"].to_numpy() if "pos" in book else np.arange(n)
        for i in np.flatnonzero(sell_qty > 0):
            lots = lots_of(int(pos_idx[i]))
            if not lots:
                continue
            sale = sell_from_lots(
                lots,
                float(sell_qty[i]),
                float(unit_value[i]),
                as_of,
                tax_aware=mandate.tax_aware,
                forced=float(forced_qty[i]),
                whole=whole,
            )
            if sale.quantity < sell_qty[i] - 1e-9:
                notes.append(
                    f"{book['symbol'].iat[i]} in {book['account'].iat[i]}: sale limited to "
                    f"{sale.quantity:g} of {sell_qty[i]:g} units to avoid short-term gains"
                )
            sell_qty[i] = sale.quantity
            if sale.realized_gain is not None:
                realized[i] = sale.realized_gain
                short_term[i] = sale.short_term_gain

    sell_val = sell_qty * unit_value
    tiny = (sell_val > 0) & (sell_val < mandate.min_trade_value) & (forced_qty == 0)
    sell_qty = np.where(tiny, 0.0, sell_qty)
    sell_val = np.where(tiny, 0.0, sell_val)

    # ---- 4. Buys: into a fund the account already holds in the class, else the model vehicle -
    cash_s = cash0 + np.bincount(acct_codes, weights=sell_val, minlength=n_acct)
    # Trades carry values rounded to the cent; keep half a cent per possible trade in hand so the
    # rounded buys still fit the cash the gate will count.
    n_sells = np.bincount(acct_codes, weights=(sell_qty > 0).astype(float), minlength=n_acct)
    budget = np.maximum(cash_s - floor_val - 0.005 * (n_sells + n_cls), 0.0)
    want = np.clip(D, 0.0, None)
    W = want.sum(1)
    scale = np.where(budget < W, budget / np.where(W > 0, W, 1.0), 1.0)
    want = want * scale[:, None]

    eligible = (
        tradable
        & book["is_fund"].to_numpy(bool)
        & ~book["excluded"].to_numpy(bool)
        & (sell_qty == 0)
        & (row_k >= 0)
    )
    if mandate.esg_only:
        eligible &= book["esg_ok"].to_numpy(bool)
    held = (
        pd.DataFrame(
            {
                "a": acct_codes[eligible],
                "k": row_k[eligible],
                "row": np.flatnonzero(eligible),
                "value": value[eligible],
            }
        )
        .sort_values(["a", "k", "value"], ascending=[True, True, False])
        .drop_duplicates(["a", "k"])
    )
    held_row = np.full((n_acct, n_cls), -1, dtype=np.int64)
    held_row[held["a"].to_numpy(), held["k"].to_numpy()] = held["row"].to_numpy()

    buy_a, buy_k = np.nonzero(want > EPS)
    sym_col = book["symbol"].to_numpy(dtype=object)
    bv = want[buy_a, buy_k]
    hr = held_row[buy_a, buy_k]
    # The model vehicle (and its reference price) per class, for accounts holding no fund there.
    model_sym = np.full(n_cls, None, dtype=object)
    model_price = np.full(n_cls, np.nan)
    for k in np.unique(buy_k[hr < 0]):
        cls = classes[k]
        sym = vehicles.get(cls)
        p = float(ref.at[sym, "price"]) if sym and sym in ref.index else float("nan")
        if not sym or not np.isfinite(p) or p <= 0:
            notes.append(f"No vehicle with a reference price to buy {_label(cls)}; not bought")
        else:
            model_sym[k], model_price[k] = sym, p
    b_price = np.where(hr >= 0, unit_value[np.maximum(hr, 0)], model_price[buy_k])
    b_sym = np.where(hr >= 0, sym_col[np.maximum(hr, 0)], model_sym[buy_k])
    ok = np.isfinite(b_price) & (b_price > 0)
    b_qty = np.where(ok, _round_qty(bv / np.where(ok, b_price, 1.0), whole, up=False), 0.0)
    b_val = b_qty * np.where(ok, b_price, 0.0)
    if whole and len(b_qty):
        # Whole-share rounding leaves cash behind; spend it one share at a time on the buys
        # furthest from their aim, never beyond the budget or the buys' total shortfall.
        short = np.where(ok, bv - b_val, 0.0)
        spent = np.bincount(buy_a, weights=b_val, minlength=n_acct)
        room = np.minimum(budget - spent, np.bincount(buy_a, weights=short, minlength=n_acct))
        order = np.lexsort((-short, buy_a))
        step = np.where(ok, b_price, np.inf)[order]
        cum = pd.Series(step).groupby(buy_a[order]).cumsum().to_numpy()
        extra = np.zeros(len(b_qty))
        extra[order] = ((cum <= room[buy_a[order]] + 1e-9) & np.isfinite(step)).astype(float)
        b_qty = b_qty + extra
        b_val = b_qty * np.where(ok, b_price, 0.0)
    keep = (b_qty > 0) & (b_val >= mandate.min_trade_value)

    # Sells that only funded buys which did not survive (tiny accounts) would just park the
    # money in cash: drop them unless the account must raise cash anyway.
    wanted = np.bincount(buy_a, minlength=n_acct) > 0
    funded = np.bincount(buy_a[keep], minlength=n_acct) > 0
    orphan = (wanted & ~funded & (need <= 0))[acct_codes] & (sell_qty > forced_qty)
    if orphan.any():
        sell_qty = np.where(orphan, forced_qty, sell_qty)
        sell_val = sell_qty * unit_value
        realized = np.where(orphan, np.nan, realized)  # the lots walked were for the larger sale
        short_term = np.where(orphan, np.nan, short_term)

    # ---- 5. Reasons and the trade frame -------------------------------------------------------
    # Built column-wise; reason text is formatted once per distinct (account, class) cell.
    tgt_w = np.where(B[:, None] > 0, T / np.where(B > 0, B, 1.0)[:, None], 0.0)
    cur_w = np.where(B[:, None] > 0, C_today / np.where(B > 0, B, 1.0)[:, None], 0.0)
    # Buys are sized after the forced sales; say so where those changed the picture.
    post_w = np.where(B[:, None] > 0, C / np.where(B > 0, B, 1.0)[:, None], 0.0)
    tol_w = np.array([band_width(x, mandate) for x in w])
    labels = [_label(c) for c in classes]

    def class_reasons(a: np.ndarray, k: np.ndarray, action: str) -> np.ndarray:
        if len(a) == 0:
            return np.empty(0, dtype=object)
        cells, inv = np.unique(a * n_cls + k, return_inverse=True)
        ua, uk = cells // n_cls, cells % n_cls
        weights_now = (post_w if action == "BUY" else cur_w)[ua, uk]
        changed = np.abs(post_w[ua, uk] - cur_w[ua, uk]) > 1e-6 if action == "BUY" else None
        texts = [
            _class_reason(labels[kk], cw, tw, tl, o, action, bool(ch))
            for kk, cw, tw, tl, o, ch in zip(
                uk.tolist(),
                weights_now.tolist(),
                tgt_w[ua, uk].tolist(),
                tol_w[uk].tolist(),
                out[ua, uk].tolist(),
                changed.tolist() if changed is not None else [False] * len(uk),
                strict=True,
            )
        ]
        return np.array(texts, dtype=object)[inv.ravel()]

    acct_names = np.asarray(accounts, dtype=object)
    s_idx = np.flatnonzero(sell_qty > 0)
    s_a = acct_codes[s_idx]
    s_k = np.maximum(row_k[s_idx], 0)
    s_excl = excluded[s_idx]
    s_cap = cap_hit[s_idx] & ~s_excl
    s_reason = np.empty(len(s_idx), dtype=object)
    plain = ~s_excl & ~s_cap
    s_reason[plain] = class_reasons(s_a[plain], s_k[plain], "SELL")
    if s_excl.any():
        by = "the ESG mandate" if mandate.esg_only else "the client's exclusions"
        cats = book["exclusion"].to_numpy(dtype=object)[s_idx[s_excl]]
        syms = sym_col[s_idx[s_excl]]
        s_reason[s_excl] = [
            f"Sell all: {sym} is on the client's exclusion list"
            if cat == "excluded_symbol"
            else f"Sell all: {str(cat).replace('_', ' ')} is excluded by {by}"
            for sym, cat in zip(syms.tolist(), cats.tolist(), strict=True)
        ]
    if s_cap.any():
        cap = mandate.single_name_cap or 0.0
        was = name_weight[s_idx[s_cap]]
        trim = np.array(
            [f"Trim to the {cap:.1%} single-name cap (was {x:.1%} of the portfolio)" for x in was],
            dtype=object,
        )
        also = (disc_qty[s_idx[s_cap]] > 0) & (row_k[s_idx[s_cap]] >= 0)
        if also.any():
            extra = class_reasons(s_a[s_cap][also], s_k[s_cap][also], "SELL")
            trim[also] = trim[also] + "; " + extra
        s_reason[s_cap] = trim

    b_idx = np.flatnonzero(keep)
    b_a, b_k = buy_a[b_idx], buy_k[b_idx]
    classes_arr = np.asarray(classes, dtype=object)
    n_s, n_b = len(s_idx), len(b_idx)
    trades = pd.DataFrame(
        {
            "account": np.concatenate([acct_names[s_a], acct_names[b_a]]),
            "symbol": np.concatenate([sym_col[s_idx], b_sym[b_idx]]),
            "action": np.array(["SELL"] * n_s + ["BUY"] * n_b, dtype=object),
            "quantity": np.concatenate([sell_qty[s_idx], b_qty[b_idx]]),
            "price": np.concatenate([unit_value[s_idx], b_price[b_idx]]),
            "value": np.concatenate([sell_val[s_idx], b_val[b_idx]]),
            "asset_class": np.concatenate([classes_row[s_idx].astype(object), classes_arr[b_k]]),
            "reason": np.concatenate([s_reason, class_reasons(b_a, b_k, "BUY")]),
            "row": np.concatenate([s_idx, hr[b_idx]]).astype(np.int64),
            "realized_gain": np.concatenate([realized[s_idx], np.full(n_b, np.nan)]),
            "short_term_gain": np.concatenate([short_term[s_idx], np.full(n_b, np.nan)]),
        },
        columns=TRADE_COLUMNS,
    )
    targets = {c: float(T[:, k].sum()) for k, c in enumerate(classes)}
    targets[AssetClass.CASH.value] = float(T_cash.sum())
    return Plan(trades, notes, targets)


def buy_vehicles(
    model: ModelPortfolio, mandate: ClientMandate, securities: SecurityMaster
) -> dict[str, str]:
    """The fund to buy per asset class: the ESG one under an ESG mandate, never an excluded one."""
    out: dict[str, str] = {}
    screened = mandate.screened_categories
    for s in model.sleeves:
        options = [s.esg_vehicle, s.vehicle] if mandate.esg_only else [s.vehicle, s.esg_vehicle]
        for sym in options:
            if sym in mandate.excluded_symbols or securities.flags(sym) & screened:
                continue
            if mandate.esg_only and not esg_eligible(sym, securities):
                continue
            out[s.asset_class] = sym
            break
    return out
