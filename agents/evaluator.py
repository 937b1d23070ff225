"""The bar a strategist's tilts must clear, judged by code on the engine's proposal.

The model only proposes the next tilt; whether the proposal is good enough is decided here:
every class within its band after the trades, the estimated yield at or above the stated income
need, turnover within its budget and realised gains within the household's gains budget.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from portfolio.models import RebalanceProposal

MAX_ROUNDS = 3
# A tilt moves a sleeve by at most five points (portfolio.targets.MAX_TILT): it may add at most
# that much turnover to the engine's own plan.
TURNOVER_ALLOWANCE = 0.05
EPS = 1e-9


class Check(BaseModel):
    name: str
    ok: bool
    figure: float
    limit: float | None = None
    detail: str = ""


class Verdict(BaseModel):
    cleared: bool
    checks: list[Check] = Field(default_factory=list)

    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def score(self) -> tuple[bool, int]:
        """Higher is better: cleared first, then fewer checks failed."""
        return self.cleared, -len(self.failed())

    def summary(self) -> str:
        """One line per failed check, for the strategist's next tilt and the panel."""
        if self.cleared:
            return "clears the bar: " + "; ".join(c.detail for c in self.checks)
        return "; ".join(c.detail for c in self.failed())


def evaluate(proposal: RebalanceProposal, *, baseline_turnover: float | None = None) -> Verdict:
    """Judge a proposal: bands, income, turnover and gains, each with its figure and limit."""
    checks: list[Check] = []
    out = {
        c: abs(w.post_trade - w.target) - w.band
        for c, w in proposal.asset_class_weights.items()
        if abs(w.post_trade - w.target) > w.band + EPS
    }
    worst = max(out.values(), default=0.0)
    checks.append(
        Check(
            name="bands",
            ok=not out,
            figure=round(worst, 6),
            limit=0.0,
            detail="every class within its band after the trades"
            if not out
            else "outside its band after the trades: " + ", ".join(sorted(out)),
        )
    )
    need = float(proposal.mandate.income_need)
    if need > 0:
        ok = proposal.yield_after + EPS >= need
        checks.append(
            Check(
                name="income",
                ok=ok,
                figure=round(proposal.yield_after, 6),
                limit=need,
                detail=f"estimated yield {proposal.yield_after:.2%} "
                + (f"meets the {need:.2%} need" if ok else f"is below the {need:.2%} need"),
            )
        )
    if baseline_turnover is not None:
        budget = baseline_turnover + TURNOVER_ALLOWANCE
        ok = proposal.turnover <= budget + EPS
        checks.append(
            Check(
                name="turnover",
                ok=ok,
                figure=round(proposal.turnover, 6),
                limit=round(budget, 6),
                detail=f"turnover {proposal.turnover:.1%} "
                + ("within" if ok else "above")
                + f" the {budget:.1%} budget",
            )
        )
    if proposal.max_gains is not None:
        # The budget is for discretionary gains (as in the engine): sales the mandate forces or
        # that raise a requested withdrawal are not the strategist's to avoid.
        raising = {tid for r in proposal.cash_requests for tid in r.trades}
        discretionary = sum(
            t.realized_gain or 0.0
            for t in proposal.trades
            if t.action == "SELL"
            and t.compliance.status == "APPROVED"
            and not t.forced
            and t.id not in raising
        )
        ok = discretionary <= proposal.max_gains + 0.005
        checks.append(
            Check(
                name="gains",
                ok=ok,
                figure=round(discretionary, 2),
                limit=proposal.max_gains,
                detail=f"discretionary realised gains ${discretionary:,.0f} "
                + ("within" if ok else "above")
                + f" the ${proposal.max_gains:,.0f} budget",
            )
        )
    return Verdict(cleared=all(c.ok for c in checks), checks=checks)
