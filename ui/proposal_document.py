"""The client proposal for the run on the ticket, assembled from what the ledger recorded."""

from __future__ import annotations

from datetime import date
from typing import Any

from portfolio.ledger import Ledger
from portfolio.ledger.read_models import RunRecord
from portfolio.models import RebalanceProposal
from portfolio.proposal_pdf import ProposalDocument
from portfolio.securities import SecurityMaster


def _as_date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def proposal_document(
    ledger: Ledger,
    run: RunRecord,
    proposal: RebalanceProposal,
    securities: SecurityMaster,
    advisor: str | None,
) -> ProposalDocument:
    results = {a.agent: a for a in ledger.agent_results(run.run_id)}
    plan = results.get("strategist")
    analyst = results.get("market_analyst")
    market = (analyst.result if analyst else None) or {}
    plan_result = (plan.result if plan else None) or {}
    return ProposalDocument(
        proposal=proposal,
        client=run.client or (run.snapshot.filename if run.snapshot else "") or "the client",
        advisor=advisor,
        run_id=run.run_id,
        prepared_on=date.today(),
        rationale=str(plan_result.get("rationale") or ""),
        narrative=str((plan.transcript if plan else None) or ""),
        decisions={t.trade_id: t.decision.decision for t in run.trades if t.decision},
        market_data=str(market.get("data_source") or "the bundled sample history"),
        market_data_is_sample=bool(market.get("sample_data", True)),
        market_as_of=_as_date(market.get("as_of")),
        reference_prices_as_of=securities.as_of,
    )
