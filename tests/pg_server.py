"""A throwaway PostgreSQL server for the ledger tests and benchmark, plus the backend fixtures.

The server binaries come from Debian's `postgresql` package (/usr/lib/postgresql/<v>/bin); when
they are missing the PostgreSQL cases skip and say how to install them. As root, initdb and
pg_ctl run as the `postgres` user, since PostgreSQL refuses to run as root.

Test modules load this file with `pytest_plugins = ["pg_server"]`.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

INSTALL_HINT = "apt-get install -y postgresql"


def find_bindir() -> Path | None:
    """The newest server installation that has initdb, pg_ctl and postgres."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: [int(x) for x in Path(p).parent.name.split(".") if x.isdigit()],
        reverse=True,
    )
    if found := shutil.which("pg_ctl"):
        candidates.append(str(Path(found).resolve().parent))
    for c in candidates:
        if all((Path(c) / exe).exists() for exe in ("initdb", "pg_ctl", "postgres")):
            return Path(c)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TempPostgres:
    """initdb + pg_ctl in a temporary directory, listening on 127.0.0.1 and a private socket."""

    def __init__(self, *, durable: bool = False) -> None:
        bindir = find_bindir()
        if bindir is None:
            raise RuntimeError(f"no PostgreSQL server binaries; install them with: {INSTALL_HINT}")
        self.bindir = bindir
        self.durable = durable
        self.root = Path(tempfile.mkdtemp(prefix="ledger-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.as_postgres = os.geteuid() == 0
        self.started = False

    def _cmd(self, *args: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *args] if self.as_postgres else list(args)

    def start(self) -> TempPostgres:
        if self.as_postgres:
            pw = pwd.getpwnam("postgres")
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
        init = [
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
        ]
        if not self.durable:
            init.append("--no-sync")
        subprocess.run(self._cmd(*init), check=True, capture_output=True, timeout=120)
        opts = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=60"
        if not self.durable:
            opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        subprocess.run(
            self._cmd(
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.root / "server.log"),
                "-o",
                opts,
                "-w",
                "-t",
                "60",
                "start",
            ),
            check=True,
            capture_output=True,
            timeout=120,
        )
        self.started = True
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, template: str | None = None) -> str:
        import psycopg

        name = "ledger_" + uuid.uuid4().hex[:12]
        clause = f' TEMPLATE "{template}"' if template else ""
        with psycopg.connect(self.url().replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"{clause}')
        return name

    def migrated_template(self) -> str:
        """A database at the schema head, copied per test: much faster than migrating each."""
        if getattr(self, "_template", None) is None:
            from portfolio.ledger import open_ledger

            name = self.create_database()
            open_ledger(self.url(name)).close()
            self._template = name
        return self._template

    def drop_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.url().replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        if self.started:
            subprocess.run(
                self._cmd(
                    str(self.bindir / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-m",
                    "immediate",
                    "-w",
                    "stop",
                ),
                capture_output=True,
                timeout=60,
            )
            self.started = False
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[TempPostgres]:
    if find_bindir() is None:
        pytest.skip(f"PostgreSQL server binaries not found; install them with: {INSTALL_HINT}")
    server = TempPostgres()
    try:
        server.start()
    except (subprocess.CalledProcessError, OSError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        server.stop()
        pytest.fail(f"could not start PostgreSQL: {exc} {detail.decode(errors='replace')}")
    yield server
    server.stop()


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def _fresh_url(request: pytest.FixtureRequest, tmp_path: Path, migrated: bool) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
        return
    server: TempPostgres = request.getfixturevalue("pg_server")
    name = server.create_database(server.migrated_template() if migrated else None)
    yield server.url(name)
    server.drop_database(name)


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database on each backend (PostgreSQL ones start at the schema head)."""
    yield from _fresh_url(request, tmp_path, migrated=True)


@pytest.fixture(params=BACKENDS)
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database with no tables at all, for migration tests."""
    yield from _fresh_url(request, tmp_path, migrated=False)


@pytest.fixture
def ledger(db_url: str):  # type: ignore[no-untyped-def]
    from portfolio.ledger import open_ledger

    led = open_ledger(db_url)
    yield led
    led.close()


# ------------------------------------------------------------------------- sample records


def _sample_holdings():  # type: ignore[no-untyped-def]
    from portfolio.models import Holdings, Lot, Position

    return Holdings(
        source="acme.csv",
        format="plain",
        positions=[
            Position(
                account="Z123",
                symbol="AAPL",
                quantity=40,
                price=200.0,
                market_value=8000,
                asset_class="us_equity",
                cost_basis=4000,
                lots=[Lot(quantity=40, cost_basis=4000, acquired=date(2019, 5, 1))],
            ),
            Position(
                account="Z123",
                symbol="BRK-B",
                quantity=10,
                price=400.0,
                market_value=4000,
                asset_class="us_equity",
            ),
            Position(
                account="Z123",
                symbol="SPAXX",
                quantity=3000,
                price=1.0,
                market_value=3000,
                asset_class="cash",
                is_cash=True,
            ),
        ],
    )


def _sample_proposal(n_buys: int = 2, vetoed: bool = True):  # type: ignore[no-untyped-def]
    """T1 sells AAPL; T2.. buy funds; the last trade (a tobacco stock) is vetoed by compliance."""
    from portfolio.models import (
        ClientMandate,
        ComplianceVerdict,
        ModelPortfolio,
        ModelSleeve,
        RebalanceProposal,
        Trade,
    )

    trades = [
        Trade(
            id="T1",
            account="Z123",
            symbol="AAPL",
            action="SELL",
            quantity=10,
            price=200.0,
            value=2000.0,
            asset_class="us_equity",
            reason="single-name cap",
            compliance=ComplianceVerdict(rules=["single_name_cap"]),
        )
    ]
    funds = ["VTI", "BND", "VXUS", "VNQ", "TIP", "VB", "VWO", "MUB"]
    for i in range(n_buys):
        trades.append(
            Trade(
                id=f"T{i + 2}",
                account="Z123",
                symbol=funds[i % len(funds)],
                action="BUY",
                quantity=5,
                price=100.0,
                value=500.0,
                asset_class="us_bonds",
                reason="to target",
            )
        )
    if vetoed:
        trades.append(
            Trade(
                id=f"T{len(trades) + 1}",
                account="Z123",
                symbol="MO",
                action="BUY",
                quantity=3,
                price=50.0,
                value=150.0,
                asset_class="us_equity",
                reason="model sleeve",
                compliance=ComplianceVerdict(
                    status="VETOED", reasons=["tobacco is excluded"], rules=["esg.tobacco"]
                ),
            )
        )
    model = ModelPortfolio(
        profile="moderate",
        name="Moderate",
        sleeves=[
            ModelSleeve(asset_class="us_equity", weight=0.6, vehicle="VTI", esg_vehicle="ESGV"),
            ModelSleeve(asset_class="us_bonds", weight=0.4, vehicle="BND", esg_vehicle="EAGG"),
        ],
    )
    return RebalanceProposal(
        as_of=date(2025, 6, 30),
        profile="moderate",
        mandate=ClientMandate(esg_only=True),
        model=model,
        total_value=15000,
        cash_value=3000,
        cash_after=4000,
        positions=[],
        trades=trades,
        post_trade_weights={"us_equity": 0.6},
        asset_class_weights={},
        turnover=0.1,
    )


def _saved_run(ledger, n_buys: int = 2, vetoed: bool = True) -> str:  # type: ignore[no-untyped-def]
    """A run with a stored upload snapshot and proposal, awaiting review."""
    holdings = _sample_holdings()
    run_id = ledger.create_run(
        holdings=holdings,
        source_bytes=b"Account,Symbol\nZ123,AAPL\n",
        filename="acme.csv",
        status="PENDING_REVIEW",
        agents={"allocation_strategist": {"provider": "none", "model": ""}},
    )
    ledger.save_proposal(run_id, _sample_proposal(n_buys, vetoed))
    return run_id


@pytest.fixture
def sample_holdings():  # type: ignore[no-untyped-def]
    """Factory: holdings of account Z123 (AAPL, BRK-B, cash)."""
    return _sample_holdings


@pytest.fixture
def sample_proposal():  # type: ignore[no-untyped-def]
    """Factory: sample_proposal(n_buys=2, vetoed=True)."""
    return _sample_proposal


@pytest.fixture
def saved_run():  # type: ignore[no-untyped-def]
    """Factory: saved_run(ledger, n_buys=2, vetoed=True) -> run id awaiting review."""
    return _saved_run
