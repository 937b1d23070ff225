"""The keyed hash chains over the run, decision, execution and firm-people journals.

Each row's hash covers its canonical JSON content (every column but `id`, `hash` and `mac`,
including `seq` and `prev_hash`), so altering, reordering or deleting a row breaks the next link;
the chain head table also records the last link, so a deleted tail is caught too. Each row and
each head also carries an HMAC-SHA256 of its hash under the firm key, so a rewrite that recomputes
every plain hash still fails without the key. A wipe of a whole journal with its head is caught
only by an anchor kept outside the database (`anchor.py`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from portfolio.ledger.schema import JOURNALS, ChainHead

GENESIS = "0" * 64
UNHASHED = frozenset({"id", "hash", "mac"})
# Columns added after rows existed: left out of the content when empty, so old links still hold.
LATE = frozenset({"proposal_hash", "executed_by"})
# The same, for columns only one journal gained (an execution's quantity is never empty).
LATE_IN = {"decisions": frozenset({"quantity"})}


def _late(table: str) -> frozenset[str]:
    return LATE | LATE_IN.get(table, frozenset())


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def link_hash(content: Mapping[str, Any]) -> str:
    """Hash of a row's content; `content` includes its own `prev_hash`."""
    return hashlib.sha256(canonical_json(dict(content)).encode("utf-8")).hexdigest()


def row_content(row: Any) -> dict[str, Any]:
    """The hashed columns of a journal row, read back from the ORM object."""
    content = {}
    late = _late(row.__table__.name)
    for c in row.__table__.columns:
        if c.key in UNHASHED:
            continue
        value = getattr(row, c.key)
        if c.key in late and value is None:
            continue
        content[c.key] = value
    return content


def mac(key: bytes, link: str) -> str:
    """HMAC-SHA256 of a link's hash under the firm key."""
    return hmac.new(key, link.encode("ascii"), hashlib.sha256).hexdigest()


def head_mac(key: bytes, name: str, seq: int, link: str) -> str:
    return mac(key, f"head:{name}:{seq}:{link}")


def mac_ok(key: bytes, link: str, tag: str | None) -> bool:
    return tag is not None and hmac.compare_digest(mac(key, link), tag)


def head_ok(key: bytes, head: ChainHead) -> bool:
    if head.seq == 0 and head.hash == GENESIS and head.mac is None:
        return True  # the genesis head is written by the migration, before any key exists
    return head.mac is not None and hmac.compare_digest(
        head_mac(key, head.name, head.seq, head.hash), head.mac
    )


def append(session: Session, model: type[Any], values: dict[str, Any], key: bytes) -> Any:
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
    row.mac = mac(key, row.hash)
    session.add(row)
    head.seq, head.hash = row.seq, row.hash
    head.mac = head_mac(key, name, head.seq, head.hash)
    session.flush()
    return row


def append_many(
    session: Session, model: type[Any], rows: list[dict[str, Any]], key: bytes
) -> list[Any]:
    """`append` for a batch: the head is locked and moved once, the rows inserted together.

    Returns the inserted rows as dicts (column -> value)."""
    name = model.__tablename__
    head = session.execute(
        select(ChainHead).where(ChainHead.name == name).with_for_update()
    ).scalar_one_or_none()
    if head is None:
        head = ChainHead(name=name, seq=0, hash=GENESIS)
        session.add(head)
    hashed = [c.key for c in model.__table__.columns if c.key not in UNHASHED]
    out = []
    seq, prev = head.seq, head.hash
    for values in rows:
        seq += 1
        full = {k: values.get(k) for k in hashed} | {"seq": seq, "prev_hash": prev}
        late = _late(name)
        content = {k: v for k, v in full.items() if not (k in late and v is None)}
        link = link_hash(content)
        # Every row names every column: an executemany takes its columns from the first row.
        out.append({**full, "hash": link, "mac": mac(key, link)})
        prev = link
    if out:
        # Core executemany: the same bytes as `append`, without building an ORM object per row.
        session.execute(insert(model.__table__), out)
    head.seq, head.hash = seq, prev
    head.mac = head_mac(key, name, seq, prev)
    session.flush()
    return out


