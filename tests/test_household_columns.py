"""`household_columns` gives what `book_columns(split_households(...))` gives, from columns.

Every check reads one export both ways: `read_holdings` split into household objects and laid
out by `book_columns`, and `read_holdings_frame` grouped by `household_columns`. The two must
agree field by field (the positions frame, the lot arrays, mandates, account types, names and
advisors), or raise the same error.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import portfolio.importers as importers
from portfolio.book_columns import BookColumns, book_columns
from portfolio.households import (
    household_codes,
    household_column,
    household_columns,
    read_mapping,
    split_households,
)
from portfolio.importers import read_holdings, read_holdings_frame
from portfolio.importers.clean_table import clean_frame
from portfolio.models import ClientMandate
from portfolio.securities import load_securities

SECURITIES = load_securities()
SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"
SAMPLE_FILES = sorted(p.name for p in SAMPLES.glob("*.csv"))
FUNDS = ("VTI", "VXUS", "BND", "VB", "VWO", "BNDX", "AAPL", "MSFT")
PRICES = {s: round(float(SECURITIES.frame.loc[s, "price"]), 2) for s in FUNDS}
ACCOUNTS = ("Joint", "Rollover IRA", "Roth IRA", "Trust")
Mapping_ = dict[str, dict[str, str]]


def assert_same(got: BookColumns, want: BookColumns) -> None:
    assert got.ids == want.ids
    assert got.mandate_of.dtype == want.mandate_of.dtype
    np.testing.assert_array_equal(got.mandate_of, want.mandate_of)
    assert got.mandates == want.mandates
    assert got.custodian_types == want.custodian_types
    assert got.overrides == want.overrides
    assert got.names == want.names
    assert got.advisors == want.advisors
    pd.testing.assert_frame_equal(got.positions, want.positions)
    assert got.lots is not None and want.lots is not None
    for f in dataclasses.fields(want.lots):
        a, b = getattr(got.lots, f.name), getattr(want.lots, f.name)
        assert a.dtype == b.dtype, f.name
        np.testing.assert_array_equal(a, b, err_msg=f.name)


def both(
    data: bytes,
    name: str = "export.csv",
    mapping: Mapping_ | None = None,
    mandate: ClientMandate | None = None,
) -> BookColumns | str:
    """The export's columns both ways, checked equal; or the message both ways raise."""
    holdings = read_holdings(data, filename=name, securities=SECURITIES)
    book = read_holdings_frame(data, filename=name, securities=SECURITIES)
    try:
        want = book_columns(split_households(holdings, data=data, mapping=mapping, mandate=mandate))
    except ValueError as exc:
        with pytest.raises(ValueError) as got:
            household_columns(book, data=data, mapping=mapping, mandate=mandate)
        assert str(got.value) == str(exc)
        return str(exc)
    got_cols = household_columns(book, data=data, mapping=mapping, mandate=mandate)
    assert_same(got_cols, want)
    return got_cols


