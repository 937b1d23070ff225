"""Sells: where each class's reduction comes from, and which tax lots it takes.

Sales come from where they cost least: taxable lots at a loss first (the loss offsets the
household's gains), then tax-advantaged accounts (no tax; among them where the class is worst
located), then taxable gains ordered by their unrealised gain (long-term gains first; holdings
whose gains are all short-term last). A taxable holding's lots without a gain and its gain lots
take those two places apart, whether the holding is at a loss or a gain overall (`_lot_split`).
A loss that recent purchases elsewhere would mostly wash sells after them all. Sales that realise
taxable gains stop at 90% of the band's edge instead of going on to target. Short-term gains
are realised only where no other sale brings a class inside its band, and only that far. Holdings
an ESG-only mandate would not buy go before the rest of their class. Holdings that tie share a
sale pro rata.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date

import numpy as np

from portfolio.compensated import running_sums
from portfolio.labels import class_label
from portfolio.lots import LotSale, has_gain, is_long_term, long_term_from, sell_from_lots
from portfolio.models import Lot
from portfolio.planner.drift import Drift
from portfolio.planner.forced import Forced
from portfolio.planner.locate import location_ranks
from portfolio.planner.lookback import Lookback
from portfolio.planner.state import EPS, HouseholdState, round_qty, segment_rank

# Share of a class's band a sale that realises taxable gains leaves in place: the class ends
# inside its band (with room for whole-share rounding) rather than at target.
GAIN_EDGE = 0.9
# Short-term gain lots that turn long-term within this many days are not sold to reach a band:
# the class waits a few weeks out of band rather than pay the short-term rate (ordinary income,
# IRS Publication 550) on a gain that is long-term at the month's end. A desk policy, not a rule.
LONG_TERM_WAIT_DAYS = 30
# Sort-key shifts: taxable losses before tax-advantaged sales (keys near -5), and holdings an
# ESG-only mandate would not buy before everything else.
LOSS_FIRST = -10.0
ESG_FIRST = -100.0
WASHED_LAST = 1.5  # after taxable gains (keys up to 1), before all-short-term holdings (+2)


@dataclass(frozen=True)
class Sells:
    qty: np.ndarray  # per row: forced + discretionary units sold
    disc_qty: np.ndarray
    realized: np.ndarray  # nan when unknown; 0 outside taxable accounts
    short_term: np.ndarray
    loss_lots: dict[int, tuple]  # row -> lots a taxable loss was taken from
    held_back: np.ndarray  # per unit: discretionary gains the budget kept from being realised
    notes: list[str]
    picks: dict[int, tuple] = field(default_factory=dict)  # row -> every lot a sale walks


@dataclass(frozen=True)
class LotCosts:
    """A taxable holding's lots by what selling them costs, read once per row: the walk
    (`portfolio.lots.walk_order`) takes the lots without a gain before any gain lot."""

    free_value: float  # lots without a gain (at a loss or at cost), at today's price
    free_ratio: float  # their (value - cost) / value: <= 0
    loss_units: float  # units of lots at a loss
    gain_value: float
    gain_ratio: float  # the gain lots' (value - cost) / value
    gain_short_only: bool  # there are gain lots, and every one is short-term

    @property
    def all_short_term_gain(self) -> bool:
        return self.free_value <= EPS and self.gain_short_only


def lot_costs(
    s: HouseholdState, i: int, memo: dict[int, LotCosts | None] | None = None
) -> LotCosts | None:
    """Row `i`'s lots by cost; `memo` keeps each row's for the rest of one plan's sell stage."""
    if memo is not None:
        if i not in memo:
            memo[i] = lot_costs(s, i)
        return memo[i]
    lots = _lots_or_whole(s, i)
    price = float(s.unit_value[i])
    if not lots or price <= 0:
        return None
    free_v = free_cost = loss_units = gain_v = gain_cost = 0.0
    short_only = True
    for lt in lots:
        value = lt.quantity * price
        if has_gain(lt, price):
            gain_v += value
            gain_cost += lt.cost_basis or 0.0
            short_only &= lt.acquired is not None and not is_long_term(lt.acquired, s.as_of)
        else:
            free_v += value
            free_cost += value if lt.cost_basis is None else lt.cost_basis
            if lt.cost_basis is not None and lt.cost_basis > value:
                loss_units += lt.quantity
    return LotCosts(
        free_value=free_v,
        free_ratio=(free_v - free_cost) / free_v if free_v > EPS else 0.0,
        loss_units=loss_units,
        gain_value=gain_v,
        gain_ratio=(gain_v - gain_cost) / gain_v if gain_v > EPS else 0.0,
        gain_short_only=gain_v > EPS and short_only,
    )


