"""Client records: the advisor's list of clients, each with its household accounts (and their tax
types), notes, mandate, uploads and runs, kept in the ledger's database.

A client is created explicitly (`create`), and a file is added to one named client
(`add_upload`); nothing here ever guesses which client a file belongs to. An upload supplies the
accounts it holds: an account the client already has is replaced by the newer file's holdings,
a new one is added. The client's book is, for every account, the holdings of the upload that last
supplied it. Each method is one transaction; one that raises has written nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import Engine, Text, cast, func, select
from sqlalchemy.orm import Session

from portfolio.access import clean_name
from portfolio.accounts import classify_account_type
from portfolio.holdings_merge import merge_holdings
from portfolio.ledger.errors import LedgerError
from portfolio.ledger.schema import (
    Client,
    ClientAccountRow,
    ClientCashRequestRow,
    ClientRecordRow,
    Run,
    Snapshot,
    TradeRow,
)
from portfolio.ledger.session import Transactions
from portfolio.ledger.snapshots import snapshot_row
from portfolio.models import CashRequest, ClientMandate, Holdings, ModelPortfolio

TaxType = Literal["taxable", "tax_deferred", "tax_free"]
TAX_TYPES: tuple[TaxType, ...] = ("taxable", "tax_deferred", "tax_free")
TAX_TYPE_LABELS: dict[str, str] = {
    "taxable": "Taxable",
    "tax_deferred": "Tax-deferred (traditional IRA, 401(k))",
    "tax_free": "Tax-free (Roth)",
}


class UnknownClient(LedgerError):
    """No client record with that id."""


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def suggest_tax_type(account: str) -> TaxType:
    """A first suggestion from the account's name, which the advisor confirms on the Client page:
    custodians name Roth accounts "Roth" and traditional retirement accounts IRA, 401(k), 403(b),
    SEP or rollover. Anything else starts as taxable."""
    name = account.lower()
    if "roth" in name:
        return "tax_free"
    if re.search(r"\b(ira|401\s*\(?k\)?|403\s*\(?b\)?|457|sep|simple|rollover)\b", name):
        return "tax_deferred"
    if re.search(r"(^|[^a-z])ira([^a-z]|$)", name):  # Contributory_IRA, Rollover_IRA
        return "tax_deferred"
    return "taxable"


def _first_tax_type(holdings: Holdings, account: str) -> TaxType:
    """The file's account-type column when it names a known type, else the name's suggestion."""
    stated = classify_account_type(holdings.account_types.get(account, ""))
    return stated if stated is not None else suggest_tax_type(account)


class ClientAccount(BaseModel):
    account: str
    tax_type: TaxType
    snapshot_id: int | None = Field(description="The upload that last supplied this account")
    filename: str | None = None


class PartialAck(BaseModel):
    """The advisor's agreement to go on without a book's unread rows. It holds for that book
    only (`snapshot_id`, the snapshot a run starts from): another file needs its own."""

    snapshot_id: int
    acknowledged_by: str
    at: str


class ClientRecord(BaseModel):
    id: int
    name: str
    owner: str | None = Field(description="The advisor identity that created the record")
    notes: str = ""
    mandate: ClientMandate | None = None
    model: ModelPortfolio | None = None
    accounts: list[ClientAccount] = Field(default_factory=list)
    created_at: str | None = None
    updated_at: str | None = None
    partial_ack: PartialAck | None = Field(
        default=None, description="'Proceed without these rows', for the book it was given on"
    )


class SavedCashRequest(BaseModel):
    """A cash request as kept with the client: the request, its record id, who asked."""

    id: int
    request: CashRequest
    created_by: str | None = None
    created_at: str | None = None


class ClientSummary(BaseModel):
    """One line of the client list."""

    id: int
    name: str
    owner: str | None
    accounts: int
    uploads: int
    runs: int
    updated_at: str | None


class Upload(BaseModel):
    snapshot_id: int
    filename: str
    format: str
    sha256: str
    accounts: list[str]
    positions: int
    total_value: float
    created_at: str | None


class AddedUpload(BaseModel):
    """What an upload did to the client's accounts."""

    snapshot_id: int
    added: list[str]
    replaced: list[str]


