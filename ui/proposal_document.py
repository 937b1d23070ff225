"""The client proposal for the run on the ticket, assembled from what the ledger recorded."""

from __future__ import annotations

from datetime import date
from typing import Any

from portfolio.ledger import Ledger
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
    run: dict[str, Any],
    proposal: RebalanceProposal,
    securities: SecurityMaster,
    advisor: str | None,
) -> ProposalDocument:
    results = {a["agent"]: a for a in ledger.agent_results(run["run_id"])}
    plan = results.get("strategist") or {}
    market = (results.get("market_analyst") or {}).get("result") or {}
    return ProposalDocument(
        proposal=proposal,
        client=run.get("client") or (run.get("snapshot") or {}).get("filename") or "the client",
        advisor=advisor,
        run_id=run["run_id"],
        prepared_on=date.today(),
        rationale=str((plan.get("result") or {}).get("rationale") or ""),
        narrative=str(plan.get("transcript") or ""),
        decisions={
            t["trade_id"]: t["decision"]["decision"] for t in run["trades"] if t.get("decision")
        },
        market_data=str(market.get("data_source") or "the bundled sample history"),
        market_data_is_sample=bool(market.get("sample_data", True)),
        market_as_of=_as_date(market.get("as_of")),
        reference_prices_as_of=securities.as_of,
    )
