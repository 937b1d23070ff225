"""Ledger errors: each one means nothing was written, and its message is fit for the advisor."""

from __future__ import annotations


class LedgerError(ValueError):
    """Base class; the CLI prints `error: <message>` and exits 2."""


class UnknownRun(LedgerError):
    pass


class UnknownTrade(LedgerError):
    pass


class ConflictError(LedgerError):
    """The request contradicts the record: approving a compliance veto, re-deciding a sent order."""


class NothingToExecute(LedgerError):
    pass


class TamperedError(LedgerError):
    """The tables disagree with the chain, or the chain itself is broken: nothing is executed."""
