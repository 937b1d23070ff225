"""Import throughput: rows per second, and the ratio to `pandas.read_csv` on the same bytes.

For a plain sheet and for each custodian layout (the bundled samples of Schwab, Fidelity,
Vanguard, Interactive Brokers and E*TRADE), a file of N data rows is built by repeating the
sample's holding rows (each copy another tax lot of the same holding) with distinct quantities
(market value = quantity x price, written in the sample's own style), keeping its title,
headers, totals and footers. Each file is imported with `read_holdings` and read with
`pandas.read_csv` (as is where the file is one rectangular table; a custodian file's ragged title,
totals and footers need `header=None` and every column as text). `read_csv` alone does none of
the accounting, reconciliation or classification. Times are medians of `--repeat` runs.

`frame s` is `read_holdings_frame` (the same book with its positions as columns, see
`portfolio/importers/frame.py`), with its own ratio and memory; `frame cpu` is its median CPU
seconds, and the ratio to `read_csv`'s CPU seconds (steadier than wall time under load).

`memory` is the import's peak allocation (tracemalloc's peak of Python and NumPy allocations plus
the peak of pyarrow's memory pool, which tracemalloc cannot see), measured in a fresh process
after one import of the file's first lines (shared lookups are built once, not per file), over
the `memory_usage(deep=True)` of the baseline's DataFrame. It includes the result.

After each layout a line gives its linearity: rows/s at the largest size over rows/s at the
smallest (1.0 is linear; above 1, fixed costs weigh on the small file), for `read_holdings` and
for `read_holdings_frame` (with its rows/s at both sizes).

Run from the repository root:  python bench/importers.py [--rows 10000,300000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from portfolio.importers import read_holdings, read_holdings_frame
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


def baseline_frame(data: bytes) -> tuple[pd.DataFrame, str]:
    """`pandas.read_csv` on the bytes: as is when the file is one rectangular table, else (a
    custodian file's title, totals and footers are ragged) every line as text, as wide as the
    widest line."""
    try:
        return pd.read_csv(io.BytesIO(data)), "read_csv(bytes)"
    except (pd.errors.ParserError, ValueError):
        width = max(line.count(b",") for line in data.splitlines()) + 1
        frame = pd.read_csv(
            io.BytesIO(data),
            header=None,
            names=range(width),
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
        )
        return frame, f"read_csv(bytes, header=None, names=range({width}), dtype=str)"


def baseline(data: bytes) -> str:
    return baseline_frame(data)[1]


def median_of(repeat: int, fn, warm: bool = True):  # type: ignore[no-untyped-def]
    """Median seconds of `repeat` runs, after one untimed run when `warm` (caches and lazy imports
    weigh on a small file), the value, and the median CPU seconds of this process (all its
    threads: steadier than the wall clock on a shared machine)."""
    value = fn() if warm else None
    times, cpu = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        value = fn()
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return statistics.median(times), value, statistics.median(cpu)


def import_peak(path: str, filename: str, frame: bool) -> int:
    """Peak bytes allocated importing the file at `path` (run in a fresh process)."""
    import pyarrow as pa

    data = Path(path).read_bytes()
    securities = load_securities()
    read = read_holdings_frame if frame else read_holdings
    # Once on the file's first lines: the reference lookups and compiled patterns every import
    # shares are built before the count starts.
    with contextlib.suppress(ValueError):  # the first lines may hold no position at all
        read(b"\n".join(data.split(b"\n", 60)[:60]), filename=filename, securities=securities)
    pool = pa.default_memory_pool()
    arrow_before = pool.bytes_allocated()
    tracemalloc.start()
    read(data, filename=filename, securities=securities)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak + max(0, pool.max_memory() - arrow_before)


def measure_peak(data: bytes, filename: str, frame: bool = False) -> int:
    with tempfile.NamedTemporaryFile(suffix=".csv") as f:
        f.write(data)
        f.flush()
        out = subprocess.run(
            [sys.executable, __file__, "--peak-of", f.name, "--name", filename]
            + (["--frame"] if frame else []),
            check=True,
            capture_output=True,
            text=True,
        )
    return int(out.stdout.strip())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", default="10000,300000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--layouts", default="plain," + ",".join(LAYOUTS))
    ap.add_argument("--no-memory", action="store_true", help="skip the memory figure")
    ap.add_argument("--peak-of", help=argparse.SUPPRESS)
    ap.add_argument("--name", default="", help=argparse.SUPPRESS)
    ap.add_argument("--frame", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.peak_of:
        print(import_peak(args.peak_of, args.name, args.frame))
        return
    sizes = [int(x) for x in args.rows.split(",")]
    securities = load_securities()
    print(
        f"{'layout':<10}{'rows':>9}{'MB':>7}{'import s':>10}{'rows/s':>11}"
        f"{'read_csv s':>12}{'ratio':>8}{'positions':>11}{'memory':>9}"
        f"{'frame s':>9}{'ratio':>8}{'memory':>9}{'frame cpu':>10}{'ratio':>8}  read_csv call"
    )
    for layout in args.layouts.split(","):
        speeds: list[float] = []
        frame_speeds: list[float] = []
        for n in sizes:
            data = (
                plain_sheet(n)
                if layout == "plain"
                else custodian_file(SAMPLES / LAYOUTS[layout], n)
            )
            name = f"{layout}.csv"
            warm = n < 100_000
            t_imp, holdings, _ = median_of(
                args.repeat,
                lambda d=data, f=name: read_holdings(d, filename=f, securities=securities),
                warm,
            )
            t_frame, _, cpu_frame = median_of(
                args.repeat,
                lambda d=data, f=name: read_holdings_frame(d, filename=f, securities=securities),
                warm,
            )
            t_csv, how, cpu_csv = median_of(args.repeat, lambda d=data: baseline(d))
            memory = memory_frame = ""
            if not args.no_memory:
                frame_bytes = int(baseline_frame(data)[0].memory_usage(deep=True).sum())
                memory = f"{measure_peak(data, name) / frame_bytes:.1f}x"
                memory_frame = f"{measure_peak(data, name, frame=True) / frame_bytes:.1f}x"
            speeds.append(n / t_imp)
            frame_speeds.append(n / t_frame)
            print(
                f"{layout:<10}{n:>9,}{len(data) / 1e6:>7.1f}{t_imp:>10.3f}{n / t_imp:>11,.0f}"
                f"{t_csv:>12.3f}{t_imp / t_csv:>7.1f}x{len(holdings.positions):>11,}"
                f"{memory:>9}{t_frame:>9.3f}{t_frame / t_csv:>7.1f}x{memory_frame:>9}"
                f"{cpu_frame:>10.3f}{cpu_frame / cpu_csv:>7.1f}x  {how}",
                flush=True,
            )
        if len(speeds) > 1:
            print(
                f"{layout:<10}linearity: rows/s at {sizes[-1]:,} over rows/s at {sizes[0]:,} = "
                f"{speeds[-1] / speeds[0]:.2f} (frame: {frame_speeds[-1] / frame_speeds[0]:.2f}, "
                f"{frame_speeds[0]:,.0f} and {frame_speeds[-1]:,.0f} rows/s)",
                flush=True,
            )


if __name__ == "__main__":
    main()
