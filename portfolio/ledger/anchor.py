"""Anchors: the heads of every chain, written outside the database.

A keyed chain catches a rewrite, but not a wipe: whoever deletes a whole journal together with
its head row leaves nothing to verify. An anchor taken earlier (daily, kept where the database's
users cannot write) names the links that must still be there.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from portfolio.broker import now_iso
from portfolio.ledger.errors import LedgerError
from portfolio.ledger.store import Ledger

FORMAT = "rebalance-desk-ledger-anchor/1"


def make_anchor(ledger: Ledger) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "created_at": now_iso(),
        "heads": [h.model_dump(mode="json") for h in ledger.heads()],
    }


def anchor_json(ledger: Ledger) -> str:
    return json.dumps(make_anchor(ledger), indent=2) + "\n"


def read_anchor(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise LedgerError(f"cannot read the anchor {path}: {exc.strerror or exc}") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise LedgerError(f"{path} is not an anchor file (not JSON)") from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or "heads" not in doc:
        raise LedgerError(f"{path} is not an anchor file written by `anchor`")
    return doc


def check_anchor(ledger: Ledger, doc: dict[str, Any]) -> list[str]:
    """What the anchor names that the chains no longer hold, one sentence each."""
    problems = []
    for head in doc["heads"]:
        name, seq = str(head.get("name")), int(head.get("seq") or 0)
        if seq == 0:
            continue
        when = f"anchored {doc.get('created_at', '')[:19]}"
        try:
            found = ledger.link(name, seq)
        except KeyError:
            problems.append(f"{name}: the anchor names a journal this ledger does not have")
            continue
        if found is None:
            problems.append(
                f"{name}: link {seq} ({when}) is missing: the journal was truncated or wiped"
            )
        elif found.hash != head.get("hash") or found.mac != head.get("mac"):
            problems.append(
                f"{name}: link {seq} ({when}) differs from the anchor: it was rewritten"
            )
    return problems
