"""One way to keep a book as a snapshot row: the store's uploads and execution snapshots and the
client records' uploads are hashed and reported alike."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from portfolio.ledger import chain
from portfolio.ledger.schema import Snapshot
from portfolio.models import Holdings


def import_report(holdings: Holdings) -> dict[str, Any]:
    return {
        "format": holdings.format,
        "positions": len(holdings.positions),
        "total_value": holdings.total_value,
        "issues": [i.model_dump(mode="json") for i in holdings.issues],
        "skipped": [s.model_dump(mode="json") for s in holdings.skipped],
    }


def snapshot_row(
    client_id: int,
    holdings: Holdings,
    source_bytes: bytes | None,
    filename: str,
    kind: str = "upload",
    run_id: str | None = None,
) -> Snapshot:
    """The row (not yet added): the SHA-256 is of the original bytes when there are any, else of
    the book's canonical JSON."""
    body = holdings.model_dump(mode="json")
    digest = hashlib.sha256(
        source_bytes if source_bytes is not None else chain.canonical_json(body).encode()
    ).hexdigest()
    return Snapshot(
        client_id=client_id,
        kind=kind,
        filename=filename,
        sha256=digest,
        format=holdings.format,
        source=source_bytes,
        holdings=body,
        import_report=import_report(holdings),
        run_id=run_id,
        created_at=datetime.now(UTC),
    )
