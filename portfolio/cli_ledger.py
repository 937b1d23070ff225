"""Ledger commands of the CLI: runs, show, decide, execute, export, verify.

`portfolio.cli` registers them with `add_commands(subparsers)` and calls `args.func(args)`; each
handler returns the exit code. A refused request prints one `error: ...` line to stderr, exits 2
and changes nothing. `python -m portfolio.cli_ledger CMD ...` runs them on their own.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from portfolio import orders
from portfolio.access import Firm, Identity, clean_name, load_firm_file
from portfolio.json_out import dumps as strict_json
from portfolio.ledger import (
    Ledger,
    LedgerError,
    execute_decided,
    open_ledger,
    paper_broker,
    recover,
)
from portfolio.ledger import status as run_status
from portfolio.ledger.anchor import anchor_json, check_anchor, read_anchor
from portfolio.ledger.keys import SECRETS
from portfolio.ledger.read_models import RunRecord, as_json
from portfolio.models import Holdings, RebalanceProposal

Handler = Callable[[argparse.Namespace], int]


class _Refused(Exception):
    pass


def save_run(
    proposal: RebalanceProposal,
    holdings: Holdings,
    source_bytes: bytes,
    filename: str,
    *,
    settings: Mapping[str, Any] | None = None,
    client: str | None = None,
) -> dict[str, Any]:
    """Record a deterministic run (file, snapshot, proposal) and return its ids for the JSON."""
    ledger = open_ledger()
    try:
        run_id = ledger.create_run(
            holdings=holdings,
            source_bytes=source_bytes,
            filename=filename,
            client=client,
            mandate=proposal.mandate,
            model=proposal.model,
            settings=settings,
            status=run_status.PENDING_REVIEW,
        )
        trade_ids = ledger.save_proposal(run_id, proposal)
        return {"run_id": run_id, "trade_ids": trade_ids}
    finally:
        ledger.close()


# ------------------------------------------------------------------------------- output


def _emit(args: argparse.Namespace, data: Any, table: Callable[[Any], str]) -> None:
    if args.format == "json":
        print(strict_json(as_json(data), indent=2, default=str))
    else:
        print(table(data))


def _grid(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> str:
    cells = [[str(h) for h in header]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def _money(v: float | None) -> str:
    return "" if v is None else f"{v:,.2f}"


def _qty(v: float | None) -> str:
    return "" if v is None else f"{v:g}"


# ------------------------------------------------------------------------------- handlers


def _with_ledger(work: Callable[[Ledger, argparse.Namespace], int], *, recovers: bool = True):
    def handler(args: argparse.Namespace) -> int:
        try:
            ledger = open_ledger()
        except (SQLAlchemyError, OSError) as exc:
            print(f"error: cannot open the ledger: {_first_line(exc)}", file=sys.stderr)
            return 2
        if ledger.key_created:
            print(
                f"note: no ledger key was set, so one was {ledger.key_source}; keep a copy "
                "outside the database (REBALANCE_LEDGER_KEY or [ledger] key in secrets)",
                file=sys.stderr,
            )
        try:
            if recovers:  # finish orders a crashed process left behind, before anything else
                recover(ledger, paper_broker(ledger))
            return work(ledger, args)
        except (LedgerError, _Refused, ValueError, PermissionError) as exc:
            print(f"error: {_first_line(exc)}", file=sys.stderr)
            return 2
        except SQLAlchemyError as exc:
            print(f"error: database: {_first_line(exc)}", file=sys.stderr)
            return 2
        finally:
            ledger.close()

    return handler


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _runs(ledger: Ledger, args: argparse.Namespace) -> int:
    data = ledger.runs(limit=args.limit)
    _emit(
        args,
        data,
        lambda rows: (
            _grid(
                [
                    (r.run_id, (r.created_at or "")[:19], r.status, r.client, r.file, r.trades)
                    for r in rows
                ],
                ["RUN", "CREATED (UTC)", "STATUS", "CLIENT", "FILE", "TRADES"],
            )
            if rows
            else "no runs yet"
        ),
    )
    return 0


def _show_table(run: RunRecord) -> str:
    head = (
        f"run {run.run_id}  {run.status}  client {run.client}  "
        f"file {run.snapshot.filename if run.snapshot else ''}"
    )
    rows = []
    for t in run.trades:
        d, e = t.decision, t.execution
        rows.append(
            (
                t.trade_id,
                t.account,
                t.action,
                t.symbol,
                _qty(t.quantity) + (f" (proposed {_qty(t.proposed_quantity)})" if t.edited else ""),
                _money(t.price),
                t.compliance + (f" ({', '.join(t.rules)})" if t.rules else ""),
                f"{d.decision} by {d.by}" if d else "-",
                f"{e.status} {_qty(e.quantity)} @ {_money(e.price)}"
                if e and e.status == "FILLED"
                else (e.status if e else "-"),
            )
        )
    table = _grid(
        rows,
        ["TRADE", "ACCOUNT", "ACTION", "SYMBOL", "QTY", "PRICE", "COMPLIANCE", "DECISION", "EXEC"],
    )
    return head + "\n" + (table if rows else "no trades")


def _show(ledger: Ledger, args: argparse.Namespace) -> int:
    run = ledger.run(args.run)
    if args.format == "json":
        doc = run.model_dump(mode="json", exclude={"snapshot": {"holdings"}})
        doc["decisions"] = as_json(ledger.decisions(args.run))
        doc["executions"] = as_json(ledger.executions(args.run))
        _emit(args, doc, str)
    else:
        _emit(args, run, _show_table)
    return 0


def _split(values: Sequence[str] | None) -> list[str]:
    return [part.strip() for v in values or [] for part in v.split(",") if part.strip()]


def _quantities(values: Sequence[str] | None) -> dict[str, str]:
    """`--quantity T3=120,T5=40` -> {"T3": "120", "T5": "40"}; the ledger judges the numbers."""
    out: dict[str, str] = {}
    for part in _split(values):
        tid, sep, qty = part.partition("=")
        if not sep or not tid.strip() or not qty.strip():
            raise _Refused(f"--quantity takes TRADE=QUANTITY (for example T3=120), not {part!r}")
        if tid.strip() in out:
            raise _Refused(f"--quantity names {tid.strip()} twice")
        out[tid.strip()] = qty.strip()
    return out


def _decide(ledger: Ledger, args: argparse.Namespace) -> int:
    written = ledger.decide(
        args.run,
        approve=_split(args.approve),
        veto=_split(args.veto),
        by=args.by,
        reason=args.reason,
        quantities=_quantities(args.quantity),
    )
    result = {"run_id": args.run, "status": ledger.run(args.run).status, "decisions": written}
    _emit(
        args,
        result,
        lambda r: "\n".join(
            [
                f"{d.trade_id}: {d.decision}"
                + (f" {_qty(d.quantity)}" if d.quantity is not None else "")
                + f" by {d.by}"
                for d in r["decisions"]
            ]
            + [f"run {r['run_id']} is now {r['status']}"]
        ),
    )
    return 0


def _acting(ledger: Ledger, args: argparse.Namespace) -> tuple[Identity, Firm]:
    """The person named by --by, as the firm knows them: the firm file (--firm, else the app's
    secrets) and the people an admin added on Settings whose rows match their chained journal,
    as on every page."""
    firm = load_firm_file(Path(args.firm) if args.firm else SECRETS)
    if not firm.local:
        firm = firm.with_people(ledger.people.list())
    return firm.identity(clean_name(args.by), authenticated=False), firm


def _firm_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--firm",
        metavar="FILE",
        default=None,
        help="TOML file with the [firm] table (default: .streamlit/secrets.toml); roles and "
        "four-eyes apply when it lists people",
    )


def _sign_off(ledger: Ledger, args: argparse.Namespace) -> int:
    who, firm = _acting(ledger, args)
    done = ledger.sign_off(args.run, who, firm)
    _emit(
        args,
        {"run_id": args.run, **done.model_dump(mode="json")},
        lambda r: f"run {r['run_id']} signed off by {r['by']}",
    )
    return 0


def _execute(ledger: Ledger, args: argparse.Namespace) -> int:
    who, firm = _acting(ledger, args)
    done = execute_decided(ledger, args.run, paper_broker(ledger), by=who, firm=firm)
    report = done.as_dict()
    results = [e for e in done.executions if e.stage == "result"]

    def table(r: Mapping[str, Any]) -> str:
        rows = [
            (
                e.trade_id,
                e.client_order_id,
                e.action,
                e.symbol,
                e.status,
                _qty(e.quantity),
                _money(e.price),
                _money(e.commission),
                e.detail or "",
            )
            for e in results
        ]
        grid = _grid(
            rows,
            [
                "TRADE",
                "CLIENT ORDER ID",
                "ACTION",
                "SYMBOL",
                "STATUS",
                "QTY",
                "PRICE",
                "COMM",
                "DETAIL",
            ],
        )
        return f"{grid}\nrun {r['run_id']} is now {r['status']}"

    _emit(args, report, table)
    return 0


def _export(ledger: Ledger, args: argparse.Namespace) -> int:
    if args.layout == "audit":
        from portfolio.audit import audit_record

        text = strict_json(audit_record(ledger, args.run), indent=2, default=str) + "\n"
        count = 1
    else:
        lines = orders.lines_from_run(ledger.run(args.run), args.which)
        if not lines:
            kind = "approved or executed" if args.which == "auto" else args.which
            raise _Refused(f"run {args.run} has no {kind} trades to export")
        text = orders.to_csv(lines, args.layout)
        count = len(lines)
    if args.out is None:
        if args.format == "json" and args.layout != "audit":
            print(
                strict_json(
                    {"run_id": args.run, "layout": args.layout, "orders": count, "csv": text},
                    indent=2,
                )
            )
        else:
            sys.stdout.write(text)
        return 0
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(text.encode("utf-8"))
    summary = {"run_id": args.run, "layout": args.layout, "orders": count, "path": str(out)}
    _emit(
        args,
        summary,
        lambda s: f"wrote {s['orders']} order(s) in the {s['layout']} layout to {s['path']}",
    )
    return 0


def _verify(ledger: Ledger, args: argparse.Namespace) -> int:
    report = ledger.verify()
    if args.anchor:
        report.anchor = check_anchor(ledger, read_anchor(Path(args.anchor)))
        report.ok = report.ok and not report.anchor

    def table(r: Mapping[str, Any]) -> str:
        lines = [
            f"{c['name']}: {c['length']} link(s), " + ("intact" if c["ok"] else "BROKEN")
            for c in r["chains"]
        ]
        lines += [f"anchor: {p}" for p in r["anchor"]]
        if args.anchor and not r["anchor"]:
            lines.append(f"anchor {args.anchor}: every anchored link is present")
        lines += [f"{p['journal']} table: {p['reason']}" for p in r["tables"]]
        if (b := r["first_broken"]) and b["seq"] is not None:
            lines.append(
                f"first broken link: {b['journal']} #{b['seq']} (row id {b['id']}, run "
                f"{b['run_id']}): {b['reason']}"
            )
        elif b:
            lines.append(f"first problem: {b['journal']}: {b['reason']}")
        else:
            lines.append("ledger verified: every link intact, every table agrees with the chain")
        return "\n".join(lines)

    _emit(args, report.as_dict(), table)
    return 0 if report.ok else 1


def _anchor(ledger: Ledger, args: argparse.Namespace) -> int:
    text = anchor_json(ledger)
    if args.out is None:
        sys.stdout.write(text)
        return 0
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    heads = json.loads(text)["heads"]
    print(
        f"wrote the anchor of {len(heads)} chain(s) to {out}: "
        + ", ".join(f"{h['name']} #{h['seq']}" for h in heads)
    )
    return 0


# ------------------------------------------------------------------------------- parser


def _format(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=["table", "json"], default="table")


def add_commands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("runs", help="list recorded runs, newest first")
    p.add_argument("--limit", type=int, default=50)
    _format(p)
    p.set_defaults(func=_with_ledger(_runs))

    p = subparsers.add_parser("show", help="a run's trades, verdicts, decisions and fills")
    p.add_argument("run")
    _format(p)
    p.set_defaults(func=_with_ledger(_show))

    p = subparsers.add_parser("decide", help="approve or veto trades of a run")
    p.add_argument("run")
    p.add_argument("--approve", action="append", metavar="T1,T2", help="trade ids to approve")
    p.add_argument("--veto", action="append", metavar="T3", help="trade ids to veto (drop)")
    p.add_argument(
        "--quantity",
        action="append",
        metavar="T3=120",
        help="approve a trade at an edited quantity; the compliance gate judges the edit again",
    )
    p.add_argument("--by", required=True, help="who decides (recorded)")
    p.add_argument("--reason", default=None)
    _format(p)
    p.set_defaults(func=_with_ledger(_decide))

    p = subparsers.add_parser("sign-off", help="a supervisor's sign-off of a run (four-eyes)")
    p.add_argument("run")
    p.add_argument("--by", required=True, help="who signs off (recorded; a supervisor)")
    _firm_option(p)
    _format(p)
    p.set_defaults(func=_with_ledger(_sign_off))

    p = subparsers.add_parser("execute", help="send a run's approved trades to the paper broker")
    p.add_argument("run")
    p.add_argument("--by", required=True, help="who executes (recorded on every execution)")
    _firm_option(p)
    _format(p)
    p.set_defaults(func=_with_ledger(_execute))

    p = subparsers.add_parser("export", help="write a run's order file or audit record")
    p.add_argument("run")
    p.add_argument("--layout", choices=[*orders.LAYOUTS, "audit"], default="neutral")
    p.add_argument(
        "--which",
        choices=["auto", "approved", "executed"],
        default="auto",
        help="auto: executed trades if any were filled, else approved ones",
    )
    p.add_argument("--out", default=None, help="file to write (default: standard output)")
    _format(p)
    p.set_defaults(func=_with_ledger(_export))

    p = subparsers.add_parser("verify", help="check the keyed chains and the tables behind them")
    p.add_argument(
        "--anchor", default=None, metavar="FILE", help="an anchor written earlier by `anchor`"
    )
    _format(p)
    p.set_defaults(func=_with_ledger(_verify, recovers=False))

    p = subparsers.add_parser(
        "anchor", help="write the head of every chain, to keep outside the database"
    )
    p.add_argument("--out", default=None, help="file to write (default: standard output)")
    p.set_defaults(func=_with_ledger(_anchor, recovers=False))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m portfolio.cli_ledger")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
