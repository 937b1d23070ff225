"""Rows taken as they stand skip the general reconciliation walk; the book must not change."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portfolio.importers import read_holdings
from portfolio.models import Holdings
from portfolio.securities import load_securities

# The module, not the `build` function the package exports under the same name.
build_module = importlib.import_module("portfolio.importers.build")
SECURITIES = load_securities()
SAMPLES = sorted((Path(__file__).resolve().parent.parent / "data" / "samples").glob("*.csv"))


def both(data: bytes, name: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Holdings, Holdings]:
    quick = read_holdings(data, filename=name, securities=SECURITIES)
    with monkeypatch.context() as m:
        m.setattr(build_module._Quick, "row", lambda self, i, c: None)
        walked = read_holdings(data, filename=name, securities=SECURITIES)
    return quick, walked


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_every_sample_reads_the_same_without_the_shortcut(path: Path, monkeypatch) -> None:
    quick, walked = both(path.read_bytes(), path.name, monkeypatch)
    assert quick == walked


@st.composite
def sheets(draw: st.DrawFn) -> bytes:
    header = (
        "Account,Symbol,Quantity,Price,Market Value,Cost Basis,Cost/Share,Mult,Currency,Acquired"
    )
    rows = []
    for _ in range(draw(st.integers(1, 15))):
        ordinary = draw(st.booleans())  # numbers that agree and extra cells that are kept

        def cell(good: list[str], odd: list[str], ordinary: bool = ordinary) -> str:
            return draw(st.sampled_from(good if ordinary else good + odd))

        if ordinary:
            q = draw(st.sampled_from(["10", "2.5", "1"]))
            p = draw(st.sampled_from(["100", "12.34"]))
            value = f"{float(q) * float(p):.2f}"
        else:
            q = draw(st.sampled_from(["10", "-3", "0", "", "2e9", "x"]))
            p = draw(st.sampled_from(["100", "0", "-1", "", "101"]))
            value = draw(st.sampled_from(["", "1000", "1010", "25", "-5", "2e11", "x"]))
        cells = [
            draw(st.sampled_from(["IRA", "Joint"])),
            cell(["VTI", "AAPL", "BND", "912828XX1", "ZZZQ"], ["CASH", "=1+1"]),
            q,
            p,
            value,
            cell(["", "900"], ["2e12", "x"]),
            cell(["", "9.5"], ["x"]),
            cell(["", "1", "0", "-2"], ["100", "x"]),
            cell(["", "USD", "base"], ["EUR"]),
            cell(["", "2020-01-02"], ["various", "--", "13/45/2020"]),
        ]
        rows.append(",".join(cells))
    return (header + "\n" + "\n".join(rows) + "\n").encode()


@settings(
    max_examples=300,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=sheets())
def test_any_sheet_reads_the_same_without_the_shortcut(data: bytes, monkeypatch) -> None:
    try:
        quick, walked = both(data, "book.csv", monkeypatch)
    except ValueError as exc:  # refused either way, with the same words
        with pytest.raises(type(exc), match=None) as again, monkeypatch.context() as m:
            m.setattr(build_module._Quick, "row", lambda self, i, c: None)
            read_holdings(data, filename="book.csv", securities=SECURITIES)
        assert str(again.value) == str(exc)
        return
    assert quick == walked