class ClientBook(BaseModel):
    """The client's holdings as one book, and the uploads (each cut to the accounts it still
    supplies) it is made of."""

    holdings: Holdings
    parts: list[Holdings]
    snapshot_ids: list[int]


class ClientRecords(Transactions):
    """Client records on the ledger's engine (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _record(self, s: Session, client_id: int, lock: bool = False) -> ClientRecordRow:
        stmt = select(ClientRecordRow).where(ClientRecordRow.client_id == client_id)
        row = s.execute(stmt.with_for_update() if lock else stmt).scalar_one_or_none()
        if row is None:
            raise UnknownClient(f"no client {client_id}")
        return row

    # ---------------------------------------------------------------- the list

    def create(
        self,
        name: str,
        *,
        owner: str | None = None,
        notes: str = "",
        mandate: ClientMandate | None = None,
    ) -> ClientRecord:
        """A new client, always: two clients may share a name, a record is never reused."""
        name = clean_name(name)
        with self._write() as s:
            client = Client(key=f"record:{secrets.token_hex(8)}", name=name, created_at=_now())
            s.add(client)
            s.flush()
            s.add(
                ClientRecordRow(
                    client_id=client.id,
                    owner=owner,
                    notes=notes,
                    mandate=mandate.model_dump(mode="json") if mandate else None,
                    model_portfolio=None,
                    created_at=client.created_at,
                    updated_at=client.created_at,
                )
            )
        return self.get(client.id)

    def clients(self, owner: str | None = None) -> list[ClientSummary]:
        """Every client record (or one owner's), most recently changed first."""
        with self._read() as s:
            accounts = (
                select(ClientAccountRow.client_id, func.count().label("n"))
                .group_by(ClientAccountRow.client_id)
                .subquery()
            )
            uploads = (
                select(Snapshot.client_id, func.count().label("n"))
                .where(Snapshot.kind == "upload", Snapshot.source.is_not(None))
                .group_by(Snapshot.client_id)
                .subquery()
            )
            runs = (
                select(Run.client_id, func.count().label("n"), func.max(Run.created_at).label("t"))
                .group_by(Run.client_id)
                .subquery()
            )
            stmt = (
                select(Client, ClientRecordRow, accounts.c.n, uploads.c.n, runs.c.n, runs.c.t)
                .join(ClientRecordRow, ClientRecordRow.client_id == Client.id)
                .outerjoin(accounts, accounts.c.client_id == Client.id)
                .outerjoin(uploads, uploads.c.client_id == Client.id)
                .outerjoin(runs, runs.c.client_id == Client.id)
            )
            if owner is not None:
                stmt = stmt.where(ClientRecordRow.owner == owner)
            out = []
            for client, rec, n_acc, n_up, n_runs, last_run in s.execute(stmt).all():
                changed = max(
                    (t.replace(tzinfo=t.tzinfo or UTC) for t in (rec.updated_at, last_run) if t),
                    default=None,
                )
                out.append(
                    ClientSummary(
                        id=client.id,
                        name=client.name,
                        owner=rec.owner,
                        accounts=n_acc or 0,
                        uploads=n_up or 0,
                        runs=n_runs or 0,
                        updated_at=_iso(changed),
                    )
                )
            return sorted(out, key=lambda c: (c.updated_at or "", c.id), reverse=True)

    def get(self, client_id: int) -> ClientRecord:
        with self._read() as s:
            rec = self._record(s, client_id)
            client = s.get(Client, client_id)
            assert client is not None
            rows = s.execute(
                select(ClientAccountRow, Snapshot.filename)
                .outerjoin(Snapshot, Snapshot.id == ClientAccountRow.snapshot_id)
                .where(ClientAccountRow.client_id == client_id)
                .order_by(ClientAccountRow.id)
            ).all()
            return ClientRecord(
                id=client.id,
                name=client.name,
                owner=rec.owner,
                notes=rec.notes or "",
                mandate=ClientMandate.model_validate(rec.mandate) if rec.mandate else None,
                model=(
                    ModelPortfolio.model_validate(rec.model_portfolio)
                    if rec.model_portfolio
                    else None
                ),
                accounts=[
                    ClientAccount(
                        account=a.account,
                        tax_type=a.tax_type,  # type: ignore[arg-type]
                        snapshot_id=a.snapshot_id,
                        filename=filename,
                    )
                    for a, filename in rows
                ],
                created_at=_iso(rec.created_at),
                updated_at=_iso(rec.updated_at),
                partial_ack=PartialAck.model_validate(rec.partial_ack) if rec.partial_ack else None,
            )

    def exists(self, client_id: int) -> bool:
        with self._read() as s:
            return s.get(ClientRecordRow, client_id) is not None

    # ---------------------------------------------------------------- notes and mandate

    _UNSET: Any = object()

    def save_mandate(
        self,
        client_id: int,
        *,
        notes: str | None = None,
        mandate: ClientMandate | None = _UNSET,
        model: ModelPortfolio | None = _UNSET,
    ) -> None:
        """Keep what the advisor set; arguments left out stay as they were (None clears)."""
        with self._write() as s:
            rec = self._record(s, client_id, lock=True)
            if notes is not None:
                rec.notes = notes
            if mandate is not self._UNSET:
                rec.mandate = mandate.model_dump(mode="json") if mandate else None
            if model is not self._UNSET:
                rec.model_portfolio = model.model_dump(mode="json") if model else None
            rec.updated_at = _now()

    def set_partial_ack(self, client_id: int, snapshot_id: int, by: str | None) -> None:
        """Keep (`by` a name) or withdraw (`by` None) the advisor's "Proceed without these rows"
        for the book `snapshot_id`. Kept only while that is the client's book: `partial_ack`
        answers for the snapshot it names."""
        with self._write() as s:
            rec = self._record(s, client_id, lock=True)
            if by is None:
                if rec.partial_ack and rec.partial_ack.get("snapshot_id") == snapshot_id:
                    rec.partial_ack = None
            else:
                ack = PartialAck(snapshot_id=snapshot_id, acknowledged_by=by, at=_iso(_now()) or "")
                rec.partial_ack = ack.model_dump(mode="json")
            rec.updated_at = _now()

    def partial_ack(self, client_id: int, snapshot_id: int) -> PartialAck | None:
        """The acknowledgement given on this very book, else None."""
        ack = self.get(client_id).partial_ack
        return ack if ack is not None and ack.snapshot_id == snapshot_id else None

    # ---------------------------------------------------------------- accounts and uploads

    def add_upload(
        self, client_id: int, holdings: Holdings, source_bytes: bytes | None, filename: str
    ) -> AddedUpload:
        """Keep the file (bytes, SHA-256, import report) and make it the source of every account
        it holds; accounts new to the client start with the type the file's account-type column
        states, else the one their name suggests."""
        accounts = holdings.accounts
        if not accounts:
            raise LedgerError(f"{filename or 'the file'} holds no account to add")
        with self._write() as s:
            rec = self._record(s, client_id, lock=True)
            snap = snapshot_row(client_id, holdings, source_bytes, filename or holdings.source)
            s.add(snap)
            s.flush()
            have = {
                a.account: a
                for a in s.execute(
                    select(ClientAccountRow).where(ClientAccountRow.client_id == client_id)
                ).scalars()
            }
            added, replaced = [], []
            for account in accounts:
                row = have.get(account)
                if row is None:
                    s.add(
                        ClientAccountRow(
                            client_id=client_id,
                            account=account,
                            tax_type=_first_tax_type(holdings, account),
                            snapshot_id=snap.id,
                            added_at=_now(),
                        )
                    )
                    added.append(account)
                else:
                    row.snapshot_id = snap.id
                    replaced.append(account)
            rec.updated_at = _now()
            return AddedUpload(snapshot_id=snap.id, added=added, replaced=replaced)

    def set_tax_type(self, client_id: int, account: str, tax_type: str) -> None:
        if tax_type not in TAX_TYPES:
            raise LedgerError(f"{tax_type!r} is not a tax type ({', '.join(TAX_TYPES)})")
        with self._write() as s:
            rec = self._record(s, client_id, lock=True)
            row = self._account(s, client_id, account)
            row.tax_type = tax_type
            rec.updated_at = _now()

    def remove_account(self, client_id: int, account: str) -> None:
        """The account leaves the client's book; its uploads stay on record, its cash requests
        go with it."""
        with self._write() as s:
            rec = self._record(s, client_id, lock=True)
            s.delete(self._account(s, client_id, account))
            for r in s.execute(
                select(ClientCashRequestRow).where(
                    ClientCashRequestRow.client_id == client_id,
                    ClientCashRequestRow.account == account,
                )
            ).scalars():
                s.delete(r)
            rec.updated_at = _now()

    # ---------------------------------------------------------------- cash requests

    def cash_requests(self, client_id: int) -> list[SavedCashRequest]:
        """The client's withdrawals and deposits, in the order they were asked for."""
        with self._read() as s:
            self._record(s, client_id)
            rows = s.execute(
                select(ClientCashRequestRow)
                .where(ClientCashRequestRow.client_id == client_id)
                .order_by(ClientCashRequestRow.id)
            ).scalars()
            return [
                SavedCashRequest(
                    id=r.id,
                    request=CashRequest(
                        account=r.account,
                        amount=r.amount,
                        kind=r.kind,  # type: ignore[arg-type]
                        note=r.note or "",
                    ),
                    created_by=r.created_by,
                    created_at=_iso(r.created_at),
                )
                for r in rows
            ]

    def add_cash_request(
        self, client_id: int, request: CashRequest, *, by: str | None = None
    ) -> SavedCashRequest:
        """Keep a request for one of the client's accounts (checked against the accounts here;
        against what the account holds by `portfolio.cash_requests.validate`)."""
        with self._write() as s:
            rec = self._record(s, client_id, lock=True)
            self._account(s, client_id, request.account)
            row = ClientCashRequestRow(
                client_id=client_id,
                account=request.account,
                kind=request.kind,
                amount=request.amount,
                note=request.note,
                created_by=by,
                created_at=_now(),
            )
            s.add(row)
            rec.updated_at = _now()
            s.flush()
            return SavedCashRequest(
                id=row.id, request=request, created_by=by, created_at=_iso(row.created_at)
            )

    def remove_cash_request(self, client_id: int, request_id: int) -> None:
        with self._write() as s:
            rec = self._record(s, client_id, lock=True)
            row = s.get(ClientCashRequestRow, request_id)
            if row is None or row.client_id != client_id:
                raise LedgerError(f"client {client_id} has no cash request {request_id}")
            s.delete(row)
            rec.updated_at = _now()

    def settle_cash_requests(self, client_id: int, done: list[CashRequest]) -> int:
        """Take requests an execution carried out off the record (one row per request, matched
        on account, kind, amount and note), so the next run does not plan them again."""
        removed = 0
        with self._write() as s:
            rec = self._record(s, client_id, lock=True)
            rows = list(
                s.execute(
                    select(ClientCashRequestRow)
                    .where(ClientCashRequestRow.client_id == client_id)
                    .order_by(ClientCashRequestRow.id)
                ).scalars()
            )
            for r in done:
                match = next(
                    (
                        row
                        for row in rows
                        if (row.account, row.kind, (row.note or ""))
                        == (r.account, r.kind, r.note or "")
                        and abs(row.amount - r.amount) < 0.005
                    ),
                    None,
                )
                if match is not None:
                    rows.remove(match)
                    s.delete(match)
                    removed += 1
            if removed:
                rec.updated_at = _now()
        return removed

    def _account(self, s: Session, client_id: int, account: str) -> ClientAccountRow:
        row = s.execute(
            select(ClientAccountRow).where(
                ClientAccountRow.client_id == client_id, ClientAccountRow.account == account
            )
        ).scalar_one_or_none()
        if row is None:
            raise LedgerError(f"client {client_id} has no account {account!r}")
        return row

    def uploads(self, client_id: int) -> list[Upload]:
        """Every file added to the client, newest first (replaced ones too: they are records)."""
        with self._read() as s:
            self._record(s, client_id)
            rows = s.execute(
                select(Snapshot)
                .where(
                    Snapshot.client_id == client_id,
                    Snapshot.kind == "upload",
                    Snapshot.source.is_not(None),
                )
                .order_by(Snapshot.id.desc())
            ).scalars()
            return [
                Upload(
                    snapshot_id=r.id,
                    filename=r.filename,
                    format=r.format,
                    sha256=r.sha256,
                    accounts=sorted({p["account"] for p in r.holdings.get("positions", [])}),
                    positions=int(r.import_report.get("positions", 0)),
                    total_value=float(r.import_report.get("total_value", 0.0)),
                    created_at=_iso(r.created_at),
                )
                for r in rows
            ]

    def runs(self, client_id: int) -> list[dict[str, Any]]:
        """The client's runs, newest first."""
        with self._read() as s:
            self._record(s, client_id)
            counts = (
                select(TradeRow.run_id, func.count().label("n"))
                .group_by(TradeRow.run_id)
                .subquery()
            )
            rows = s.execute(
                select(Run, counts.c.n)
                .outerjoin(counts, counts.c.run_id == Run.id)
                .where(Run.client_id == client_id)
                .order_by(Run.created_at.desc(), Run.id)
            ).all()
            return [
                {
                    "run_id": r.id,
                    "created_at": _iso(r.created_at),
                    "status": r.status,
                    "trades": n or 0,
                    "started_by": (r.settings or {}).get("started_by"),
                }
                for r, n in rows
            ]

    def client_of_run(self, run_id: str) -> int | None:
        """The record a run belongs to; None for an unknown run or one without a record."""
        with self._read() as s:
            return s.execute(
                select(ClientRecordRow.client_id)
                .join(Run, Run.client_id == ClientRecordRow.client_id)
                .where(Run.id == run_id)
            ).scalar_one_or_none()

    # ---------------------------------------------------------------- the book

    def book(self, client_id: int) -> ClientBook | None:
        """The client's holdings, every account from the upload that last supplied it; None when
        the client has no account yet."""
        with self._read() as s:
            self._record(s, client_id)
            rows = list(
                s.execute(
                    select(ClientAccountRow)
                    .where(
                        ClientAccountRow.client_id == client_id,
                        ClientAccountRow.snapshot_id.is_not(None),
                    )
                    .order_by(ClientAccountRow.id)
                ).scalars()
            )
            by_snapshot = _accounts_by_snapshot(rows)
            snaps = {sid: s.get(Snapshot, sid) for sid in by_snapshot}
            return _assemble(by_snapshot, {k: v.holdings for k, v in snaps.items() if v})

    def all_cash_requests(self) -> dict[int, list[CashRequest]]:
        """Client id -> its withdrawals and deposits, for every client, in one query."""
        out: dict[int, list[CashRequest]] = {}
        with self._read() as s:
            for r in s.execute(
                select(ClientCashRequestRow).order_by(ClientCashRequestRow.id)
            ).scalars():
                out.setdefault(r.client_id, []).append(
                    CashRequest(
                        account=r.account,
                        amount=r.amount,
                        kind=r.kind,  # type: ignore[arg-type]
                        note=r.note or "",
                    )
                )
        return out

    def fingerprint(self) -> tuple[Any, ...]:
        """Changes whenever a record, its accounts, uploads, requests or runs change (each of
        those writes stamps the record or the run): a practice view computed for one value holds
        until the value moves.

        A digest of every row's stamp, not the newest one: app servers sharing a database stamp
        with their own clocks, and a change stamped by a server whose clock lags would not move
        a maximum, while it always moves its own row's stamp."""
        digest = hashlib.blake2b(digest_size=16)
        counts = []
        with self._read() as s:
            for key, stamp in (
                (ClientRecordRow.client_id, ClientRecordRow.updated_at),
                (Run.id, Run.updated_at),
            ):
                # Stamps as the database's text: no datetime is built per row.
                rows = s.execute(select(key, cast(stamp, Text)).order_by(key)).all()
                digest.update("\x1e".join(f"{k}\x1f{t}" for k, t in rows).encode())
                counts.append(len(rows))
        return (*counts, digest.hexdigest())

    def books(
        self, client_ids: Collection[int] | None = None
    ) -> list[tuple[ClientRecord, ClientBook, dict[str, Any] | None]]:
        """Every client with an account (or those of `client_ids`), by id: its record, its book
        and its latest run (id, status), read in a few queries whatever the number of clients,
        for the practice view.

        Columns, not ORM objects, and stored JSON parsed by pydantic from its text in one pass:
        a practice of thousands of households is read in about a second. Only the chosen
        clients' uploads are read and parsed."""
        only = None if client_ids is None else set(client_ids)
        with self._read() as s:
            recs = s.execute(
                select(
                    Client.id,
                    Client.name,
                    ClientRecordRow.owner,
                    ClientRecordRow.notes,
                    cast(ClientRecordRow.mandate, Text),
                    ClientRecordRow.created_at,
                    ClientRecordRow.updated_at,
                )
                .join(ClientRecordRow, ClientRecordRow.client_id == Client.id)
                .order_by(Client.id)
            ).all()
            if only is not None:
                recs = [r for r in recs if r[0] in only]
            accounts: dict[int, list[ClientAccount]] = {}
            for cid, account, tax_type, sid in s.execute(
                select(
                    ClientAccountRow.client_id,
                    ClientAccountRow.account,
                    ClientAccountRow.tax_type,
                    ClientAccountRow.snapshot_id,
                ).order_by(ClientAccountRow.id)
            ).all():
                if only is not None and cid not in only:
                    continue
                accounts.setdefault(cid, []).append(
                    ClientAccount(account=account, tax_type=tax_type, snapshot_id=sid)
                )
            wanted = sorted(
                {int(a.snapshot_id) for v in accounts.values() for a in v if a.snapshot_id}
            )
            # Keyed by content and time too: a database recreated at one address reuses ids.
            db = str(self.engine.url)
            keys: dict[int, tuple[str, int, str]] = {}
            for i in range(0, len(wanted), 500):  # bound the IN list (SQLite's variable limit)
                chunk = wanted[i : i + 500]
                for sid, sha, at in s.execute(
                    select(Snapshot.id, Snapshot.sha256, Snapshot.created_at).where(
                        Snapshot.id.in_(chunk)
                    )
                ).all():
                    keys[sid] = (db, sid, f"{sha}@{at}")
            snaps: dict[int, Any] = {sid: _PARSED[k] for sid, k in keys.items() if k in _PARSED}
            missing = [sid for sid in wanted if sid not in snaps]
            for i in range(0, len(missing), 500):
                chunk = missing[i : i + 500]
                for sid, body in s.execute(
                    select(Snapshot.id, cast(Snapshot.holdings, Text)).where(Snapshot.id.in_(chunk))
                ).all():
                    snaps[sid] = _PARSED[keys[sid]] = Holdings.model_validate_json(body)
            latest: dict[int, dict[str, Any]] = {}
            for cid, rid, status in s.execute(
                select(Run.client_id, Run.id, Run.status)
                .where(Run.client_id.is_not(None))
                .order_by(Run.created_at.desc(), Run.id)
            ).all():
                latest.setdefault(cid, {"run_id": rid, "status": status})
        out = []
        for cid, name, owner, notes, mandate, created, updated in recs:
            rows = accounts.get(cid, [])
            book = _assemble(_accounts_by_snapshot(rows), snaps)
            if book is None:
                continue
            record = ClientRecord(
                id=cid,
                name=name,
                owner=owner,
                notes=notes or "",
                mandate=_mandate_from_text(mandate),
                accounts=rows,
                created_at=_iso(created),
                updated_at=_iso(updated),
            )
            out.append((record, book, latest.get(cid)))
        return out

    def book_snapshot(self, client_id: int) -> tuple[ClientBook, int] | None:
        """The book and the snapshot a run starts from: the upload itself when the book is one
        whole file, else the assembled book, kept once per distinct content."""
        book = self.book(client_id)
        if book is None:
            return None
        with self._write() as s:
            self._record(s, client_id, lock=True)
            if len(book.snapshot_ids) == 1:
                only = s.get(Snapshot, book.snapshot_ids[0])
                assert only is not None
                if Holdings.model_validate(only.holdings) == book.holdings:
                    return book, only.id
            snap = snapshot_row(client_id, book.holdings, None, book.holdings.source)
            found = s.execute(
                select(Snapshot.id).where(
                    Snapshot.client_id == client_id,
                    Snapshot.kind == "upload",
                    Snapshot.sha256 == snap.sha256,
                    Snapshot.source.is_(None),
                    Snapshot.run_id.is_(None),
                )
            ).scalar()
            if found is not None:
                return book, int(found)
            s.add(snap)
            s.flush()
            return book, snap.id


def _mandate_from_text(text: str | None) -> ClientMandate | None:
    """A stored mandate from its JSON text; SQL NULL, JSON null or an empty object is none."""
    data = json.loads(text) if text else None
    return ClientMandate.model_validate(data) if data else None


def _accounts_by_snapshot(
    rows: list[ClientAccountRow] | list[ClientAccount],
) -> dict[int, set[str]]:
    """Upload -> the accounts the client's book still takes from it."""
    out: dict[int, set[str]] = {}
    for a in rows:
        if a.snapshot_id is not None:
            out.setdefault(int(a.snapshot_id), set()).add(a.account)
    return out


class _Parsed(dict):  # type: ignore[type-arg]
    """(database, snapshot id, hash and time kept) -> its holdings, parsed once per process: a kept
    snapshot never changes, so the practice view need not parse thousands on every visit."""

    LIMIT = 50_000
    _lock = threading.Lock()  # sessions read the book on their own threads

    def __setitem__(self, key: Any, value: Any) -> None:
        with self._lock:
            while len(self) >= self.LIMIT:
                self.pop(next(iter(self)), None)
            super().__setitem__(key, value)


_PARSED = _Parsed()


def _assemble(by_snapshot: dict[int, set[str]], bodies: dict[int, Any]) -> ClientBook | None:
    """The book from its uploads' stored holdings, each cut to the accounts it still supplies."""
    parts: list[Holdings] = []
    for sid in sorted(by_snapshot):
        body = bodies[sid]
        h = body if isinstance(body, Holdings) else Holdings.model_validate(body)
        keep = by_snapshot[sid]
        if {p.account for p in h.positions} - keep:
            h = h.model_copy(update={"positions": [p for p in h.positions if p.account in keep]})
        parts.append(h)
    if not parts:
        return None
    return ClientBook(holdings=merge_holdings(parts), parts=parts, snapshot_ids=sorted(by_snapshot))
