"""What the chain says a run's proposal is, and how the tables behind it are compared with that.

When a run is saved, each trade's id, account, symbol, action, quantity, price, value, order type,
limit and compliance verdict, with the SHA-256 of the whole stored proposal, go into a chained
run entry. Execution builds its orders from that entry and the chained decisions only; the
`trades` and `proposals` tables and the run's status column are then only copies for reading,
and any difference between them and the chain is named and refuses the execution.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from portfolio.ledger.chain import GENESIS, canonical_json, link_hash, mac

PROPOSAL = "proposal"
STATUS = "status"
SIGN_OFF = "signoff"
# The fields of a trade the chain holds, in the order they are compared and named.
FIELDS = (
    "account",
    "symbol",
    "action",
    "quantity",
    "price",
    "value",
    "order_type",
    "limit_price",
    "compliance",
)


# The `trades` table columns those fields are read from.
TABLE_COLUMNS = ("trade_id", *FIELDS[:-1], "compliance_status")


def body_sha256(body: Any) -> str:
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()


def trade_record(trade: Any) -> dict[str, Any]:
    """A proposal's Trade (pydantic) as the chain holds it."""
    return {
        "id": trade.id,
        "account": trade.account,
        "symbol": trade.symbol,
        "action": trade.action,
        "quantity": float(trade.quantity),
        "price": float(trade.price),
        "value": float(trade.value),
        "order_type": trade.order_type,
        "limit_price": None if trade.limit_price is None else float(trade.limit_price),
        "compliance": trade.compliance.status,
    }


def row_record(row: Any) -> dict[str, Any]:
    """A `trades` table row in the same shape (ORM object or a mapping with the column names)."""
    get = row.get if isinstance(row, Mapping) else (lambda k: getattr(row, k))
    limit = get("limit_price")
    return {
        "id": get("trade_id"),
        "account": get("account"),
        "symbol": get("symbol"),
        "action": get("action"),
        "quantity": float(get("quantity")),
        "price": float(get("price")),
        "value": float(get("value")),
        "order_type": get("order_type"),
        "limit_price": None if limit is None else float(limit),
        "compliance": get("compliance_status"),
    }


def proposal_body(
    proposal_sha256: str,
    trades: Sequence[Mapping[str, Any]],
    decisions_from: int,
    executions_from: int,
) -> dict[str, Any]:
    """`*_from`: the journal heads when the run was saved; its decisions and orders come after."""
    return {
        "proposal_sha256": proposal_sha256,
        "trades": [dict(t) for t in trades],
        "decisions_from": decisions_from,
        "executions_from": executions_from,
    }


def differences(
    run_id: str,
    chained: Mapping[str, Any],
    proposal_body_read: Any,
    proposal_sha_column: str | None,
    rows: Iterable[Any],
    status_column: str | None,
    chained_status: str | None,
) -> list[dict[str, Any]]:
    """Every way the tables behind the chain disagree with it, each naming its table."""
    problems: list[dict[str, Any]] = []

    def problem(table: str, reason: str) -> None:
        problems.append(
            {"journal": table, "seq": None, "id": None, "run_id": run_id, "reason": reason}
        )

    want = chained["proposal_sha256"]
    if proposal_body_read is None:
        problem("proposals", f"run {run_id}: the stored proposal is missing")
    elif body_sha256(proposal_body_read) != want or proposal_sha_column != want:
        problem("proposals", f"run {run_id}: the stored proposal differs from the chained one")
    table = {r["id"]: r for r in (row_record(x) for x in rows)}
    chain_trades = {t["id"]: t for t in chained["trades"]}
    for tid, t in chain_trades.items():
        got = table.get(tid)
        if got is None:
            problem("trades", f"run {run_id}: trade {tid} is missing from the trades table")
            continue
        for name in FIELDS:
            if got[name] != t[name]:
                problem(
                    "trades",
                    f"run {run_id}: trade {tid} {name} is {got[name]!r} in the trades table "
                    f"but {t[name]!r} in the chained proposal",
                )
    if extra := sorted(set(table) - set(chain_trades)):
        names = ", ".join(extra)
        problem("trades", f"run {run_id}: trades {names} are not in the chained proposal")
    if chained_status is not None and status_column != chained_status:
        problem(
            "runs",
            f"run {run_id}: status is {status_column} in the runs table "
            f"but {chained_status} in the chain",
        )
    return problems


# ------------------------------------------------------ sealing runs saved before chaining


def legacy_entries(conn: sa.Connection, key: bytes) -> None:
    """Chain each existing run's proposal and status (used once, by the migration)."""
    entries = sa.table(
        "run_entries",
        *(
            sa.column(c)
            for c in ("seq", "run_id", "kind", "body", "at", "prev_hash", "hash", "mac")
        ),
    )
    heads = sa.table("chain_heads", sa.column("name"), sa.column("seq"), sa.column("hash"))
    seq, prev = 0, GENESIS
    runs = conn.execute(sa.text("SELECT id, status FROM runs ORDER BY created_at, id")).all()
    for run_id, status in runs:
        bodies = []
        proposal = conn.execute(
            sa.text("SELECT body, sha256 FROM proposals WHERE run_id = :r"), {"r": run_id}
        ).first()
        if proposal is not None:
            trades = conn.execute(
                sa.text("SELECT * FROM trades WHERE run_id = :r ORDER BY ordinal"), {"r": run_id}
            ).mappings()
            bodies.append(
                (PROPOSAL, proposal_body(proposal.sha256, [row_record(t) for t in trades], 0, 0))
            )
        bodies.append((STATUS, {"status": status}))
        for kind, body in bodies:
            seq += 1
            content = {
                "seq": seq,
                "run_id": run_id,
                "kind": kind,
                "body": canonical_json(body),
                "at": "",
                "prev_hash": prev,
            }
            link = link_hash(content)
            conn.execute(entries.insert().values(**content, hash=link, mac=mac(key, link)))
            prev = link
    if seq:
        conn.execute(heads.update().where(heads.c.name == "run_entries").values(seq=seq, hash=prev))


def parse(body: str) -> dict[str, Any]:
    return json.loads(body)
