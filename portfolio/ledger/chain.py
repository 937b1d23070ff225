"""The SHA-256 hash chain over the decision and execution journals.

Each row's hash covers its canonical JSON content (every column but `id` and `hash`, including
`seq` and `prev_hash`), so altering, reordering or deleting a row breaks the next link; the chain
head table also records the last link, so a deleted tail is caught too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portfolio.ledger.schema import JOURNALS, ChainHead

GENESIS = "0" * 64
UNHASHED = frozenset({"id", "hash"})


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def link_hash(content: Mapping[str, Any]) -> str:
    """Hash of a row's content; `content` includes its own `prev_hash`."""
    return hashlib.sha256(canonical_json(dict(content)).encode("utf-8")).hexdigest()


def row_content(row: Any) -> dict[str, Any]:
    """The hashed columns of a journal row, read back from the ORM object."""
    return {c.key: getattr(row, c.key) for c in row.__table__.columns if c.key not in UNHASHED}


def append(session: Session, model: type[Any], values: dict[str, Any]) -> Any:
    """Insert one journal row linked to the current head; the caller's transaction holds the lock.

    On PostgreSQL the head row is locked with FOR UPDATE; on SQLite the write transaction was
    opened with BEGIN IMMEDIATE, which already serialises writers.
    """
    name = model.__tablename__
    head = session.execute(
        select(ChainHead).where(ChainHead.name == name).with_for_update()
    ).scalar_one_or_none()
    if head is None:
        head = ChainHead(name=name, seq=0, hash=GENESIS)
        session.add(head)
    content = {**values, "seq": head.seq + 1, "prev_hash": head.hash}
    row = model(**content)
    # Hash what the columns will hold, so verify() recomputes the same bytes.
    row.hash = link_hash(row_content(row))
    session.add(row)
    head.seq, head.hash = row.seq, row.hash
    session.flush()
    return row


@dataclass
class ChainReport:
    name: str
    length: int = 0
    ok: bool = True
    head: str = GENESIS
    broken: dict[str, Any] | None = None


@dataclass
class VerifyReport:
    ok: bool
    chains: list[ChainReport] = field(default_factory=list)

    @property
    def first_broken(self) -> dict[str, Any] | None:
        for chain in self.chains:
            if chain.broken is not None:
                return {"journal": chain.name, **chain.broken}
        return None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "first_broken": self.first_broken,
            "chains": [asdict(c) for c in self.chains],
        }


def _walk(name: str, rows: Iterable[Any], head: ChainHead | None) -> ChainReport:
    report = ChainReport(name=name)
    prev, expected_seq = GENESIS, 1
    for row in rows:
        problem = None
        if row.seq != expected_seq:
            problem = f"expected link {expected_seq}, found {row.seq} (a row is missing)"
        elif row.prev_hash != prev:
            problem = "prev_hash does not match the previous row's hash"
        elif link_hash(row_content(row)) != row.hash:
            problem = "content does not match its hash (the row was altered)"
        if problem:
            report.ok = False
            report.broken = {"seq": row.seq, "id": row.id, "run_id": row.run_id, "reason": problem}
            return report
        prev, expected_seq = row.hash, expected_seq + 1
        report.length += 1
    report.head = prev
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS)
    if (head_seq, head_hash) != (report.length, prev):
        report.ok = False
        report.broken = {
            "seq": head_seq,
            "id": None,
            "run_id": None,
            "reason": f"chain head records link {head_seq} but the journal ends at {report.length}"
            " (rows were removed or the head was altered)",
        }
    return report


def verify(session: Session) -> VerifyReport:
    chains = []
    for name, model in JOURNALS.items():
        head = session.get(ChainHead, name)
        rows = session.execute(select(model).order_by(model.seq)).scalars()
        chains.append(_walk(name, rows, head))
    return VerifyReport(ok=all(c.ok for c in chains), chains=chains)
