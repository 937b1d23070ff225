"""The Book page's stored household figures (`household_summaries`), a cache beside the records.

`listing` reads, in a few queries and without a single holdings document, every client record
that has holdings: its name, owner and stamp (the record's `updated_at` as the database's text),
its last run, and its stored figures if any. `save` writes figures computed from the record as it
stood at the stamp read before its book was: a record changed in between keeps a stamp that no
longer matches, so the figures are computed again on the next read, never trusted stale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Text, cast, select
from sqlalchemy.exc import IntegrityError

from portfolio.ledger.schema import (
    Client,
    ClientAccountRow,
    ClientRecordRow,
    HouseholdSummaryRow,
    Run,
)
from portfolio.ledger.session import Transactions


@dataclass(frozen=True)
class StoredFigures:
    record_stamp: str
    basis: str
    as_of: str
    until: str | None
    figures: str  # JSON


@dataclass(frozen=True)
class ListedHousehold:
    client_id: int
    name: str
    owner: str | None
    stamp: str  # the record's updated_at as the database's text
    last_run: str | None
    last_status: str | None
    stored: StoredFigures | None


@dataclass(frozen=True)
class NewFigures:
    client_id: int
    record_stamp: str
    basis: str
    as_of: str
    until: str | None
    figures: str


class HouseholdSummaries(Transactions):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def listing(self) -> list[ListedHousehold]:
        """Every record with at least one account kept from an upload, by client id."""
        with self._read() as s:
            with_holdings = {
                int(cid)
                for (cid,) in s.execute(
                    select(ClientAccountRow.client_id)
                    .where(ClientAccountRow.snapshot_id.is_not(None))
                    .distinct()
                ).all()
            }
            rows = s.execute(
                select(
                    Client.id,
                    Client.name,
                    ClientRecordRow.owner,
                    cast(ClientRecordRow.updated_at, Text),
                    HouseholdSummaryRow.record_stamp,
                    HouseholdSummaryRow.basis,
                    HouseholdSummaryRow.as_of,
                    HouseholdSummaryRow.until,
                    HouseholdSummaryRow.figures,
                )
                .join(ClientRecordRow, ClientRecordRow.client_id == Client.id)
                .outerjoin(HouseholdSummaryRow, HouseholdSummaryRow.client_id == Client.id)
                .order_by(Client.id)
            ).all()
            latest: dict[int, tuple[str, str]] = {}
            for cid, rid, status in s.execute(
                select(Run.client_id, Run.id, Run.status)
                .where(Run.client_id.is_not(None))
                .order_by(Run.created_at.desc(), Run.id)
            ).all():
                latest.setdefault(cid, (rid, status))
        out = []
        for cid, name, owner, stamp, s_stamp, basis, as_of, until, figures in rows:
            if cid not in with_holdings:
                continue
            run = latest.get(cid)
            out.append(
                ListedHousehold(
                    client_id=cid,
                    name=name,
                    owner=owner,
                    stamp=str(stamp),
                    last_run=run[0] if run else None,
                    last_status=run[1] if run else None,
                    stored=(
                        StoredFigures(s_stamp, basis, as_of, until, figures)
                        if figures is not None
                        else None
                    ),
                )
            )
        return out

    def save(self, rows: Sequence[NewFigures]) -> bool:
        """Replace the stored figures of these records. False when another process wrote one of
        them meanwhile: a cache, so nothing is lost (the next read computes them again)."""
        if not rows:
            return True
        now = datetime.now(UTC)
        try:
            with self._write() as s:
                ids = [r.client_id for r in rows]
                have: dict[int, Any] = {}
                for i in range(0, len(ids), 500):  # bound the IN list (SQLite's variable limit)
                    for row in s.scalars(
                        select(HouseholdSummaryRow).where(
                            HouseholdSummaryRow.client_id.in_(ids[i : i + 500])
                        )
                    ):
                        have[row.client_id] = row
                for r in rows:
                    values = {
                        "record_stamp": r.record_stamp,
                        "basis": r.basis,
                        "as_of": r.as_of,
                        "until": r.until,
                        "figures": r.figures,
                        "computed_at": now,
                    }
                    row = have.get(r.client_id)
                    if row is None:
                        s.add(HouseholdSummaryRow(client_id=r.client_id, **values))
                    else:
                        for k, v in values.items():
                            setattr(row, k, v)
        except IntegrityError:
            return False
        return True


__all__ = ["HouseholdSummaries", "ListedHousehold", "NewFigures", "StoredFigures"]