def _unwashed_share(lookback: Lookback, i: int, loss_units: float) -> float:
    """Share of row `i`'s loss units a full sale would still realise, once the recent purchases
    in the client's other holdings of the group have replaced what they can; 0 when no more
    of it would be realised than lost for good in an IRA."""
    if loss_units <= EPS:
        return 0.0
    taxable, ira = lookback.replacing_units(i)
    matched = min(loss_units, taxable + ira)
    kept, lost = loss_units - matched, min(matched, ira)
    return kept / loss_units if kept > lost else 0.0


def sell_keys(
    s: HouseholdState,
    *,
    losses_first: bool = True,
    lookback: Lookback | None = None,
    memo: dict[int, LotCosts | None] | None = None,
) -> np.ndarray:
    """Lower sells first: taxable losses (they offset gains), tax-advantaged accounts, then
    taxable by unrealised gain; under an ESG-only mandate, holdings it would not buy before all.
    `losses_first=False` keeps taxable holdings in gain order only (a withdrawal, which compares
    them with lots of the same account)."""
    taxable = s.taxable_row
    ranks = location_ranks(s.classes)
    k = np.maximum(s.row_k, 0)
    misfit = ranks[s.acct_type[s.acct], k] if s.n_cls else np.zeros(s.n, int)
    key = np.where(taxable, 0.5, -5.0 - 0.1 * misfit)
    known = taxable & np.isfinite(s.basis) & (s.value > 0)
    ratio = np.clip(
        (s.value - np.where(known, s.basis, 0.0)) / np.where(known, s.value, 1.0), -1, 1
    )
    key = np.where(known, np.round(ratio, 3), key)
    # A taxable loss is worth more than a tax-free sale: it offsets the household's gains.
    if losses_first:
        loss = known & (ratio < 0) & s.mandate.tax_aware
        lookback = lookback or Lookback.of(s)
        washed = lookback.washed_elsewhere(loss)
        key = np.where(loss & ~washed, key + LOSS_FIRST, key)
        # A loss that recent purchases in other holdings would wash is disallowed (and lost for
        # good where they are in an IRA): such a holding sells after every other one, unless
        # more of its loss would be harvested than lost, when it still goes first by the part
        # that stays.
        for i in np.flatnonzero(washed):
            costs = lot_costs(s, int(i), memo)
            kept = _unwashed_share(lookback, int(i), costs.loss_units if costs else 0.0)
            key[i] = ratio[i] * kept + LOSS_FIRST if kept > 0 else WASHED_LAST
    if s.lots_of is not None and s.mandate.tax_aware:
        for i in np.flatnonzero(taxable & s.tradable):
            if s.lots(i) and (costs := lot_costs(s, int(i), memo)) and costs.all_short_term_gain:
                key[i] += 2.0
    if s.mandate.esg_only:
        key = np.where(s.esg_ok, key, key + ESG_FIRST)
    return key


def blended_sales(s: HouseholdState, drift: Drift) -> tuple[np.ndarray, Drift]:
    """Sales of blended funds (look-through), and the drift they leave for the other holdings.

    Selling $S of a fund holding w_k in class k moves every one of its classes by S x w_k. A
    fund is sold enough to bring its most over-target class back (never more than is held);
    classes it then leaves under target are bought back through single-class funds.
    """
    out = np.zeros(s.n)
    live = ~s.excluded[s.blend_row]
    p_row, p_k, p_w = s.blend_row[live], s.blend_k[live], s.blend_w[live]
    if not len(p_row):
        return out, drift
    D = drift.D.copy()
    unit = s.unit
    rows = np.unique(p_row)
    rows = rows[np.argsort(unit[rows], kind="stable")]
    rank_of = np.zeros(s.n, dtype=np.int64)
    rank_of[rows] = segment_rank(unit[rows])
    # One blended fund per unit at a time: a unit's second fund sees what the first left.
    for r in range(int(rank_of[rows].max()) + 1):
        sel = rank_of[p_row] == r
        pr, pk, pw = p_row[sel], p_k[sel], p_w[sel]
        pu = unit[pr]
        d = D[pu, pk]
        need = np.where((d < 0) & (pw > 0), -d / np.where(pw > 0, pw, 1.0), 0.0)
        row_need = np.zeros(s.n)
        np.maximum.at(row_need, pr, need)
        sale = np.minimum(row_need, drift.val_rem)
        out += np.where(rank_of == r, sale, 0.0) * (sale > 0)
        np.add.at(D, (pu, pk), sale[pr] * pw)
    return out, replace(drift, D=D)


