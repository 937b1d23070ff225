"""Several uploaded files become one client book; every row keeps its file in its messages."""

from __future__ import annotations

from collections.abc import Sequence

from portfolio.models import Holdings


def merge_holdings(books: Sequence[Holdings]) -> Holdings:
    """Concatenate books; issue and skipped-row messages name the file they came from."""
    if len(books) == 1:
        return books[0]
    positions, issues, skipped = [], [], []
    types: dict[str, str] = {}
    for b in books:
        types.update(b.account_types)  # a later file's registration for the same account wins
        tag = f"{b.source}: " if b.source else ""
        positions.extend(b.positions)
        issues.extend(i.model_copy(update={"message": tag + i.message}) for i in b.issues)
        skipped.extend(s.model_copy(update={"reason": tag + s.reason}) for s in b.skipped)
    formats = sorted({b.format for b in books})
    return Holdings(
        source=", ".join(b.source for b in books if b.source),
        format=formats[0] if len(formats) == 1 else "mixed",
        positions=positions,
        issues=issues,
        skipped=skipped,
        account_types=types,
    )
