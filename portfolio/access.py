"""Who may see and do what: the firm's people, their roles, and the four-eyes rule.

A firm file (`[firm]` in the app's secrets) names each signed-in identity's role and team.
Without one the desk runs in local mode: a single advisor, unauthenticated, who may do
everything, but whose name must still be a name (not empty, not invisible characters).

Roles (what a supervisory procedure at an advisory firm usually separates):
- advisor: their own clients (view, decide trades);
- supervisor: their team's clients; may sign off a run for execution (the second pair of eyes);
- operations: execute and export, every client; decides nothing;
- auditor: reads and exports everything, changes nothing;
- admin: everything, and manages the firm's people.
"""

from __future__ import annotations

import tomllib
import unicodedata
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Role = Literal["advisor", "supervisor", "operations", "auditor", "admin"]
ROLES: tuple[Role, ...] = ("advisor", "supervisor", "operations", "auditor", "admin")
Action = Literal["view", "decide", "sign_off", "execute", "export", "manage_firm"]

# What each role may do, before ownership is considered.
_GRANTS: dict[Role, frozenset[Action]] = {
    "advisor": frozenset({"view", "decide", "export"}),
    "supervisor": frozenset({"view", "decide", "sign_off", "export"}),
    "operations": frozenset({"view", "execute", "export"}),
    "auditor": frozenset({"view", "export"}),
    "admin": frozenset({"view", "decide", "sign_off", "execute", "export", "manage_firm"}),
}
# Roles that act on every client; the others only on their own (advisor) or their team's.
_FIRM_WIDE: frozenset[Role] = frozenset({"operations", "auditor", "admin"})


class InvalidName(ValueError):
    """A name that would not identify anyone in the record."""


def clean_name(raw: str | None) -> str:
    """The name as recorded: outer blanks and invisible characters (zero-width spaces, joiners,
    direction marks: Unicode format and control characters) removed, inner runs of blanks made
    one space. Raises InvalidName when nothing visible is left."""
    text = "".join(
        " " if ch.isspace() else ch
        for ch in unicodedata.normalize("NFKC", raw or "")
        if unicodedata.category(ch) not in ("Cf", "Cc", "Cs", "Co", "Cn") or ch.isspace()
    )
    name = " ".join(text.split())
    if not name:
        raise InvalidName("a name must have visible characters")
    if len(name) > 200:
        raise InvalidName("a name must be at most 200 characters")
    return name


class Person(BaseModel):
    """One identity the firm file knows."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(description="The identity provider's email (or subject) for this person")
    name: str = ""
    role: Role = "advisor"
    team: str = ""

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        return clean_name(v).lower()


class Identity(BaseModel):
    """The person acting now. `authenticated` is False in local mode."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    role: Role
    team: str = ""
    authenticated: bool = False

    @property
    def label(self) -> str:
        return self.name or self.id


class Firm(BaseModel):
    """The firm's people and its execution policy. `local` means no firm file: one advisor."""

    model_config = ConfigDict(frozen=True)

    people: dict[str, Person] = Field(default_factory=dict)
    require_second_approver: bool = False
    local: bool = True
    secret_ids: frozenset[str] = frozenset()  # the people the secrets file lists

    def with_people(self, added: Iterable[Person]) -> Firm:
        """This firm and the people an admin added on Settings; the secrets win for anyone
        they list, and a local desk (no firm file) stays local."""
        if self.local:
            return self
        extra = {p.id: p for p in added if p.id not in self.secret_ids}
        return self.model_copy(update={"people": {**extra, **self.people}})

    def identity(self, user_id: str, name: str = "", *, authenticated: bool) -> Identity:
        """The identity for a signed-in user, or for the local advisor's typed name.

        A signed-in user the firm file does not list gets no role at all: they are refused
        rather than given an advisor's rights by default."""
        if self.local:
            who = clean_name(name or user_id)
            return Identity(id=who, name=who, role="advisor", authenticated=authenticated)
        key = clean_name(user_id).lower()
        person = self.people.get(key)
        if person is None:
            raise PermissionError(f"{key} is not in the firm's list of people; ask an admin")
        return Identity(
            id=person.id,
            name=person.name or clean_name(name or person.id),
            role=person.role,
            team=person.team,
            authenticated=authenticated,
        )

    def team_of(self, owner: str | None) -> str:
        person = self.people.get((owner or "").lower())
        return person.team if person else ""


def load_firm(section: Mapping[str, Any] | None) -> Firm:
    """The firm from a `[firm]` secrets table:

        [firm]
        require_second_approver = true
        [firm.people."ann@example.com"]
        name = "Ann Advisor"
        role = "advisor"
        team = "east"

    An absent or empty table means local mode."""
    if not section:
        return Firm()
    people: dict[str, Person] = {}
    for pid, raw in dict(section.get("people") or {}).items():
        p = Person(id=pid, **dict(raw or {}))
        people[p.id] = p
    return Firm(
        people=people,
        require_second_approver=bool(section.get("require_second_approver", False)),
        local=not people,
        secret_ids=frozenset(people),
    )


def load_firm_file(path: Path) -> Firm:
    """The `[firm]` table of a TOML file (the app's secrets file), for the command line; local
    mode when the file or the table is absent."""
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        return Firm()
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path.name} is not valid TOML: {exc}") from exc
    return load_firm(data.get("firm"))


def may(who: Identity, action: Action, owner: str | None = None, firm: Firm | None = None) -> bool:
    """Whether `who` may take `action` on a client or run owned by `owner`. In local mode the one
    advisor may do everything."""
    if firm is None or firm.local:
        return True
    if action not in _GRANTS[who.role]:
        return False
    if action == "manage_firm" or who.role in _FIRM_WIDE:
        return True
    owner_id = (owner or "").lower()
    if who.role == "advisor":
        return owner_id == who.id
    # supervisor: their own and their team's clients
    return owner_id == who.id or (bool(who.team) and firm.team_of(owner_id) == who.team)


def visible(
    who: Identity, owners: Iterable[tuple[str, str | None]], firm: Firm | None
) -> list[str]:
    """The ids (of clients or runs) among (id, owner) pairs that `who` may see."""
    return [rid for rid, owner in owners if may(who, "view", owner, firm)]


def execution_blockers(
    who: Identity,
    *,
    owner: str | None,
    firm: Firm,
    deciders: Iterable[str],
    sign_offs: Iterable[str],
) -> list[str]:
    """Why `who` may not execute a run now (empty when they may).

    With four-eyes on, a run needs a sign-off by a supervisor (or admin) who made none of its
    trade decisions, and the person executing must not be that only signer: one person can
    never both approve and send the same orders."""
    reasons: list[str] = []
    if not may(who, "execute", owner, firm):
        reasons.append(f"the {who.role} role cannot execute trades")
    if firm.local or not firm.require_second_approver:
        return reasons
    decided = {d.lower() for d in deciders}
    signers = {s.lower() for s in sign_offs} - decided
    if not signers:
        reasons.append(
            "four-eyes: a supervisor who made none of the trade decisions must sign off first"
        )
    elif signers == {who.id} or who.id in decided:
        reasons.append("four-eyes: the person executing must not be the one who approved")
    return reasons