def mapping_for(accounts: list[str], households: int = 2, by_number: bool = True) -> bytes:
    """A mapping file placing the accounts in turn, some by number alone (`by_number`), with a
    few types, profiles and advisors."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["account", "client", "type", "profile", "advisor"])
    types = ("taxable", "ira", "", "roth")
    profiles = ("", "aggressive", "", "conservative", "moderate")
    for i, a in enumerate(sorted(accounts)):
        words = a.split()
        key = words[-1] if by_number and len(words) > 1 and i % 3 == 1 else a
        advisor = "ann" if i % 4 == 2 else ""
        w.writerow([key, f"Client {i % households}", types[i % 4], profiles[i % 5], advisor])
    return out.getvalue().encode()


def with_household_column(data: bytes, household: str | None) -> bytes:
    """The file with a Household column first: `household` on every row (None: a different
    one every other row)."""
    lines = data.decode("utf-8-sig").splitlines()
    head = next(i for i, ln in enumerate(lines) if ln.strip())
    out = [*lines[:head], f"Household,{lines[head]}"]
    for i, ln in enumerate(lines[head + 1 :]):
        out.append(f"{household if household is not None else f'H{i % 2}'},{ln}")
    return ("\n".join(out) + "\n").encode()


def accounts_of(data: bytes, name: str) -> list[str]:
    holdings = read_holdings(data, filename=name, securities=SECURITIES)
    return list(dict.fromkeys(p.account for p in holdings.positions))


@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_samples_with_a_mapping(name: str) -> None:
    data = (SAMPLES / name).read_bytes()
    mapping = read_mapping(mapping_for(accounts_of(data, name)))
    got = both(data, name, mapping)
    assert isinstance(got, BookColumns)
    mandate = ClientMandate(risk_profile="aggressive", esg_only=True)
    assert isinstance(both(data, name, mapping, mandate), BookColumns)


@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_samples_with_a_household_column(name: str) -> None:
    data = (SAMPLES / name).read_bytes()
    both(data, name)  # whatever the sample gives (a household column or not), both agree
    both(with_household_column(data, "Smith"), name)
    both(with_household_column(data, None), name)  # two households per account: refused alike


def sheet(
    rows: int,
    seed: int = 5,
    *,
    account_type: bool = False,
    lots: bool = False,
    crlf: bool = False,
) -> bytes:
    """A generated export: households of one to three accounts, a few funds each, some
    holdings repeated over several rows (lots); the households interleave a little."""
    rng = np.random.default_rng(seed)
    header = ["Household", "Account"]
    header += ["Account Type"] if account_type else []
    header += ["Symbol", "Quantity", "Price", "Market Value"]
    header += ["Cost Basis", "Acquired Date"] if lots else []
    out = [",".join(header)]
    h = 0
    while len(out) <= rows:
        block = []
        for a in ACCOUNTS[: int(rng.integers(1, 4))]:
            kind = "Individual" if a in ("Joint", "Trust") else "IRA"
            for s in rng.choice(FUNDS, size=int(rng.integers(1, 5)), replace=False):
                price = PRICES[str(s)]
                for _ in range(1 + int(rng.random() < 0.15) + int(rng.random() < 0.05)):
                    qty = int(rng.integers(1, 400))
                    cells = [f"HH{h:05d}", f"HH{h:05d} {a} {10_000 + h}"]
                    cells += [kind] if account_type else []
                    cells += [str(s), str(qty), f"{price}", f"{qty * price:.2f}"]
                    if lots:
                        basis = round(qty * price * float(rng.uniform(0.6, 1.4)), 2)
                        cells += [f"{basis}", f"2021-{int(rng.integers(1, 13)):02d}-15"]
                    block.append(",".join(cells))
        if h % 7 == 3 and out[1:]:  # a household's rows around another's
            out[-1:-1] = block
        else:
            out += block
        h += 1
    text = "\n".join(out[: rows + 1]) + "\n"
    return (text.replace("\n", "\r\n") if crlf else text).encode()


@functools.cache
def big() -> bytes:
    return sheet(2_600)


def test_big_plain_sheet_takes_the_column_path_and_agrees() -> None:
    data = big()
    book = read_holdings_frame(data, filename="export.csv", securities=SECURITIES)
    assert book.row_lots is not None and len(book.row_lots.heads) > 50  # holdings of many rows
    got = both(data)
    assert isinstance(got, BookColumns) and len(got.ids) > 100
    # A lot for each row of a holding of several rows (one row alone is no lot).
    assert got.lots is not None and len(got.lots.quantity) == len(book.row_lots.quantity)


def test_big_plain_sheet_with_a_mapping_file() -> None:
    data = big()
    mapping = read_mapping(mapping_for(accounts_of(data, "export.csv"), households=40))
    got = both(data, mapping=mapping)
    assert isinstance(got, BookColumns) and len(got.ids) == 40 and len(got.mandates) > 1
    assert any(got.overrides) and any(a is not None for a in got.advisors or [])


def test_crlf_sheet() -> None:
    assert isinstance(both(sheet(2_100, seed=8, crlf=True)), BookColumns)


def test_custodian_file_by_the_general_path() -> None:
    """Cost basis and account types: the general path, lots as objects, types per account."""
    data = sheet(2_300, seed=6, account_type=True, lots=True)
    book = read_holdings_frame(data, filename="export.csv", securities=SECURITIES)
    assert book.row_lots is None and book.lots and book.lines and book.account_types
    assert isinstance(both(data), BookColumns)
    mapping = read_mapping(mapping_for(accounts_of(data, "export.csv"), households=25))
    got = both(data, mapping=mapping)
    assert isinstance(got, BookColumns) and any(got.custodian_types)


def test_no_household_column_and_no_mapping() -> None:
    plain = "\n".join(ln.split(",", 1)[1] for ln in big().decode().splitlines()) + "\n"
    message = both(plain.encode())
    assert isinstance(message, str) and "no household column" in message
    book = read_holdings_frame(big(), securities=SECURITIES)
    with pytest.raises(ValueError, match="no household column"):
        household_columns(book)  # no file and no mapping


def test_an_account_in_two_households() -> None:
    lines = big().decode().splitlines()
    cells = [ln.split(",") for ln in lines]
    first: dict[str, int] = {}
    for i in range(1, len(lines)):
        first.setdefault(cells[i][1], i)
    # A repeated row of an account's first holding, named for another household.
    k = next(
        k
        for k in range(2, len(lines))
        if first[cells[k][1]] < k and cells[first[cells[k][1]]][2] == cells[k][2]
    )
    lines[k] = "Someone Else," + lines[k].split(",", 1)[1]
    message = both(("\n".join(lines) + "\n").encode())
    assert isinstance(message, str)
    assert message.startswith(f"account {cells[k][1]} is named in two households; ")


def test_a_later_holding_named_for_another_household_is_an_error() -> None:
    """Every row of an account says where it belongs: a later holding of an account named for
    another household is refused, never planned in the first household's book."""
    lines = big().decode().splitlines()
    cells = [ln.split(",") for ln in lines]
    seen: dict[str, str] = {}
    for k in range(1, len(lines)):
        a, sym = cells[k][1], cells[k][2]
        if a in seen and seen[a] != sym:
            break
        seen.setdefault(a, sym)
    lines[k] = "Someone Else," + lines[k].split(",", 1)[1]
    message = both(("\n".join(lines) + "\n").encode())
    assert isinstance(message, str)
    assert message.startswith(f"account {cells[k][1]} is named in two households; ")


