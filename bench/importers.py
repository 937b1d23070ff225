"""Import throughput: rows per second, and the ratio to `pandas.read_csv` on the same bytes.

For a plain sheet and for each custodian layout (the bundled samples of Schwab, Fidelity,
Vanguard, Interactive Brokers and E*TRADE), a file of N data rows is built by repeating the
sample's holding rows (each copy another tax lot of the same holding) with distinct quantities
(market value = quantity x price, written in the sample's own style), keeping its title,
headers, totals and footers. Each file is imported with `read_holdings` and read with
`pandas.read_csv` (as is where the file is one rectangular table; a custodian file's ragged title,
totals and footers need `header=None` and every column as text). `read_csv` alone does none of
the accounting, reconciliation or classification.

Run from the repository root:  python bench/importers.py [--rows 10000,300000] [--repeat 1]
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from portfolio.importers import read_holdings
from portfolio.importers.headers import header_of, map_header
from portfolio.importers.text import decode, sniff_delimiter, split_records
from portfolio.numbers import NumberError, parse_number
from portfolio.securities import load_securities

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"
LAYOUTS = {
    "schwab": "schwab_all_accounts.csv",
    "fidelity": "Portfolio_Positions_Jun-30-2025.csv",
    "vanguard": "vanguard_download.csv",
    "ibkr": "ibkr_activity_statement.csv",
    "etrade": "etrade_PortfolioDownload.csv",
}


def plain_sheet(rows: int, seed: int = 7) -> bytes:
    """Account, Symbol, Quantity, Price, Market Value: 20 holdings an account, known symbols."""
    rng = np.random.default_rng(seed)
    ref = load_securities().frame
    priced = ref[ref["price"].notna() & (ref["kind"] != "money_market")]
    symbols = priced.index.to_numpy()
    prices = priced["price"].to_numpy(dtype=float)
    pick = rng.integers(0, len(symbols), rows)
    qty = rng.integers(1, 5000, rows)
    frame = pd.DataFrame(
        {
            "Account": [f"A{i // 20:06d}" for i in range(rows)],
            "Symbol": symbols[pick],
            "Quantity": qty,
            "Price": prices[pick],
            "Market Value": np.round(qty * prices[pick], 2),
        }
    )
    return frame.to_csv(index=False).encode()


def _style(template: str, value: float) -> str:
    """`value` written the way the template cell writes money ($, thousands commas)."""
    body = f"{value:,.2f}" if "," in template else f"{value:.2f}"
    return f"${body}" if "$" in template else body


def custodian_file(sample: Path, rows: int, seed: int = 7) -> bytes:
    """The sample with its holding rows repeated to `rows` data rows, quantities varied."""
    rng = np.random.default_rng(seed)
    text = decode(sample.read_bytes(), sample.name)
    delim = sniff_delimiter(text)
    records = split_records(text, delim)
    header: dict[str, int] | None = None
    offset = 0
    templates: list[tuple[int, list[str], int, int, int]] = []
    for k, rec in enumerate(records):
        cells = rec.stripped
        if len(cells) > 2 and cells[1] in {"Header", "Data"}:  # IBKR: Section,Kind,...
            if cells[1] == "Header" and cells[0] == "Open Positions":
                header, offset = map_header(cells[2:]).index, 2
            elif cells[1] == "Data" and cells[0] == "Open Positions" and header is not None:
                disc = cells[2 + header["discriminator"]] if "discriminator" in header else ""
                if disc.lower() in {"", "summary"}:
                    _template(k, rec.cells, header, offset, templates)
            continue
        found = header_of(cells)
        if found is not None:
            header, offset = found.index, 0
            continue
        if header is not None:
            _template(k, rec.cells, header, offset, templates)
    if not templates:
        raise SystemExit(f"{sample.name}: no holding rows to repeat")
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delim, lineterminator="\n")
    first, last = templates[0][0], templates[-1][0]
    for rec in records[:first]:
        writer.writerow(rec.cells)
    # Each template's copies hold 1, 2, 3 ... shares plus a random offset: no two rows repeat.
    offset = int(rng.integers(0, 1000))
    for i in range(rows):
        _, cells, qi, pi, vi = templates[i % len(templates)]
        row = list(cells)
        price = parse_number(row[pi]) or 1.0
        qty = i // len(templates) + 1 + offset
        row[qi] = str(qty)
        if vi >= 0:
            row[vi] = _style(cells[vi], qty * price)
        writer.writerow(row)
    for rec in records[last + 1 :]:
        writer.writerow(rec.cells)
    return out.getvalue().encode()


def _template(
    k: int,
    cells: list[str],
    header: dict[str, int],
    offset: int,
    templates: list[tuple[int, list[str], int, int, int]],
) -> None:
    qi = header.get("quantity", -1)
    pi = header.get("price", -1)
    vi = header.get("market_value", -1)
    if qi < 0 or pi < 0 or qi + offset >= len(cells) or pi + offset >= len(cells):
        return
    try:
        q = parse_number(cells[qi + offset])
        p = parse_number(cells[pi + offset])
    except NumberError:
        return
    if q and p and q > 0 and p > 0:
        v = vi + offset if vi >= 0 else -1
        templates.append((k, cells, qi + offset, pi + offset, v))


def baseline(data: bytes) -> str:
    """`pandas.read_csv` on the bytes: as is when the file is one rectangular table, else (a
    custodian file's title, totals and footers are ragged) every line as text, as wide as the
    widest line."""
    try:
        pd.read_csv(io.BytesIO(data))
        return "read_csv(bytes)"
    except (pd.errors.ParserError, ValueError):
        width = max(line.count(b",") for line in data.splitlines()) + 1
        pd.read_csv(
            io.BytesIO(data),
            header=None,
            names=range(width),
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
        )
        return f"read_csv(bytes, header=None, names=range({width}), dtype=str)"


def best_of(repeat: int, fn):  # type: ignore[no-untyped-def]
    best, value = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - t)
    return best, value


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", default="10000,300000")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--layouts", default="plain," + ",".join(LAYOUTS))
    args = ap.parse_args()
    sizes = [int(x) for x in args.rows.split(",")]
    securities = load_securities()
    print(
        f"{'layout':<10}{'rows':>9}{'MB':>7}{'import s':>10}{'rows/s':>11}"
        f"{'read_csv s':>12}{'ratio':>8}{'positions':>11}  read_csv call"
    )
    for layout in args.layouts.split(","):
        for n in sizes:
            data = (
                plain_sheet(n)
                if layout == "plain"
                else custodian_file(SAMPLES / LAYOUTS[layout], n)
            )
            t_imp, holdings = best_of(
                args.repeat,
                lambda d=data, f=f"{layout}.csv": read_holdings(
                    d, filename=f, securities=securities
                ),
            )
            t_csv, how = best_of(args.repeat, lambda d=data: baseline(d))
            print(
                f"{layout:<10}{n:>9,}{len(data) / 1e6:>7.1f}{t_imp:>10.3f}{n / t_imp:>11,.0f}"
                f"{t_csv:>12.3f}{t_imp / t_csv:>7.1f}x{len(holdings.positions):>11,}  {how}",
                flush=True,
            )


if __name__ == "__main__":
    main()
