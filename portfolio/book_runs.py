"""The book from the ledger's client records, and a batch of runs saved for review.

A household is a client record with at least one account: its book is the assembled uploads
(`ClientRecords.book`), its mandate the record's (else the desk's default), its account types the
record's. A batch plans each chosen household with the engine and keeps it as a run in
PENDING_REVIEW starting from the client's book snapshot, as a run started on the Client page
does: the ticket is there at once, the crew's narrative is written when the advisor opens it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import date

from portfolio.gc_pause import gc_paused
from portfolio.ledger import Ledger
from portfolio.ledger import status as run_status
from portfolio.ledger.clients import ClientRecords
from portfolio.models import ClientMandate, RebalanceProposal
from portfolio.practice import HouseholdBook


@gc_paused()
def ledger_households(
    ledger: Ledger,
    may_see: Callable[[str | None], bool] = lambda owner: True,
    client_ids: Collection[int] | None = None,
) -> list[HouseholdBook]:
    """Every client record `may_see(owner)` allows that has holdings (of `client_ids`, when
    given), with its last run."""
    out: list[HouseholdBook] = []
    records = ClientRecords(ledger.engine)
    requests = records.all_cash_requests()
    for rec, book, last in records.books(client_ids):
        if not may_see(rec.owner):
            continue
        out.append(
            HouseholdBook(
                id=str(rec.id),
                name=rec.name,
                holdings=book.holdings,
                mandate=rec.mandate or ClientMandate(),
                account_types={a.account: a.tax_type for a in rec.accounts},
                advisor=rec.owner,
                client_id=rec.id,
                last_run=last["run_id"] if last else None,
                last_status=last["status"] if last else None,
                cash_requests=requests.get(rec.id, []),
            )
        )
    return out


def run_batch(
    ledger: Ledger,
    households: Sequence[HouseholdBook],
    *,
    started_by: str | None = None,
    as_of: date | None = None,
    plan: Callable[[Sequence[HouseholdBook]], dict[str, RebalanceProposal]] | None = None,
) -> dict[str, str]:
    """Household id -> the run saved for it in PENDING_REVIEW (engine proposal and ticket)."""
    from portfolio.batch import proposals

    records = ClientRecords(ledger.engine)
    planned = (plan or (lambda hh: proposals(hh, as_of)))(households)
    out: dict[str, str] = {}
    for h in households:
        snapshot = records.book_snapshot(h.client_id)[1] if h.client_id is not None else None
        p = planned[h.id]
        run_id = ledger.create_run(
            holdings=None if snapshot is not None else h.holdings,
            snapshot_id=snapshot,
            client=None if snapshot is not None else h.name,
            mandate=p.mandate,
            model=p.model,
            settings={
                "batch": {"source": "book page"},
                "started_by": started_by,
                **(
                    {"cash_requests": [r.model_dump(mode="json") for r in h.cash_requests]}
                    if h.cash_requests
                    else {}
                ),
            },
            status=run_status.PENDING_REVIEW,
        )
        ledger.save_proposal(run_id, p)
        out[h.id] = run_id
    return out


def selected(households: Iterable[HouseholdBook], ids: Iterable[str]) -> list[HouseholdBook]:
    wanted = set(ids)
    return [h for h in households if h.id in wanted]