def test_accounts_with_no_household() -> None:
    lines = big().decode().splitlines()
    cells = [ln.split(",") for ln in lines]
    accounts = list(dict.fromkeys(c[1] for c in cells[1:]))
    unnamed = {accounts[3], accounts[40]}  # every row
    firsts = {accounts[7]}  # only its first row: its later rows place it
    for i in range(1, len(lines)):
        a = cells[i][1]
        if a in unnamed or (
            a in firsts and i == min(j for j in range(1, i + 1) if cells[j][1] == a)
        ):
            lines[i] = "," + lines[i].split(",", 1)[1]
    message = both(("\n".join(lines) + "\n").encode())
    shown = ", ".join(sorted(unnamed))
    assert message == f"no household for account(s) {shown}; add them to the mapping"
    accounts = accounts_of(big(), "export.csv")
    mapping = read_mapping(mapping_for(accounts[1:-1], by_number=False))
    message = both(big(), mapping=mapping)
    assert message == (
        f"no household for account(s) {', '.join(sorted([accounts[0], accounts[-1]]))}; "
        "add them to the mapping"
    )


@pytest.mark.parametrize("mapping", [None, {}])
def test_a_book_of_no_positions(mapping: Mapping_ | None) -> None:
    data = b"Household,Account,Symbol,Quantity,Price,Market Value\nH1,,,,,\n"
    got = both(data, mapping=mapping)
    assert isinstance(got, BookColumns) and got.ids == [] and got.positions.empty


