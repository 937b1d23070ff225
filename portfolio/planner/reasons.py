"""Reasons: one sentence per trade, formatted once per distinct (unit, class) cell."""

from __future__ import annotations

import numpy as np
import pandas as pd

from portfolio.labels import class_label
from portfolio.planner.buys import Buys
from portfolio.planner.drift import Drift
from portfolio.planner.forced import Forced
from portfolio.planner.locate import home_of, location_ranks
from portfolio.planner.offset import Offset
from portfolio.planner.sells import Sells
from portfolio.planner.state import EPS, TYPE_NAMES, HouseholdState

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
    "forced",
    "wash_disallowed",
    "lots",
    "wash_deferred",
]
_TYPE_WORDS = {"taxable": "taxable", "tax_deferred": "tax-deferred", "tax_free": "tax-free"}


def _class_reason(
    cls: str,
    cw: float,
    tw: float,
    tol: float,
    out: bool,
    action: str,
    after: bool,
    scope: str,
) -> str:
    if out:
        side = "above" if cw > tw else "below"
        when = " after the required sales" if after else ""
        return (
            f"{cls} is {cw:.1%} of the {scope}{when}, {side} its {tw:.1%} target by more "
            f"than the ±{tol:.1%} band"
        )
    if action == "BUY":
        return f"Invest cash above the cash target in {cls} ({cw:.1%} against {tw:.1%} target)"
    return f"Raise cash to its target from {cls} ({cw:.1%} against {tw:.1%} target)"


def _obj(parts: list[np.ndarray]) -> pd.Series:
    """Text columns stay object arrays: converting them to pandas' string type is slow."""
    return pd.Series(np.concatenate(parts).astype(object), dtype=object)


