"""The firm's people an admin manages on Settings, kept in the ledger beside the `[firm]` secrets.

The secrets table stays the root of trust: a person it lists keeps the role it gives, whatever
the ledger says, so the first admin is named there and no page can lock them out.

Every change is a chained, keyed entry in `firm_entries` (kind 'put' or 'remove'), written in the
same transaction as the `firm_people` row. Roles decide who may approve and execute, so the table
is only a copy: a person is given a role only when their row matches what the chain replays to,
and a row edited, inserted or deleted behind the chain is left out and named (`check`, `verify`).
When the journal itself is broken, no row of the table is trusted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from portfolio.access import Firm, Identity, Person, may
from portfolio.ledger import chain
from portfolio.ledger.engine import WRITE
from portfolio.ledger.errors import LedgerError
from portfolio.ledger.schema import ChainHead, FirmEntry, FirmPersonRow

PUT = "put"
REMOVE = "remove"
JOURNAL = FirmEntry.__tablename__
TABLE = FirmPersonRow.__tablename__
FIELDS = ("name", "role", "team")


@dataclass
class PeopleCheck:
    """The people the chain vouches for, and what differs from it (one dict per problem, in
    `VerifyReport.tables` form, or the chain's own first broken link)."""

    people: list[Person] = field(default_factory=list)
    problems: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def sentences(self) -> list[str]:
        return [p["reason"] for p in self.problems]


def replay(entries: Iterable[FirmEntry]) -> dict[str, dict[str, str]]:
    """person id -> {name, role, team} after every entry in sequence order; removed people are
    absent."""
    out: dict[str, dict[str, str]] = {}
    for e in entries:
        if e.kind == PUT:
            out[e.person_id] = {"name": e.name, "role": e.role, "team": e.team}
        else:
            out.pop(e.person_id, None)
    return out


def _problem(person: str, reason: str) -> dict[str, Any]:
    return {
        "journal": TABLE,
        "seq": None,
        "id": None,
        "run_id": None,
        "person": person,
        "reason": f"{reason}; they are given no role from the table until an admin saves them "
        "again on Settings",
    }


def compare(session: Session) -> PeopleCheck:
    """The `firm_people` rows against the replay of a chain already verified."""
    chained = replay(session.execute(select(FirmEntry).order_by(FirmEntry.seq)).scalars())
    rows = {r.id: r for r in session.execute(select(FirmPersonRow)).scalars()}
    report = PeopleCheck()
    for pid in sorted(set(chained) | set(rows)):
        row, want = rows.get(pid), chained.get(pid)
        if want is None:
            assert row is not None
            report.problems.append(
                _problem(pid, f"{pid} is in the {TABLE} table as {row.role} but not in the chain")
            )
            continue
        if row is None:
            report.problems.append(
                _problem(pid, f"{pid} ({want['role']}) was deleted from the {TABLE} table")
            )
            continue
        differs = [f for f in FIELDS if getattr(row, f) != want[f]]
        if differs:
            said = ", ".join(
                f"{f} is {getattr(row, f)!r} but {want[f]!r} in the chain" for f in differs
            )
            report.problems.append(_problem(pid, f"{pid}: in the {TABLE} table, {said}"))
            continue
        try:
            report.people.append(Person(id=pid, **want))  # type: ignore[arg-type]
        except ValidationError:
            report.problems.append(_problem(pid, f"{pid}: the chained entry is not a valid person"))
    return report


def check(session: Session, key: bytes) -> PeopleCheck:
    """Walk the journal, then compare the table with it; a broken journal vouches for nobody."""
    walked = chain.verify_segment(session, FirmEntry, key)
    if not walked.ok:
        assert walked.broken is not None
        return PeopleCheck(
            problems=[
                {
                    "journal": JOURNAL,
                    **walked.broken,
                    "reason": f"the firm's people journal is broken at link "
                    f"{walked.broken['seq']}: {walked.broken['reason']}; nobody added on "
                    "Settings is given a role until it is restored",
                }
            ]
        )
    return compare(session)


def _now() -> str:
    return datetime.now(UTC).isoformat()


class FirmPeople:
    """`key` is the firm key sealing the ledger's chains (`Ledger.people` passes it)."""

    def __init__(self, engine: Engine, key: bytes) -> None:
        self.engine = engine
        self._key = key

    def check(self) -> PeopleCheck:
        with Session(self.engine) as s, s.begin():
            return check(s, self._key)

    def list(self) -> list[Person]:
        """The people whose row matches the chain: what access control reads."""
        return self.check().people

    def _check(self, who: Identity, firm: Firm) -> None:
        if firm.local or not may(who, "manage_firm", None, firm):
            raise LedgerError(f"the {who.role} role cannot manage the firm's people")

    def _entry(self, s: Session, kind: str, person: dict[str, str], who: Identity) -> None:
        values = {"kind": kind, **person, "changed_by": who.id, "at": _now()}
        chain.append(s, FirmEntry, values, self._key)

    def put(self, person: Person, who: Identity, firm: Firm) -> None:
        """Add or change a person (an admin only); someone the secrets list is left as is."""
        self._check(who, firm)
        if person.id in firm.secret_ids:
            raise LedgerError(f"{person.id} is set in the secrets file; change them there")
        with Session(self.engine) as s, s.begin():
            s.connection(execution_options={WRITE: True})
            row = s.get(FirmPersonRow, person.id) or FirmPersonRow(id=person.id)
            row.name, row.role, row.team = person.name, person.role, person.team
            row.updated_by, row.updated_at = who.id, datetime.now(UTC)
            s.add(row)
            s.flush()  # the row is written first: if its entry fails, both are rolled back
            values = {"person_id": person.id, "name": person.name, "role": person.role}
            self._entry(s, PUT, {**values, "team": person.team}, who)

    def remove(self, person_id: str, who: Identity, firm: Firm) -> None:
        """Remove a person the chain or the table holds (a row inserted behind the chain too)."""
        self._check(who, firm)
        pid = person_id.strip().lower()
        with Session(self.engine) as s, s.begin():
            s.connection(execution_options={WRITE: True})
            # Lock the head before reading what the chain says, so two removals queue.
            s.execute(select(ChainHead).where(ChainHead.name == JOURNAL).with_for_update())
            last = s.execute(
                select(FirmEntry)
                .where(FirmEntry.person_id == pid)
                .order_by(FirmEntry.seq.desc())
                .limit(1)
            ).scalar_one_or_none()
            row = s.get(FirmPersonRow, pid)
            if last is not None and last.kind == PUT:
                was = {f: getattr(last, f) for f in FIELDS}
            elif row is not None:
                was = {f: getattr(row, f) for f in FIELDS}
            else:
                raise LedgerError(f"{person_id} was not added on this page")
            self._entry(s, REMOVE, {"person_id": pid, **was}, who)
            if row is not None:
                s.delete(row)