@pytest.mark.parametrize(
    "data",
    [
        b"x,y\nHousehold,Client\n a , b\n\n,\nc\n  ,z\n",
        b"Account,Client Name\r\nA,  X  \r\nB,\r\n,Y",
        b"\xef\xbb\xbfhousehold\nq\n\nr",
        b"",
        b"a\nb",
        b"client services,x\nfoo, CLIENT \n1,2\n3\n4,5,6\n",
        b'Household,Account\n"A, B",x\nC,y\n',  # quoted: household_column itself reads it
        b"Household,Account\rA,x\rB,y\r",
    ],
)
def test_household_codes_are_household_column(data: bytes) -> None:
    of_line, names = household_codes(data)
    got = {i: names[c] for i, c in enumerate(of_line.tolist()) if c >= 0}
    assert got == household_column(data)


@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_household_codes_on_samples(name: str) -> None:
    for data in (SAMPLES / name).read_bytes(), big(), sheet(2_100, seed=8, crlf=True):
        for file in (data, with_household_column(data, None)):
            of_line, names = household_codes(file)
            got = {i: names[c] for i, c in enumerate(of_line.tolist()) if c >= 0}
            assert got == household_column(file)


@st.composite
def sheets(draw: st.DrawFn) -> tuple[bytes, bool]:
    """A small sheet: accounts drawn with their households, now and then a row naming
    another household or none, holdings repeated; and whether a mapping places them."""
    n_accounts = draw(st.integers(1, 6))
    home = [draw(st.sampled_from("ABCD")) for _ in range(n_accounts)]
    rows = draw(
        st.lists(
            st.tuples(
                st.integers(0, n_accounts - 1),
                st.sampled_from(FUNDS[:4]),
                st.integers(1, 50),
                st.sampled_from(("home", "home", "home", "other", "blank")),
            ),
            min_size=1,
            max_size=30,
        )
    )
    out = ["Household,Account,Symbol,Quantity,Price,Market Value"]
    for acc, sym, qty, who in rows:
        hh = {"home": home[acc], "other": "Z", "blank": ""}[who]
        price = PRICES[sym]
        out.append(f"{hh},Acct {acc},{sym},{qty},{price},{qty * price:.2f}")
    return ("\n".join(out) + "\n").encode(), draw(st.booleans())


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(drawn=sheets(), columnar=st.booleans())
def test_random_sheets(drawn: tuple[bytes, bool], columnar: bool) -> None:
    data, mapped = drawn
    mapping = None
    if mapped:
        accounts = accounts_of(data, "export.csv")
        mapping = read_mapping(mapping_for(accounts[: max(1, len(accounts) - 1)], 3))
    with pytest.MonkeyPatch.context() as m:
        if columnar:  # the column path on a sheet of any size
            m.setattr(importers, "clean_frame", functools.partial(clean_frame, min_rows=0))
        both(data, mapping=mapping)


def _read_both_ways(seed: int):
    """A 2,200-row sheet, a mapping of its accounts into 60 households, and the sheet read as
    positions and as columns."""
    data = sheet(2_200, seed=seed)
    mapping = read_mapping(mapping_for(accounts_of(data, "export.csv"), households=60))
    holdings = read_holdings(data, filename="export.csv", securities=SECURITIES)
    book = read_holdings_frame(data, filename="export.csv", securities=SECURITIES)
    return data, mapping, holdings, book


def test_plan_columns_is_plan_book() -> None:
    from portfolio.batch import plan_book, plan_columns
    from tests.book_samples import AS_OF

    data, mapping, holdings, book = _read_both_ways(seed=11)
    for m in (None, mapping):
        want = plan_book(split_households(holdings, data=data, mapping=m), AS_OF, SECURITIES)
        got = plan_columns(household_columns(book, data=data, mapping=m), AS_OF, SECURITIES)
        assert len(want) > 0
        pd.testing.assert_frame_equal(got, want)