def trade_frame(
    s: HouseholdState,
    forced: Forced,
    drift: Drift,
    sells: Sells,
    buys: Buys,
    offset: Offset | None = None,
) -> pd.DataFrame:
    m = s.mandate
    offset = offset or Offset.none(s)
    B = drift.B
    safe_B = np.where(B > 0, B, 1.0)[:, None]
    tgt_w = np.where(B[:, None] > 0, drift.T / safe_B, 0.0)
    cur_w = np.where(B[:, None] > 0, drift.C_today / safe_B, 0.0)
    post_w = np.where(B[:, None] > 0, drift.C / safe_B, 0.0)
    labels = [class_label(c) for c in s.classes]
    n_cls = max(s.n_cls, 1)
    multi = s.accounts_in_unit > 1

    def class_reasons(u: np.ndarray, k: np.ndarray, action: str) -> np.ndarray:
        if len(u) == 0:
            return np.empty(0, dtype=object)
        cells, inv = np.unique(u * n_cls + k, return_inverse=True)
        uu, uk = cells // n_cls, cells % n_cls
        now = (post_w if action == "BUY" else cur_w)[uu, uk]
        changed = np.abs(post_w[uu, uk] - cur_w[uu, uk]) > 1e-6
        texts = [
            _class_reason(labels[kk], cw, tw, tl, o, action, bool(ch) and action == "BUY", sc)
            for kk, cw, tw, tl, o, ch, sc in zip(
                uk.tolist(),
                now.tolist(),
                tgt_w[uu, uk].tolist(),
                drift.tol_w[uk].tolist(),
                drift.out[uu, uk].tolist(),
                changed.tolist(),
                ["household" if multi[x] else "account" for x in uu.tolist()],
                strict=True,
            )
        ]
        return np.array(texts, dtype=object)[inv.ravel()]

    sell_qty = buys.sell_qty
    cash_sell = buys.cash_sell_qty
    unit = s.unit
    s_idx = np.flatnonzero(sell_qty > 0)
    s_u = unit[s_idx]
    s_k = np.maximum(s.row_k[s_idx], 0)
    s_excl = s.excluded[s_idx]
    s_cap = forced.cap_hit[s_idx] & ~s_excl
    s_reason = np.empty(len(s_idx), dtype=object)
    req_qty = forced.request_qty if forced.request_qty is not None else np.zeros(s.n)
    s_req = (req_qty[s_idx] > 0) & ~s_excl & ~s_cap
    plain = ~s_excl & ~s_cap & ~s_req
    s_reason[plain] = class_reasons(s_u[plain], s_k[plain], "SELL")
    if s_req.any():
        ask = np.array(
            [
                f"Raise cash for the withdrawal requested from {a}"
                for a in s.accounts[s.acct[s_idx[s_req]]].tolist()
            ],
            dtype=object,
        )
        also = (sells.disc_qty[s_idx[s_req]] > 0) & (s.row_k[s_idx[s_req]] >= 0)
        if also.any():
            extra = class_reasons(s_u[s_req][also], s_k[s_req][also], "SELL")
            ask[also] = ask[also] + "; " + extra
        s_reason[s_req] = ask
    if s_excl.any():
        by = "the ESG mandate" if m.esg_only else "the client's exclusions"
        cats = s.exclusion[s_idx[s_excl]]
        syms = s.symbol[s_idx[s_excl]]
        s_reason[s_excl] = [
            f"Sell all: {sym} is on the client's exclusion list"
            if cat == "excluded_symbol"
            else f"Sell all: {str(cat).replace('_', ' ')} is excluded by {by}"
            for sym, cat in zip(syms.tolist(), cats.tolist(), strict=True)
        ]
    if s_cap.any():
        cap = m.single_name_cap or 0.0
        was = forced.name_weight[s_idx[s_cap]]
        trim = np.array(
            [f"Trim to the {cap:.1%} single-name cap (was {x:.1%} of the portfolio)" for x in was],
            dtype=object,
        )
        also = (sells.disc_qty[s_idx[s_cap]] > 0) & (s.row_k[s_idx[s_cap]] >= 0)
        if also.any():
            extra = class_reasons(s_u[s_cap][also], s_k[s_cap][also], "SELL")
            trim[also] = trim[also] + "; " + extra
        s_reason[s_cap] = trim
    # Where a household sells: say why this account (tax-advantaged first, cheapest lots).
    if len(s_idx):
        tax_words = np.array([_TYPE_WORDS[t] for t in TYPE_NAMES], dtype=object)
        where = tax_words[s.acct_type[s.acct[s_idx]]]
        mine = plain | s_req
        mask = mine & multi[s_u] & (s.acct_type[s.acct[s_idx]] != 0)
        s_reason[mask] = s_reason[mask] + "; sold in a " + where[mask] + " account: no tax"
        # Harvested for the offset: a sale of its own, or more of a sale the drift asked for.
        harvested = offset.qty[s_idx] > 0
        alone = harvested & (sells.qty[s_idx] - offset.qty[s_idx] <= 1e-9) & plain
        loss = mine & (np.nan_to_num(sells.realized[s_idx]) < 0) & ~alone
        s_reason[loss] = s_reason[loss] + "; realises a loss"
        if harvested.any():
            text = np.array(
                [
                    f"a ${x:,.0f} loss harvested to offset the gains this proposal realises; "
                    f"{labels[k]} is bought back through a fund that is not substantially "
                    "identical"
                    for x, k in zip(
                        offset.loss[s_idx[harvested]].tolist(),
                        s_k[harvested].tolist(),
                        strict=True,
                    )
                ],
                dtype=object,
            )
            mixed = harvested & ~alone
            s_reason[alone] = "Sell: " + text[alone[harvested]]
            s_reason[mixed] = s_reason[mixed] + "; with " + text[mixed[harvested]]

    c_idx = np.flatnonzero(cash_sell > 0)
    c_reason = np.array(
        [
            f"Raise cash for the buys in {s.accounts[s.acct[i]]}: {s.symbol[i]} is a cash-class "
            "holding, not swept cash"
            for i in c_idx
        ],
        dtype=object,
    )

    b_a, b_k = buys.acct, buys.k
    b_u = s.unit_of_acct[b_a]
    b_reason = class_reasons(b_u, b_k, "BUY")
    if len(b_a):
        back = offset.buyback[b_u, b_k]
        # Cells the drift did not ask to buy: the whole buy replaces a harvested sale.
        only = (back > 0) & (drift.D[b_u, b_k] <= EPS)
        b_reason[only] = np.array(
            [
                f"Buy back {labels[k]} sold to harvest a loss, keeping the allocation on plan"
                for k in b_k[only]
            ],
            dtype=object,
        )
        part = (back > 0) & ~only
        b_reason[part] = b_reason[part] + "; includes buying back a harvested sale"

        ranks = location_ranks(s.classes)
        best = ranks[s.acct_type[b_a], b_k] == ranks[:, b_k].min(axis=0)
        here = multi[b_u] & best
        b_reason[here] = b_reason[here] + np.array(
            [
                f"; held in the {_TYPE_WORDS[home_of(s.classes[k])]} account, where it is taxed "
                "least"
                for k in b_k[here]
            ],
            dtype=object,
        )
        rep = buys.replaced != ""
        b_reason[rep] = b_reason[rep] + np.array(
            [
                f"; bought instead of {r}, sold at a loss in this proposal (wash-sale rule)"
                for r in buys.replaced[rep]
            ],
            dtype=object,
        )

    classes_arr = np.asarray(s.classes, dtype=object)
    n_s, n_c, n_b = len(s_idx), len(c_idx), len(b_a)
    realized = sells.realized
    short = sells.short_term
    # Settled like any taxable sale: the lots walked, else unknown; nothing outside taxable.
    c_real = np.where(s.taxable_row[c_idx], realized[c_idx], 0.0)
    c_short = np.where(s.taxable_row[c_idx], short[c_idx], 0.0)
    frame = pd.DataFrame(
        {
            "account": _obj(
                [s.accounts[s.acct[s_idx]], s.accounts[s.acct[c_idx]], s.accounts[b_a]]
            ),
            "symbol": _obj([s.symbol[s_idx], s.symbol[c_idx], buys.symbol]),
            "action": _obj([np.array(["SELL"] * (n_s + n_c) + ["BUY"] * n_b, dtype=object)]),
            "quantity": np.concatenate([sell_qty[s_idx], cash_sell[c_idx], buys.qty]),
            "price": np.concatenate([s.unit_value[s_idx], s.unit_value[c_idx], buys.price]),
            "value": np.concatenate(
                [
                    sell_qty[s_idx] * s.unit_value[s_idx],
                    cash_sell[c_idx] * s.unit_value[c_idx],
                    buys.qty * buys.price,
                ]
            ),
            "asset_class": _obj(
                [
                    s.cls_row[s_idx].astype(object),
                    s.cls_row[c_idx].astype(object),
                    classes_arr[b_k],
                ]
            ),
            "reason": _obj([s_reason, c_reason, b_reason]),
            "row": np.concatenate([s_idx, c_idx, buys.row]).astype(np.int64),
            "realized_gain": np.concatenate([realized[s_idx], c_real, np.full(n_b, np.nan)]),
            "short_term_gain": np.concatenate([short[s_idx], c_short, np.full(n_b, np.nan)]),
            # A rule's sale (exclusion, cap), not one made for a withdrawal.
            "forced": np.concatenate(
                [forced.qty[s_idx] - req_qty[s_idx] > 1e-9, np.zeros(n_c + n_b, dtype=bool)]
            ),
        },
        columns=TRADE_COLUMNS,
    )
    return frame