@dataclass
class ChainReport:
    name: str
    length: int = 0
    ok: bool = True
    head: str = GENESIS
    broken: dict[str, Any] | None = None


@dataclass
class VerifyReport:
    """The chains, then the tables behind them (trades, proposals, runs, firm_people) compared
    with the chain.

    `tables` holds one problem per run: {"journal": table, "seq": None, "id": None, "run_id",
    "reason"}, and one per person whose `firm_people` row differs from the chain (with "person").
    `anchor` holds what an anchor file names that the chains no longer contain.
    """

    ok: bool
    chains: list[ChainReport] = field(default_factory=list)
    tables: list[dict[str, Any]] = field(default_factory=list)
    anchor: list[str] = field(default_factory=list)

    @property
    def first_broken(self) -> dict[str, Any] | None:
        for chain in self.chains:
            if chain.broken is not None:
                return {"journal": chain.name, **chain.broken}
        if self.tables:
            return self.tables[0]
        if self.anchor:
            return {
                "journal": "anchor",
                "seq": None,
                "id": None,
                "run_id": None,
                "reason": self.anchor[0],
            }
        return None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "first_broken": self.first_broken,
            "chains": [asdict(c) for c in self.chains],
            "tables": self.tables,
            "anchor": self.anchor,
        }


def walk(
    name: str, rows: Iterable[Any], head: ChainHead | None, key: bytes, start: Any = None
) -> ChainReport:
    """Check links, hashes and MACs from the genesis, or from the row after `start`."""
    report = ChainReport(name=name)
    prev, expected_seq = (start.hash, start.seq + 1) if start is not None else (GENESIS, 1)
    report.length = expected_seq - 1
    for row in rows:
        problem = None
        if row.seq != expected_seq:
            problem = f"expected link {expected_seq}, found {row.seq} (a row is missing)"
        elif row.prev_hash != prev:
            problem = "prev_hash does not match the previous row's hash"
        elif link_hash(row_content(row)) != row.hash:
            problem = "content does not match its hash (the row was altered)"
        elif not mac_ok(key, row.hash, row.mac):
            problem = "the MAC does not match (the row was rewritten without the firm key)"
        if problem:
            report.ok = False
            if person := getattr(row, "person_id", None):
                problem = f"{problem}; the entry is about {person}"
            report.broken = {
                "seq": row.seq,
                "id": row.id,
                "run_id": getattr(row, "run_id", None),
                "reason": problem,
            }
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
    elif head is not None and not head_ok(key, head):
        report.ok = False
        report.broken = {
            "seq": head_seq,
            "id": None,
            "run_id": None,
            "reason": "the chain head's MAC does not match (rewritten without the firm key)",
        }
    return report


def verify_segment(
    session: Session, model: type[Any], key: bytes, after_seq: int = 0
) -> ChainReport:
    """Links after `after_seq` up to the head: what a run's execution relies on."""
    name = model.__tablename__
    head = session.get(ChainHead, name)
    start = None
    if after_seq > 0:
        start = session.execute(select(model).where(model.seq == after_seq)).scalar_one_or_none()
        if start is None or not mac_ok(key, start.hash, start.mac):
            return ChainReport(
                name=name,
                ok=False,
                broken={
                    "seq": after_seq,
                    "id": None,
                    "run_id": None,
                    "reason": f"link {after_seq} is missing or altered",
                },
            )
    rows = session.execute(select(model).where(model.seq > after_seq).order_by(model.seq)).scalars()
    return walk(name, rows, head, key, start)


def verify(session: Session, key: bytes) -> list[ChainReport]:
    return [verify_segment(session, model, key) for model in JOURNALS.values()]
