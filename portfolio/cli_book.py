"""`python -m portfolio book FILE`: a whole book at a glance, and each household's run saved.

The export is split into households (a household column, or `--households MAP.csv`); the
summary is the practice view (portfolio.practice), computed on the export read into columns.
`--save` plans every household with the engine (in this process, or on Dask with `--dask` /
`--scheduler`) and keeps each as a run in PENDING_REVIEW with its ticket; the crew's narrative
is written when the advisor opens the run. `--trades OUT.csv` writes the vectorised book plan
(every household's proposed trades, on Dask too) as a queue to review: a nightly batch of a
book too big for a run per household.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from portfolio.models import ClientMandate, RebalanceProposal

if TYPE_CHECKING:
    from portfolio.book_columns import BookColumns
    from portfolio.practice import HouseholdBook

TABLE_COLUMNS = [
    ("household", "Household", "{}"),
    ("value", "Value", "{:,.0f}"),
    ("worst_class", "Worst class", "{}"),
    ("worst_drift", "Drift", "{:+.1%}"),
    ("worst_band", "Band", "{:.1%}"),
    ("out_of_band", "Out", "{}"),
    ("cap_breaches", "Caps", "{}"),
    ("cash_above_band", "Cash over", "{:,.0f}"),
    ("harvestable_loss", "Harvestable", "{:,.0f}"),
]


def _table(summary: Any, runs: dict[str, str]) -> str:
    header = [h for _, h, _ in TABLE_COLUMNS] + (["Run"] if runs else [])
    rows = []
    for r in summary.to_dict("records"):
        cells = [fmt.format(r[k]) for k, _, fmt in TABLE_COLUMNS]
        if runs:
            cells.append(runs.get(r["household"], ""))
        rows.append(cells)
    cells = [header, *rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    return "\n".join(
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in cells
    )


def _records(frame: Any) -> list[dict[str, Any]]:
    """Rows as plain JSON values: dates as ISO text, numpy scalars as numbers, NaN as None."""
    out = []
    for r in frame.to_dict("records"):
        row = {}
        for k, v in r.items():
            if isinstance(v, date):
                v = v.isoformat()
            elif hasattr(v, "item"):
                v = v.item()
            row[k] = None if v is None or (isinstance(v, float) and v != v) else v
        out.append(row)
    return out


def _on_dask(args: argparse.Namespace) -> bool:
    """`--dask`, `--scheduler`, or a scheduler named by the environment (a firm's nightly job)."""
    from portfolio.batch import SCHEDULER_ENV

    return bool(args.dask or args.scheduler or os.environ.get(SCHEDULER_ENV))


def _plan(households: list, args: argparse.Namespace, as_of: date) -> dict[str, RebalanceProposal]:
    from portfolio import batch

    if not _on_dask(args):
        return batch.proposals(households, as_of)
    with batch.dask_client(args.scheduler, workers=args.workers) as client:
        return batch.proposals_on_dask(households, client, as_of)


def _save(households: list, proposals: dict[str, RebalanceProposal], data: bytes, name: str):
    """One run per household, PENDING_REVIEW, from the household's own part of the export."""
    from portfolio.ledger import open_ledger
    from portfolio.ledger import status as run_status

    ledger = open_ledger()
    out: dict[str, str] = {}
    try:
        for h in households:
            p = proposals[h.id]
            run_id = ledger.create_run(
                holdings=h.holdings,
                source_bytes=data,
                filename=name,
                client=h.name,
                mandate=p.mandate,
                model=p.model,
                settings={"batch": {"source": "book", "file": name}},
                status=run_status.PENDING_REVIEW,
            )
            ledger.save_proposal(run_id, p)
            out[h.id] = run_id
    finally:
        ledger.close()
    return out


def _columns(
    args: argparse.Namespace, mandate: ClientMandate
) -> tuple[BookColumns, list[HouseholdBook], bytes, date | None]:
    """The export as households in columns; with `--save`, the households as objects too (a
    saved run keeps its holdings), else none: a practice's book without an object per row."""
    from portfolio.book_columns import book_columns
    from portfolio.cli import CliError
    from portfolio.households import household_columns, read_mapping, split_households
    from portfolio.import_service import ImportedFrame, import_book, import_frame

    path = Path(args.file)
    if not path.is_file():
        raise CliError(f"{args.file}: no such file")
    data = path.read_bytes()
    mapping = read_mapping(Path(args.households).read_bytes()) if args.households else None
    read = import_book if args.save else import_frame
    imported = read(data, path.name, decimal=args.decimal, total=args.total)
    if imported.partial and not args.allow_partial:
        raise CliError(f"{imported.unread_summary()}; fix them or pass --allow-partial")
    if isinstance(imported, ImportedFrame):
        cols = household_columns(imported.frame, data=data, mapping=mapping, mandate=mandate)
        return cols, [], data, imported.frame.as_of
    households = split_households(imported.holdings, data=data, mapping=mapping, mandate=mandate)
    return book_columns(households), households, data, imported.holdings.as_of


def _queue(cols: BookColumns, args: argparse.Namespace, as_of: date) -> int:
    """The book plan written to `--trades`: how many trades."""
    from portfolio import batch
    from portfolio.trade_queue import queue_csv

    if _on_dask(args):
        with batch.dask_client(args.scheduler, workers=args.workers) as client:
            trades = batch.plan_columns_on_dask(cols, client, as_of)
    else:
        trades = batch.plan_columns(cols, as_of)
    Path(args.trades).write_text(queue_csv(trades), encoding="utf-8", newline="")
    return len(trades)


def cmd_book(args: argparse.Namespace) -> int:
    from portfolio.cli import write_json
    from portfolio.practice import summarise_columns

    mandate = ClientMandate(risk_profile=args.profile)
    cols, households, data, file_as_of = _columns(args, mandate)
    as_of = args.as_of or file_as_of or date.today()
    view = summarise_columns(
        cols,
        as_of=as_of,
        tax_rate=args.tax_rate,
        harvest_threshold=args.harvest_threshold,
    )
    queued = _queue(cols, args, as_of) if args.trades else None
    runs: dict[str, str] = {}
    if args.save:
        runs = _save(households, _plan(households, args, as_of), data, Path(args.file).name)
    if args.format == "json":
        doc: dict[str, Any] = {
            "as_of": as_of.isoformat(),
            "households": _records(view.summary),
            "harvest": _records(view.harvest),
            "runs": runs,
        }
        if queued is not None:
            doc["trades"] = {"file": args.trades, "count": queued}
        write_json(doc)
    else:
        sys.stdout.write(_table(view.summary, runs) + "\n")
        ok = view.harvest[view.harvest["harvestable"].astype(bool)] if len(view.harvest) else []
        if len(ok):
            sys.stdout.write(
                f"\n{len(ok)} position(s) to harvest, losses ${ok['loss'].sum():,.0f}, "
                f"tax saved ${ok['tax_saved'].sum():,.0f} at {args.tax_rate:.0%}; "
                "the same funds may be bought back from "
                f"{ok['safe_to_rebuy'].iloc[0].isoformat()}\n"
            )
        if queued is not None:
            sys.stdout.write(
                f"\nWrote {queued:,} proposed trade(s) for review to {args.trades} "
                "(proposals, not approved orders)\n"
            )
        if runs:
            sys.stdout.write(f"\nSaved {len(runs)} run(s) in PENDING_REVIEW\n")
    return 0


def add_book_command(sub: Any) -> None:
    from portfolio.cli import _date, _fraction, _import_options, _money, _profile

    p = sub.add_parser("book", help="every household of a custodian export at a glance")
    p.add_argument("file")
    p.add_argument(
        "--households", default=None, help="CSV account,client[,type][,profile][,advisor]"
    )
    p.add_argument("--profile", type=_profile, default="moderate", help="default risk profile")
    p.add_argument("--as-of", type=_date, default=None, help="the day sales would be made")
    p.add_argument(
        "--tax-rate", type=_fraction, default=0.15, help="rate for tax saved, default 15%%"
    )
    p.add_argument(
        "--harvest-threshold", type=_money, default=1_000.0, help="smallest loss worth it, $"
    )
    p.add_argument("--save", action="store_true", help="plan and save each household's run")
    p.add_argument(
        "--trades",
        default=None,
        metavar="OUT.csv",
        help="write every household's proposed trades to a CSV for review (the nightly queue)",
    )
    p.add_argument("--dask", action="store_true", help="plan on a local Dask cluster")
    p.add_argument(
        "--scheduler", default=None, help="a Dask scheduler address, e.g. tcp://host:8786"
    )
    p.add_argument("--workers", type=int, default=2, help="local Dask workers, default 2")
    p.add_argument("--format", choices=["json", "table"], default="table")
    p.add_argument("--allow-partial", action="store_true")
    _import_options(p)
    p.set_defaults(func=cmd_book)