def source_sales(
    s: HouseholdState,
    drift: Drift,
    keys: np.ndarray,
    lookback: Lookback,
    memo: dict[int, LotCosts | None] | None = None,
) -> np.ndarray:
    """Value to sell per row so each unit's classes shrink by what the drift asks.

    A taxable holding's lots without a gain sell at a loss's place in the order and its gain
    lots with the other gains (`_lot_split`)."""
    R = np.clip(-drift.D, 0.0, None)
    unit = s.unit
    k = np.maximum(s.row_k, 0)
    cand = drift.in_class & (R[unit, k] > EPS) & (drift.val_rem > 0) & ~s.blended
    out = np.zeros(s.n)
    if not cand.any():
        return out
    idx = np.flatnonzero(cand)
    key = keys[idx]
    v = drift.val_rem[idx]
    # Holdings whose sale realises a known taxable gain (tax-aware planning only).
    gain = (s.taxable_row & np.isfinite(s.basis) & (s.value > s.basis) & s.mandate.tax_aware)[idx]
    row = idx
    split = _lot_split(s, idx, key, v, lookback, memo)
    if split:
        at, loss_v, first_key, rest_key = (np.array(x) for x in zip(*split, strict=True))
        row = np.r_[idx, idx[at]]
        key[at] = first_key
        key = np.r_[key, rest_key]
        gain = np.r_[gain, np.ones(len(at), dtype=bool)]
        gain[at] = False
        v = np.r_[v, v[at] - loss_v]
        v[at] = loss_v
    # Places in the order: rows of one unit and class with one key and gain flag sell as one.
    # Sorted with numpy, not grouped in a frame: a household's few rows paid a frame's fixed
    # costs several times over.
    u_r, k_r = unit[row], k[row]
    # A row without a key has no place in the order and sells nothing (as a frame's groups
    # leave it out).
    keyed = np.flatnonzero(~np.isnan(key))
    order = keyed[np.lexsort((gain[keyed], key[keyed], k_r[keyed], u_r[keyed]))]  # stable
    if not len(order):
        return out
    su, sk, skey, sgain = u_r[order], k_r[order], key[order], gain[order]
    starts = np.r_[
        True,
        (su[1:] != su[:-1])
        | (sk[1:] != sk[:-1])
        | (skey[1:] != skey[:-1])
        | (sgain[1:] != sgain[:-1]),
    ]
    first = np.flatnonzero(starts)
    group_v = _group_sums(v[order], starts)
    u_, k_, g_gain = su[first], sk[first], sgain[first]
    # What the places before each one in its unit and class sell first: a running sum started
    # afresh in each (not a difference of one running sum, which loses cents on a whole book).
    opens = np.r_[True, (u_[1:] != u_[:-1]) | (k_[1:] != k_[:-1])]
    before = running_sums(group_v, opens) - group_v
    want = R[u_, k_]
    # Gains are realised only as far as the band needs: sales that cost nothing (tax-advantaged
    # accounts, losses, holdings at cost) go on to target, taxable gains stop inside the band
    # (unless the cash floor must be raised; the cash band alone does not realise gains).
    gainful = g_gain & ~drift.reach[k_] & ~drift.floor_short[u_]
    edge = GAIN_EDGE * drift.tol_w[k_] * drift.B[u_]
    want = np.where(gainful, np.maximum(want - edge, 0.0), want)
    take = np.clip(want - before, 0.0, group_v)
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = take / group_v
    share = np.zeros(len(row))
    share[order] = frac[np.cumsum(starts) - 1]
    np.add.at(out, row, np.nan_to_num(share) * v)
    return out


