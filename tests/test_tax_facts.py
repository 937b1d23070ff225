"""The tax agent's facts and the strategist's evaluator: figures from the engine only."""

from __future__ import annotations

from datetime import date

import pytest

from agents.evaluator import TURNOVER_ALLOWANCE, evaluate
from agents.facts import tax_facts
from portfolio.models import Lot
from tests.test_engine_household import GROUPS, bnd_bought_recently, pos, run


def test_tax_facts_split_gains_by_account_type_and_name_the_wash_sale_partner() -> None:
    loss = [Lot(quantity=1_500, cost_basis=1_500 * 80.0, acquired=date(2023, 1, 3))]
    p = run(
        pos("BND", 1_500 * 73.19, "Joint", lots=loss),
        pos("VTI", 20_000, "Joint"),
        pos("SPAXX", 100_000, "Rollover IRA", cash=True),
        per_account=True,
    )
    f = tax_facts(p)
    (bnd,) = [s for s in f["lots_sold"] if s["symbol"] == "BND"]
    assert bnd["account_type"] == "taxable" and bnd["realized_gain"] < 0
    assert f["losses_harvested"] == pytest.approx(
        sum(min(s["realized_gain"], 0.0) for s in f["lots_sold"] if s["account_type"] == "taxable")
    )
    assert f["losses_harvested"] < 0
    partner = GROUPS.partner("BND")
    assert {"account": "Rollover IRA", "bought": partner, "instead_of": "BND"} in f[
        "wash_sales_avoided"
    ]
    assert f["location"]["us_bonds"].get("tax_deferred", 0.0) > 0
    total = (f["realized_short_term"] or 0.0) + (f["realized_long_term"] or 0.0)
    assert total == pytest.approx(p.realized_gains, abs=0.02)


def test_sales_in_an_ira_realise_nothing_and_are_listed_as_sheltered() -> None:
    gain = [Lot(quantity=400, cost_basis=400 * 100.0, acquired=date(2018, 1, 2))]
    p = run(
        pos("VTI", 400 * 303.93, "Rollover IRA", lots=gain),
        pos("SPAXX", 3_000, "Rollover IRA", cash=True),
    )
    f = tax_facts(p)
    assert f["lots_sold"] and all(s["realized_gain"] == 0.0 for s in f["lots_sold"])
    assert f["realized_total"] == 0.0
    assert f["sales_in_tax_advantaged"]["tax_deferred"] > 0


def test_the_evaluator_judges_bands_income_turnover_and_gains() -> None:
    on_target = run(*[pos("VTI", 0.5 * 100_000, "A"), pos("SPAXX", 50_000, "A", cash=True)])
    verdict = evaluate(on_target, baseline_turnover=on_target.turnover)
    assert verdict.cleared, verdict.summary()
    assert {c.name for c in verdict.checks} == {"bands", "turnover"}
    # A turnover above the baseline's by more than the allowance fails.
    tight = evaluate(on_target, baseline_turnover=on_target.turnover - TURNOVER_ALLOWANCE - 0.01)
    assert not tight.cleared and [c.name for c in tight.failed()] == ["turnover"]
    # An income need above what the plan yields fails the income check, and says so.
    needy = on_target.model_copy(
        update={"mandate": on_target.mandate.model_copy(update={"income_need": 0.2})}
    )
    v = evaluate(needy)
    assert [c.name for c in v.failed()] == ["income"] and "below the 20.00% need" in v.summary()
    # Discretionary gains above the household's budget fail; gains the mandate forces do not
    # count against it (the engine's budget is for discretionary sales too).
    gain = [Lot(quantity=329, cost_basis=329 * 50.0, acquired=date(2015, 1, 2))]
    sold = run(pos("VTI", 100_000, "Joint", lots=gain))
    assert sold.realized_gains > 100
    over = sold.model_copy(update={"max_gains": sold.realized_gains - 100})
    assert "gains" in [c.name for c in evaluate(over).failed()]
    forced = over.model_copy(
        update={"trades": [t.model_copy(update={"forced": True}) for t in over.trades]}
    )
    assert "gains" not in [c.name for c in evaluate(forced).failed()]


def test_the_evaluator_fails_a_plan_that_leaves_a_class_outside_its_band() -> None:
    # A gains budget of zero holds back every sale of a low-basis, all-equity taxable account.
    gain = [Lot(quantity=329, cost_basis=329 * 50.0, acquired=date(2015, 1, 2))]
    p = run(pos("VTI", 100_000, "Joint", lots=gain), max_gains=0.0)
    assert p.realized_gains == 0.0
    v = evaluate(p)
    assert not v.cleared and "bands" in [c.name for c in v.failed()]
    assert "outside its band" in v.summary()


def test_the_tax_agent_names_the_lots_sold_and_the_loss_a_recent_purchase_washes() -> None:
    from agents.writers import write_tax
    from portfolio.tax_impact import tax_impact

    p = bnd_bought_recently(72.0)
    f = tax_facts(p)
    (bnd,) = f["lots_sold"]
    assert p.wash_loss_disallowed > 0
    assert bnd["wash_loss_disallowed"] == pytest.approx(p.wash_loss_disallowed)
    assert bnd["lots"][0] == {"acquired": "2023-01-03", "quantity": 1_000}
    text, _ = write_tax(f)
    assert "from the lots bought 2023-01-03 (1000)" in text
    assert f"${p.wash_loss_disallowed:,.0f}" in text and "wash-sale rule" in text
    # The ticket's tax panel shows the same figure and lots.
    (row,) = tax_impact(p.trades, {"Joint": "taxable"}).rows
    assert row.disallowed == p.wash_loss_disallowed
    assert row.lots.startswith("2023-01-03 x 1,000")