def test_the_book_view_of_columns_is_the_book_view_of_households() -> None:
    from portfolio.practice import summarise, summarise_columns
    from tests.book_samples import AS_OF

    data, mapping, holdings, book = _read_both_ways(seed=12)
    for m in (None, mapping):
        households = split_households(holdings, data=data, mapping=m)
        want = summarise(households, as_of=AS_OF, securities=SECURITIES, harvest_threshold=0.0)
        got = summarise_columns(
            household_columns(book, data=data, mapping=m),
            as_of=AS_OF,
            securities=SECURITIES,
            harvest_threshold=0.0,
        )
        assert len(want.summary) == len(households) > 1
        pd.testing.assert_frame_equal(got.summary, want.summary)
        pd.testing.assert_frame_equal(got.drift, want.drift)
        pd.testing.assert_frame_equal(got.harvest, want.harvest)
        pd.testing.assert_series_equal(got.steady_until, want.steady_until)


def test_import_frame_reports_and_refuses_as_import_book() -> None:
    from portfolio.import_service import import_book, import_frame
    from portfolio.models import UnreadableFileError

    for name in SAMPLE_FILES:
        data = (SAMPLES / name).read_bytes()
        try:
            want = import_book(data, name, SECURITIES)
        except UnreadableFileError as exc:
            with pytest.raises(UnreadableFileError) as got:
                import_frame(data, name, SECURITIES)
            assert str(got.value) == str(exc)
            continue
        got = import_frame(data, name, SECURITIES)
        assert got.issues == want.issues and got.unread == want.unread, name
        assert got.frame.to_holdings() == want.holdings, name
    empty = b"Household,Account,Symbol,Quantity,Price\nH,A,VTI,ten,1\n"
    with pytest.raises(UnreadableFileError, match="no holdings that could be read; 1 row"):
        import_frame(empty, "e.csv", SECURITIES)
    negative = b"Account,Symbol,Quantity,Price,Market Value\nA,VTI,-10,300,-3000\n"
    with pytest.raises(UnreadableFileError, match="adds up to"):
        import_frame(negative, "n.csv", SECURITIES)


def test_a_cell_over_two_lines_keeps_the_households_in_step() -> None:
    """Households are read by the row's first line, as the importers number rows: a quoted
    description that spans two lines does not shift the rows after it."""
    data = (
        b"Household,Account,Symbol,Description,Quantity,Price\n"
        b'Smith,S1,VTI,"Total\nMarket",10,290\n'
        b"Jones,J1,BND,Bond,5,72\n"
        b"Jones,J2,VXUS,Intl\x0bShares,3,65\n"
        b"Smith,S1,BND,Bond,1,72\n"
    )
    assert household_column(data) == {2: "Smith", 4: "Jones", 5: "Jones", 6: "Smith"}
    got = both(data)
    assert isinstance(got, BookColumns) and got.ids == ["Smith", "Jones"]
    assert got.positions.groupby("hh")["account"].agg(set).tolist() == [{"S1"}, {"J1", "J2"}]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_a_tab_separated_export_names_its_households(encoding: str) -> None:
    """The household column is read with the file's own delimiter and encoding, as the
    importers read the rest of it."""
    text = (
        "Household\tAccount\tSymbol\tQuantity\tPrice\n"
        "Smith\tS1\tVTI\t10\t290\n"
        "Jones\tJ1\tBND\t5\t72\n"
        "Smith\tS2\tVXUS\t3\t65\n"
    )
    data = text.encode(encoding)
    assert household_column(data) == {2: "Smith", 3: "Jones", 4: "Smith"}
    got = both(data, name="export.txt")
    assert isinstance(got, BookColumns) and got.ids == ["Smith", "Jones"]