def _group_sums(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Sums of consecutive runs (a run begins where `starts` is true; the first always does)."""
    running = running_sums(values, starts)
    ends = np.r_[np.flatnonzero(starts)[1:] - 1, len(values) - 1] if len(values) else []
    return running[ends]


def _lot_split(
    s: HouseholdState,
    idx: np.ndarray,
    key: np.ndarray,
    val: np.ndarray,
    lookback: Lookback,
    memo: dict[int, LotCosts | None] | None = None,
) -> list[tuple[int, float, float, float]]:
    """Taxable holdings whose lots cost differently to sell, split in two places of the order:
    (position in `idx`, value of the lots without a gain, their key, the gain lots' key).

    - A holding sold for its loss that also holds gain lots offers only the lots without a gain
      at the loss's place; its gain lots queue with the other gains.
    - A holding at a gain overall that holds lots at a loss offers those first, as a loss
      holding would (unless recent purchases elsewhere would wash more of the loss than they
      leave); its gain lots keep their place among the gains, by their own gain.
    The walk takes the lots without a gain first, forced units included, so the part of the
    sale at the first place is what those lots are worth after the forced units."""
    out: list[tuple[int, float, float, float]] = []
    if s.lots_of is None or not s.mandate.tax_aware:
        return out
    at_loss = (key < LOSS_FIRST + 0.5) & (key > ESG_FIRST / 2)
    at_gain = (key >= 0) & (key < WASHED_LAST) & s.taxable_row[idx]
    for j in np.flatnonzero(at_loss | at_gain):
        i = int(idx[j])
        # One lot is all gain or all loss: nothing to split. A lot of unknown cost is walked
        # after the gain lots, so nothing says what the first part would realise.
        lots = s.lots(i)
        if len(lots) < 2 or any(lt.cost_basis is None for lt in lots):
            continue
        costs = lot_costs(s, i, memo)
        if costs is None or costs.gain_value <= EPS or costs.loss_units <= EPS:
            continue
        kept = _unwashed_share(lookback, i, costs.loss_units) if lookback.washes(i) else 1.0
        if kept <= 0:
            continue
        # Both kinds of holding on one scale: the loss of the lots sold first, the part of it
        # that stays.
        first = LOSS_FIRST + round(costs.free_ratio, 3) * kept
        rest = round(costs.gain_ratio, 3) + (2.0 if costs.gain_short_only else 0.0)
        out.append((int(j), max(float(val[j]) - costs.gain_value, 0.0), first, rest))
    return out


def plan_sells(
    s: HouseholdState,
    forced: Forced,
    drift: Drift,
    max_gains: float | None,
    lookback: Lookback | None = None,
) -> tuple[Sells, Drift]:
    """The sales, and the drift the buys must close (blended-fund sales change it)."""
    m = s.mandate
    notes: list[str] = []
    blend_val, drift = blended_sales(s, drift)
    lookback = lookback or Lookback.of(s)
    memo: dict[int, LotCosts | None] = {}  # each row's lots read once
    keys = sell_keys(s, lookback=lookback, memo=memo)  # the order every sale below follows
    disc_val = source_sales(s, drift, keys, lookback, memo) + blend_val
    uv = s.unit_value
    disc_qty = np.where(uv > 0, disc_val / np.where(uv > 0, uv, 1.0), 0.0)
    # Round to the nearest unit, but upward where the unit must raise cash for its floor.
    raising = drift.raising[s.unit]
    nearest = np.round(disc_qty) if s.whole else np.round(disc_qty, 6)
    disc_qty = np.minimum(
        np.where(raising, round_qty(disc_qty, s.whole, up=True), nearest), drift.qty_rem
    )
    disc_qty = np.where(drift.in_class, disc_qty, 0.0)
    sell_qty = forced.qty + disc_qty

    realized = np.full(s.n, np.nan)
    short_term = np.full(s.n, np.nan)
    taxable = s.taxable_row
    # Outside taxable accounts a sale realises nothing (IRS Publications 590-A/B, 969).
    realized = np.where(~taxable & (sell_qty > 0), 0.0, realized)
    short_term = np.where(~taxable & (sell_qty > 0), 0.0, short_term)
    loss_lots: dict[int, tuple] = {}
    picks: dict[int, tuple] = {}
    limited: dict[int, float] = {}  # row -> units first wanted, where short-term gains cut it

    def record(i: int, sale: LotSale) -> None:
        sell_qty[i] = sale.quantity
        disc_qty[i] = max(0.0, sale.quantity - forced.qty[i])
        if sale.realized_gain is not None:
            realized[i] = sale.realized_gain
            short_term[i] = sale.short_term_gain
        loss_lots.pop(i, None)
        if sale.loss_lots:
            loss_lots[i] = sale.loss_lots
        picks[i] = sale.picks

    if s.lots_of is not None:
        for i in np.flatnonzero((sell_qty > 0) & taxable):
            sale = walk_row(s, i, float(sell_qty[i]), float(forced.qty[i]))
            if sale is None:
                continue
            if sale.quantity < sell_qty[i] - 1e-9:
                limited[i] = float(sell_qty[i])
            record(i, sale)
        st_lots: dict[int, tuple[list[Lot], str]] = {}  # rows selling short-term gains
        for i, sale, usable, label in _to_band(s, drift, forced, sell_qty, keys):
            record(i, sale)
            if usable is not None:
                st_lots[i] = (usable, label)
                limited.pop(i, None)
        notes += _waiting_notes(s, drift, forced, sell_qty)
        for i, wanted in limited.items():
            notes.append(
                f"{s.symbol[i]} in {s.accounts[s.acct[i]]}: sale limited to "
                f"{sell_qty[i]:g} of {wanted:g} units to avoid short-term gains"
            )
    else:
        st_lots = {}

    held_back = np.zeros(s.n_unit)
    if max_gains is not None:
        sell_qty, disc_qty, realized, short_term, budget_notes, held_back = _gains_budget(
            s, forced, sell_qty, disc_qty, realized, short_term, max_gains, st_lots, record
        )
        notes += budget_notes
    for i, (_, label) in st_lots.items():
        if sell_qty[i] > 0 and np.nan_to_num(short_term[i]) > 0.005:
            notes.append(
                f"{s.symbol[i]} in {s.accounts[s.acct[i]]}: ${short_term[i]:,.0f} of "
                f"short-term gains realised to bring {label} back toward its band (no sale "
                "without them was left)"
            )

    tiny = (sell_qty * uv > 0) & (sell_qty * uv < m.min_trade_value) & (forced.qty == 0)
    sell_qty = np.where(tiny, 0.0, sell_qty)
    disc_qty = np.where(tiny, 0.0, disc_qty)
    realized = np.where(sell_qty > 0, realized, np.nan)
    short_term = np.where(sell_qty > 0, short_term, np.nan)
    sells = Sells(sell_qty, disc_qty, realized, short_term, loss_lots, held_back, notes, picks)
    return sells, drift


def _band_shortfall(
    s: HouseholdState, drift: Drift, forced: Forced, sell_qty: np.ndarray
) -> np.ndarray:
    """(units x classes): value still to sell for each class to be back to 90% of its band's
    edge, after the sales planned so far (the drift is measured after the forced sales)."""
    plain = drift.in_class & ~s.blended
    sold = s.class_matrix(np.where(plain, (sell_qty - forced.qty) * s.unit_value, 0.0), plain)
    edge = GAIN_EDGE * drift.tol_w[None, :] * drift.B[:, None]
    return np.clip(-drift.D, 0.0, None) - edge - sold


def _to_band(
    s: HouseholdState, drift: Drift, forced: Forced, sell_qty: np.ndarray, keys: np.ndarray
) -> list[tuple[int, LotSale, list[Lot] | None, str]]:
    """Further taxable sales where the first pass leaves a household class beyond 90% of its
    band's edge (a holding it chose first could not sell without short-term gains):
    (row, its sale now, the lots a short-term sale may use or None, the class's label).

    First every holding of the class sells what it can without a short-term gain; only then
    do holdings sell short-term gain lots, and only as far as the edge. Lots that turn
    long-term within `LONG_TERM_WAIT_DAYS` are not sold for a band (`_waiting_notes`)."""
    if not s.mandate.tax_aware or s.n_cls == 0 or s.lots_of is None:
        return []
    uv = s.unit_value
    unit, k = s.unit, np.maximum(s.row_k, 0)
    qty = sell_qty.copy()
    short = _band_shortfall(s, drift, forced, qty)
    plain = drift.in_class & ~s.blended & s.taxable_row & (uv > 0)
    cand = np.flatnonzero(plain & (short[unit, k] > EPS) & (s.qty - qty > EPS))
    if not len(cand):
        return []
    cand = cand[np.argsort(keys[cand], kind="stable")]
    out: dict[int, tuple[LotSale, list[Lot] | None, str]] = {}

    def extend(i: int, usable: list[Lot], any_lot: bool) -> LotSale | None:
        """Sell more of row `i` toward its class's edge; `any_lot`: short-term gains allowed;
        no `usable` lots: a holding without lots, sold as a whole."""
        u, c, price = unit[i], k[i], float(uv[i])
        room = float(s.qty[i] - qty[i])
        if usable:
            room = min(room, sum(lt.quantity for lt in usable) - float(qty[i]))
        if short[u, c] <= EPS or room <= EPS:
            return None
        add = min(short[u, c] / price, room)
        add = min(math.ceil(add - 1e-9), math.floor(room + 1e-9)) if s.whole else round(add, 6)
        if add <= 0:
            return None
        total = float(qty[i] + add)
        # Forced units may walk any lot (short-term gains last); the discretionary part only
        # lots free of short-term gains.
        forced_units = total if any_lot else float(forced.qty[i])
        # Without lots nothing says a gain is short-term (an undated lot counts as long-term).
        sale = sell_from_lots(
            usable, total, price, s.as_of, tax_aware=True, forced=forced_units, whole=s.whole
        )
        if sale.quantity <= qty[i] + EPS:
            return None
        short[u, c] -= (sale.quantity - qty[i]) * price
        qty[i] = sale.quantity
        return sale

    # Without short-term gains: the forced units stay forced, the rest walks free lots only
    # (a holding without lots sells as far as its class needs).
    for i in cand:
        if (sale := extend(int(i), _lots_or_whole(s, int(i)), any_lot=False)) is not None:
            out[int(i)] = (sale, None, class_label(s.classes[k[i]]))
    # Then short-term gain lots (every unit may come from any usable lot, short-term ones last),
    # never one about to turn long-term unless a forced sale already walks it.
    for i in cand:
        lots = s.lots(i)
        if not lots:
            continue
        price = float(uv[i])
        usable = lots
        if forced.qty[i] == 0:
            usable = [lt for lt in lots if not _long_term_soon(lt, price, s.as_of)]
        if usable and (sale := extend(int(i), usable, any_lot=True)) is not None:
            out[int(i)] = (sale, usable, class_label(s.classes[k[i]]))
    return [(i, sale, usable, label) for i, (sale, usable, label) in out.items()]


def _lots_or_whole(s: HouseholdState, i: int) -> list[Lot]:
    """The row's lots; without any, one undated lot at the position's own cost when it is
    known, so the sale's gain is counted (and budgeted) as a long-term one, as an undated lot's
    is (portfolio.lots); else none (the gain is unknown)."""
    lots = s.lots(i)
    if lots or not np.isfinite(s.basis[i]) or s.qty[i] <= 0:
        return lots
    return [Lot(quantity=float(s.qty[i]), cost_basis=float(s.basis[i]))]


def _waiting_notes(
    s: HouseholdState, drift: Drift, forced: Forced, sell_qty: np.ndarray
) -> list[str]:
    """Lots left unsold because they turn long-term soon, where their class is still beyond the
    edge its sales aim for."""
    if not s.mandate.tax_aware or s.n_cls == 0 or s.lots_of is None:
        return []
    short = _band_shortfall(s, drift, forced, sell_qty)
    unit, k, uv = s.unit, np.maximum(s.row_k, 0), s.unit_value
    rows = np.flatnonzero(
        drift.in_class & ~s.blended & s.taxable_row & (uv > 0) & (short[unit, k] > EPS)
    )
    notes = []
    for i in rows:
        waiting = [lt for lt in s.lots(i) if _long_term_soon(lt, float(uv[i]), s.as_of)]
        if not waiting:
            continue
        dates = sorted(long_term_from(lt.acquired) for lt in waiting if lt.acquired)
        when = f"{dates[0]:%Y-%m-%d}" + (
            f" to {dates[-1]:%Y-%m-%d}" if dates[-1] != dates[0] else ""
        )
        notes.append(
            f"{s.symbol[i]} in {s.accounts[s.acct[i]]}: "
            f"{sum(lt.quantity for lt in waiting):g} units turn long-term from {when}; they are "
            f"not sold for the band before, so {class_label(s.classes[k[i]])} stays further "
            "from its target until then"
        )
    return notes


def _long_term_soon(lot: Lot, price: float, as_of: date) -> bool:
    """A short-term gain lot that turns long-term within `LONG_TERM_WAIT_DAYS`."""
    return (
        lot.acquired is not None
        and not is_long_term(lot.acquired, as_of)
        and has_gain(lot, price)
        and (long_term_from(lot.acquired) - as_of).days <= LONG_TERM_WAIT_DAYS
    )


def walk_row(s: HouseholdState, i: int, qty: float, forced: float) -> LotSale | None:
    """The lots a sale of `qty` units of row `i` takes (`forced` of them required by a rule);
    None when nothing is known of the holding's cost."""
    lots = _lots_or_whole(s, i)
    if not lots:
        return None
    return sell_from_lots(
        lots,
        qty,
        float(s.unit_value[i]),
        s.as_of,
        tax_aware=s.mandate.tax_aware,
        forced=forced,
        whole=s.whole,
    )


def _gains_budget(
    s: HouseholdState,
    forced: Forced,
    sell_qty: np.ndarray,
    disc_qty: np.ndarray,
    realized: np.ndarray,
    short_term: np.ndarray,
    budget: float,
    st_lots: dict[int, tuple[list[Lot], str]],
    record: Callable[[int, LotSale], None],
):
    """Keep each client's net realised gain within `budget`; forced sales are exempt.

    Discretionary sales with the highest gain per dollar are cut back first. Lots are sold
    cheapest-gain first, so a sale cut to a fraction realises at most that fraction of its gain.
    """
    notes: list[str] = []
    held_back = np.zeros(s.n_unit)
    sell_qty, disc_qty = sell_qty.copy(), disc_qty.copy()
    realized, short_term = realized.copy(), short_term.copy()
    client = s.client_of_acct[s.acct]
    gain = np.nan_to_num(realized)
    for c in np.unique(client[sell_qty > 0]):
        rows = np.flatnonzero((client == c) & (sell_qty > 0))
        total = float(gain[rows].sum())
        if total <= budget + 0.005:
            continue
        cuttable = [i for i in rows if forced.qty[i] == 0 and s.taxable_row[i] and gain[i] > 0]
        cuttable.sort(key=lambda i: -gain[i] / max(sell_qty[i] * s.unit_value[i], 1e-9))
        excess = total - budget
        for i in cuttable:
            if excess <= 0.005:
                break
            g = float(gain[i])
            keep = max(0.0, (g - excess) / g)
            q = round_qty(np.array([sell_qty[i] * keep]), s.whole, up=False)[0]
            sale = None
            if q > 0 and i in st_lots:  # a sale the band needed short-term lots for
                sale = sell_from_lots(
                    st_lots[i][0],
                    float(q),
                    float(s.unit_value[i]),
                    s.as_of,
                    tax_aware=True,
                    forced=float(q),
                    whole=s.whole,
                )
            elif q > 0:
                sale = walk_row(s, i, float(q), 0.0)
            if sale is not None:
                q = sale.quantity
                record(i, sale)  # the lots the cut sale takes
            new_gain = float(sale.realized_gain or 0.0) if sale is not None else 0.0
            held_back[s.unit_of_acct[s.acct[i]]] += g - new_gain
            excess -= g - new_gain
            notes.append(
                f"{s.symbol[i]} in {s.accounts[s.acct[i]]}: sale cut from {sell_qty[i]:g} to "
                f"{q:g} units to keep realised gains within the ${budget:,.0f} budget"
            )
            sell_qty[i] = q
            disc_qty[i] = q
            realized[i] = new_gain if q > 0 else np.nan
            short_term[i] = float(sale.short_term_gain or 0.0) if sale is not None else np.nan
        if excess > 0.005:
            notes.append(
                f"Realised gains exceed the ${budget:,.0f} budget by ${excess:,.2f}: "
                "required sales (exclusions, the cap) are exempt"
            )
    return sell_qty, disc_qty, realized, short_term, notes, held_back
