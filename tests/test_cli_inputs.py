"""The command line on inputs that must not mislead: partial and empty books, the new import
options, JSON requests, and strict JSON from every command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from portfolio.cli import main

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "data" / "samples"


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"not strict JSON: {name}")


def strict(text: str) -> Any:
    return json.loads(text, parse_constant=_refuse_constant)


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


PARTIAL = (
    "Symbol,Quantity,Price,Market Value\nVTI,100,300,30000\nBND,x,70,7000\nZZ,5,0,\nCASH,,,5000\n"
)


def test_a_partial_book_is_refused_by_default(tmp_path: Path, capsys) -> None:
    path = write(tmp_path, "p.csv", PARTIAL)
    code, out, err = cli(capsys, "rebalance", path, "--format", "json")
    assert (code, out) == (2, "")
    assert err == "error: 2 rows could not be read (lines 3, 4); fix them or pass --allow-partial\n"


def test_allow_partial_records_the_rows_left_out(tmp_path: Path, capsys) -> None:
    path = write(tmp_path, "p.csv", PARTIAL)
    code, out, _ = cli(capsys, "rebalance", path, "--allow-partial", "--format", "json")
    assert code == 0
    doc = strict(out)
    assert [(r["line"], r["value"]) for r in doc["unread_rows"]] == [(3, 7000.0), (4, None)]
    assert doc["total_value"] == pytest.approx(35000)
    code, out, _ = cli(capsys, "rebalance", path, "--allow-partial")
    assert "Partial book: 2 rows could not be read (lines 3, 4)" in out
    assert "stated value $7,000.00" in out


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("symbol,quantity\nZZZQ,abc\n", "no holdings that could be read"),
        ("Symbol,Quantity,Price\nAAPL,-100,200\n", "adds up to -$20,000.00"),
    ],
)
def test_unusable_books_exit_2_in_one_line(tmp_path: Path, capsys, text: str, words: str) -> None:
    path = write(tmp_path, "u.csv", text)
    for command in ("import", "rebalance"):
        code, out, err = cli(capsys, command, path, "--format", "json")
        assert code == 2 and out == ""
        assert err.startswith("error: ") and err.count("\n") == 1 and words in err


def test_total_and_decimal_options(tmp_path: Path, capsys) -> None:
    weights = write(tmp_path, "w.csv", "Symbol,Weight\nVTI,60%\nCASH,40%\n")
    code, _, err = cli(capsys, "import", weights)
    assert code == 2 and "pass --total AMOUNT" in err
    code, out, _ = cli(capsys, "import", weights, "--total", "$250,000", "--format", "json")
    assert code == 0 and strict(out)["total_value"] == pytest.approx(250_000)

    eu = write(tmp_path, "eu.csv", "Symbol;Quantity;Price\nVTI;1.000;300\n")
    code, _, err = cli(capsys, "import", eu)
    assert code == 2 and "column 'Quantity'" in err and "--decimal comma" in err
    code, out, _ = cli(capsys, "import", eu, "--decimal", "comma", "--format", "json")
    assert strict(out)["positions"][0]["quantity"] == 1000


def test_a_json_request_sets_the_profile_unless_the_option_does(tmp_path: Path, capsys) -> None:
    request = {
        "assets": [
            {"symbol": "AAPL", "allocation": 0.5, "current_value": 50000},
            {"symbol": "MSFT", "allocation": 0.5, "current_value": 50000},
        ],
        "total_value": 100000,
        "risk_profile": "AGGRESSIVE",
    }
    path = write(tmp_path, "request.json", json.dumps(request, indent=2))
    code, out, _ = cli(capsys, "rebalance", path, "--format", "json")
    assert code == 0 and strict(out)["profile"] == "aggressive"
    code, out, _ = cli(capsys, "rebalance", path, "--profile", "conservative", "--format", "json")
    assert strict(out)["profile"] == "conservative"


def test_every_json_output_is_strict(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'ledger.db'}")
    monkeypatch.delenv("REBALANCE_PAPER_LATENCY", raising=False)
    outputs: list[str] = []

    def ok(*args: str) -> Any:
        code, out, err = cli(capsys, *args, "--format", "json")
        assert code == 0, (args, err)
        outputs.append(out)
        return strict(out)

    for sample in sorted(SAMPLES.glob("*.csv")):
        ok("import", str(sample))
    huge = write(
        tmp_path, "huge.csv", "Symbol,Quantity,Price\nVTI,1e308,300\nBND,1e15,1\nAAPL,10,1\n"
    )
    ok("import", huge)
    ok("rebalance", huge, "--allow-partial")
    saved = ok("rebalance", str(SAMPLES / "seed001_esg_moderate.csv"), "--esg", "--save")
    run = saved["run_id"]
    approve = ",".join(t["id"] for t in saved["trades"] if t["compliance"]["status"] == "APPROVED")
    ok("runs")
    ok("show", run)
    ok("decide", run, "--approve", approve, "--by", "Dana Advisor")
    ok("execute", run, "--by", "Olga Ops")
    ok("export", run)
    ok("verify")
    code, out, _ = cli(capsys, "export", run, "--layout", "audit")
    assert code == 0
    outputs.append(out)
    strict(out)
    for text in outputs:
        assert "NaN" not in text and "Infinity" not in text
