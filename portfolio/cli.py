"""`python -m portfolio`: import a custodian file, propose a rebalance, and (with the ledger)
record, decide, execute and export runs. Errors are one line on stderr, never a traceback."""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from portfolio.import_service import ImportedBook
from portfolio.labels import money
from portfolio.models import (
    ClientMandate,
    ExclusionCategory,
    Holdings,
    ImportIssue,
    RebalanceProposal,
    RiskProfile,
    UnreadableFileError,
)

if TYPE_CHECKING:
    from portfolio.book import BookSummary

EXIT_OK = 0
EXIT_UNUSABLE = 2


class CliError(Exception):
    """A problem the user can fix; printed as `error: ...` with exit code 2."""


def _income_need(text: str) -> float:
    """A yearly income need: a fraction of the book up to 25% (`ClientMandate.income_need`)."""
    v = _fraction(text)
    if v > 0.25:
        raise argparse.ArgumentTypeError(f"'{text}' is above a 25% yearly income need")
    return v


def _fraction(text: str) -> float:
    """Accept 0.05, 5 or 5% for five percent (1 or more is read as a percentage)."""
    t = text.strip().rstrip("%")
    try:
        v = float(t)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from exc
    if text.strip().endswith("%") or v >= 1:
        v /= 100.0
    if not 0 <= v <= 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not between 0% and 100%")
    return v


def _profile(text: str) -> RiskProfile:
    key = text.strip().lower().replace("-", "_").replace(" ", "_")
    try:
        return RiskProfile(key)
    except ValueError as exc:
        names = ", ".join(p.value for p in RiskProfile)
        raise argparse.ArgumentTypeError(f"unknown profile '{text}' (one of: {names})") from exc


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date (YYYY-MM-DD)") from exc


def _money(text: str) -> float:
    try:
        v = float(text.strip().replace(",", "").replace("$", ""))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"'{text}' is not an amount") from exc
    if v < 0:
        raise argparse.ArgumentTypeError(f"'{text}' is negative")
    return v


def _account_type(text: str) -> tuple[str, str]:
    from portfolio.accounts import parse_account_type

    name, sep, kind = text.rpartition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"'{text}' is not ACCOUNT NAME=TYPE")
    try:
        return name.strip(), parse_account_type(kind)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def read_prices(path: str) -> dict[str, float]:
    """A price list: `symbol,price[,date]` per line, with or without a header row."""
    p = Path(path)
    if not p.is_file():
        raise CliError(f"{path}: no such file")
    text = p.read_bytes().decode("utf-8-sig", errors="replace")
    out: dict[str, float] = {}
    for n, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        cells = [c.strip() for c in row]
        if not cells or not cells[0] or cells[0].startswith("#"):
            continue
        if len(cells) < 2:
            raise CliError(f"{path}, line {n}: expected symbol,price[,date]")
        try:
            price = float(cells[1].replace("$", "").replace(",", ""))
        except ValueError:
            if n == 1:  # a header row
                continue
            raise CliError(f"{path}, line {n}: '{cells[1]}' is not a price") from None
        if price <= 0:
            raise CliError(f"{path}, line {n}: the price of {cells[0]} is not positive")
        out[cells[0].upper()] = price
    if not out:
        raise CliError(f"{path}: no prices could be read")
    return out


def _amount(text: str) -> float:
    """A book's total: `250000`, `$250,000.00`."""
    from portfolio.numbers import NumberError, parse_number

    try:
        value = parse_number(text)
    except NumberError as exc:
        raise argparse.ArgumentTypeError(f"'{text}' is not an amount") from exc
    if value is None or value <= 0:
        raise argparse.ArgumentTypeError(f"'{text}' is not a positive amount")
    return value


def read_book(args: argparse.Namespace) -> tuple[ImportedBook, bytes]:
    """The file named on the command line through the shared import service."""
    from portfolio.import_service import import_book

    p = Path(args.file)
    if not p.is_file():
        raise CliError(f"{args.file}: no such file")
    data = p.read_bytes()
    return import_book(data, p.name, decimal=args.decimal, total=args.total), data


def read_file(path: str) -> tuple[Holdings, bytes]:
    book, data = read_book(argparse.Namespace(file=path, decimal=None, total=None))
    return book.holdings, data


def import_issues(holdings: Holdings) -> list[ImportIssue]:
    """Errors and warnings, then each skipped row as an info line, in file order."""
    from portfolio.import_service import report

    return report(holdings)


def write_json(doc: Any) -> None:
    from portfolio.json_out import dumps

    sys.stdout.write(dumps(doc, indent=2) + "\n")


def mandate_from_args(args: argparse.Namespace) -> ClientMandate:
    excluded = [s for s in (args.exclude or "").replace(";", ",").split(",") if s.strip()]
    categories = [c for c in excluded if c.strip().lower() in {e.value for e in ExclusionCategory}]
    symbols = [s for s in excluded if s not in categories]
    return ClientMandate(
        risk_profile=args.profile,
        esg_only=args.esg,
        excluded_categories=[ExclusionCategory(c.strip().lower()) for c in categories],
        excluded_symbols=symbols,
        single_name_cap=args.max_position or None,
        cash_floor=args.cash_min,
        income_need=args.income_need,
        band_abs=args.band,
        band_rel=args.band_rel,
        min_trade_value=args.min_trade,
        fractional=args.fractional,
        tax_aware=not args.no_tax_aware,
        offset_gains=args.offset_gains,
    )


def proposal_json(proposal: RebalanceProposal) -> dict[str, Any]:
    return proposal.model_dump(mode="json")


_AS_OF_WORDS = {"argument": "--as-of", "file": "the file's date", "today": "today"}


def _paid_out(proposal: RebalanceProposal) -> str:
    paid = proposal.cash_paid_out
    if not paid:
        return ""
    return f" (${paid:,.2f} of it paid out, ${proposal.cash_after - paid:,.2f} kept)"


def _print_table(proposal: RebalanceProposal, out: Any) -> None:
    w = out.write
    w(
        f"Portfolio ${proposal.total_value:,.2f}  cash ${proposal.cash_value:,.2f} -> "
        f"${proposal.cash_after:,.2f}{_paid_out(proposal)}  profile {proposal.profile}  "
        f"as of {proposal.as_of} "
        f"({_AS_OF_WORDS[proposal.as_of_source]})\n\n"
    )
    if proposal.accounts:
        w(f"{'Account':<28}{'Type':<14}{'Value':>14}{'Cash':>13}{'After':>13}{'Gains':>13}\n")
        for a in proposal.accounts:
            w(
                f"{a.account[:27]:<28}{a.type:<14}{a.value:>14,.2f}{a.cash:>13,.2f}"
                f"{a.cash_after:>13,.2f}{a.realized_gains:>13,.2f}\n"
            )
        w("\n")
    w(f"{'Asset class':<18}{'Current':>9}{'Target':>9}{'After':>9}  Band\n")
    for cls, cw in proposal.asset_class_weights.items():
        w(
            f"{cls:<18}{cw.current:>9.1%}{cw.target:>9.1%}{cw.post_trade:>9.1%}  "
            f"±{cw.band:.1%} {cw.status}\n"
        )
    w(
        f"\n{'ID':<5}{'Account':<22}{'Action':<7}{'Symbol':<8}{'Quantity':>12}{'Price':>11}"
        f"{'Value':>14}  Verdict\n"
    )
    for t in proposal.trades:
        w(
            f"{t.id:<5}{t.account[:21]:<22}{t.action:<7}{t.symbol:<8}{t.quantity:>12,.4g}"
            f"{t.price:>11,.2f}{t.value:>14,.2f}  {t.compliance.status}\n"
        )
        w(f"     {t.reason}\n")
        if t.compliance.status == "VETOED":
            for r in t.compliance.reasons:
                w(f"     ! {r}\n")
    if not proposal.trades:
        w("No trades: every asset class is within its band.\n")
    if proposal.cash_requests:
        w("\nCash requests\n")
        for r in proposal.cash_requests:
            w(f"  [{'met' if r.met else 'NOT MET'}] {r.message}\n")
    known = any(t.realized_gain is not None for t in proposal.trades if t.action == "SELL")
    gains = (
        f"estimated realised gains {money(proposal.realized_gains)} "
        f"(short-term {money(proposal.short_term_gains)})"
        if known
        else "realised gains not estimated (no cost basis in the file)"
    )
    w(f"\nTurnover {proposal.turnover:.1%}; {gains}\n")
    w(f"Estimated yield {proposal.yield_before:.2%} -> {proposal.yield_after:.2%}")
    need = proposal.mandate.income_need
    if need > 0:
        w(
            f" (income need {need:.1%}: "
            + (f"short by {proposal.income_short_by:.2%})" if proposal.income_short_by else "met)")
        )
    if proposal.income_lean:
        lean = ", ".join(
            f"{c} {v * 100:+.1f} pts"
            for c, v in sorted(proposal.income_lean.items(), key=lambda kv: (-kv[1], kv[0]))
        )
        w(f"\nTargets leaned toward yield inside the bands: {lean}")
    w("\n\nChecks\n")
    for c in proposal.checks:
        w(f"  [{c.status}] {c.rule}: {c.message}\n")
    if proposal.unread_rows:
        from portfolio.import_service import unread_summary

        stated = sum(r.value for r in proposal.unread_rows if r.value is not None)
        w(
            f"\nPartial book: {unread_summary(proposal.unread_rows)} and are left out "
            f"(stated value {money(stated)})\n"
        )
    if proposal.import_issues:
        w("\nImport\n")
        for i in proposal.import_issues:
            w(f"  line {i.line or '-'} {i.severity}: {i.message}\n")


def _print_holdings(
    holdings: Holdings, issues: list[ImportIssue], counts: BookSummary, out: Any
) -> None:
    w = out.write
    w(
        f"{holdings.format} file, {counts.positions} positions in "
        f"{counts.accounts} account(s), total ${counts.total_value:,.2f}, swept cash "
        f"${counts.cash:,.2f}\n\n"
    )
    for p, cls, swept in zip(holdings.positions, counts.asset_classes, counts.swept, strict=True):
        price = "" if p.price is None else f"{p.price:,.2f}"
        kind = "swept cash" if swept else cls
        w(
            f"{p.account[:21]:<22}{p.symbol:<11}{kind:<16}{p.quantity:>14,.4f}"
            f"{price:>11}{p.market_value:>15,.2f}\n"
        )
    for i in issues:
        w(f"  line {i.line or '-'} {i.severity}: {i.message}\n")


def cmd_import(args: argparse.Namespace) -> int:
    from portfolio.book import summarize
    from portfolio.securities import load_securities

    book, _ = read_book(args)
    holdings, issues = book.holdings, book.issues
    # Counted as the engine counts: a purchased money-market fund is a position, not cash.
    counts = summarize(holdings, load_securities())
    if args.format == "json":
        doc = holdings.model_dump(mode="json")
        doc["total_value"] = counts.total_value
        doc["cash_value"] = counts.cash
        doc["import_issues"] = [i.model_dump(mode="json") for i in issues]
        doc["unread_rows"] = [r.model_dump(mode="json") for r in book.unread]
        doc["risk_profile"] = book.risk_profile
        write_json(doc)
    else:
        _print_holdings(holdings, issues, counts, sys.stdout)
    return EXIT_OK


def cmd_rebalance(args: argparse.Namespace) -> int:
    from portfolio.cash_requests import parse_spec
    from portfolio.engine import rebalance

    book, data = read_book(args)
    holdings = book.holdings
    if book.partial and not args.allow_partial:
        raise CliError(f"{book.unread_summary()}; fix them or pass --allow-partial")
    if args.profile is None:  # a JSON request's own risk profile, else the desk's default
        args.profile = book.risk_profile or RiskProfile.MODERATE
    mandate = mandate_from_args(args)
    prices = read_prices(args.prices) if args.prices else None
    requests = [parse_spec(x, "withdrawal") for x in args.withdraw or []]
    requests += [parse_spec(x, "deposit") for x in args.deposit or []]
    proposal = rebalance(
        holdings,
        mandate,
        prices=prices,
        as_of=args.as_of,
        account_types=dict(args.account_type or []),
        per_account=args.per_account,
        max_gains=args.max_gains,
        income_reserve_months=args.income_reserve_months,
        cash_requests=requests,
    )
    proposal = proposal.model_copy(
        update={"import_issues": book.issues, "unread_rows": book.unread}
    )
    doc = proposal_json(proposal)
    if args.save:
        from portfolio.cli_ledger import save_run

        partial = (
            {"partial_book": {"allowed_by": "--allow-partial", "unread_lines": len(book.unread)}}
            if book.partial
            else None
        )
        saved = save_run(proposal, holdings, data, Path(args.file).name, settings=partial)
        doc["run_id"] = saved["run_id"]
        for t in doc["trades"]:
            t["id"] = saved["trade_ids"].get(t["id"], t["id"])
    if args.format == "json":
        write_json(doc)
    else:
        _print_table(proposal, sys.stdout)
        if args.save:
            sys.stdout.write(f"\nSaved as run {doc['run_id']}\n")
    return EXIT_OK


def _import_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--decimal",
        choices=["comma", "point"],
        default=None,
        help="the file's decimal mark, when its numbers do not show it",
    )
    p.add_argument(
        "--total", type=_amount, default=None, help="the book's total, for a sheet of allocations"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m portfolio", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    imp = sub.add_parser("import", help="show what was read from a custodian file")
    imp.add_argument("file")
    imp.add_argument("--format", choices=["json", "table"], default="table")
    _import_options(imp)
    imp.set_defaults(func=cmd_import)

    reb = sub.add_parser("rebalance", help="propose trades for a holdings file")
    reb.add_argument("file")
    reb.add_argument(
        "--profile", type=_profile, default=None, help="default: a request's own, else moderate"
    )
    reb.add_argument("--esg", action="store_true", help="ESG-only mandate: every screen applies")
    reb.add_argument(
        "--max-position", type=_fraction, default=None, help="single-name cap, e.g. 0.05 or 5%%"
    )
    reb.add_argument("--cash-min", type=_fraction, default=0.0, help="cash floor")
    reb.add_argument("--band", type=_fraction, default=0.05, help="absolute band, default 5%%")
    reb.add_argument("--band-rel", type=float, default=0.25, help="relative band, default 0.25")
    reb.add_argument(
        "--exclude",
        default="",
        help="comma-separated symbols and/or categories (tobacco, weapons, fossil_fuels, gambling)",
    )
    reb.add_argument("--min-trade", type=float, default=100.0, help="minimum trade value, $")
    reb.add_argument("--fractional", action="store_true", help="allow fractional shares")
    reb.add_argument("--no-tax-aware", action="store_true", help="sell lots first-in first-out")
    reb.add_argument(
        "--offset-gains",
        action="store_true",
        help="harvest taxable losses to offset the gains the rebalance realises, buying each "
        "class back through a fund that is not substantially identical",
    )
    reb.add_argument(
        "--as-of",
        type=_date,
        default=None,
        help="trade date for the tax clock, YYYY-MM-DD (default: the file's date, else today)",
    )
    reb.add_argument(
        "--account-type",
        type=_account_type,
        action="append",
        metavar="NAME=TYPE",
        help="an account's tax status: taxable, tax_deferred or tax_free (repeatable)",
    )
    reb.add_argument(
        "--per-account",
        action="store_true",
        help="rebalance each account to the model on its own (default: the household)",
    )
    reb.add_argument(
        "--max-gains", type=_money, default=None, help="household budget for realised gains, $"
    )
    reb.add_argument(
        "--income-need",
        type=_income_need,
        default=0.0,
        help="yearly income the client needs, as a share of the book, e.g. 0.03 or 3%%",
    )
    reb.add_argument(
        "--income-reserve-months",
        type=float,
        default=12.0,
        help="months of the stated income need kept in cash, default 12",
    )
    reb.add_argument(
        "--withdraw",
        action="append",
        metavar="ACCOUNT=AMOUNT",
        help="cash to leave in an account for a withdrawal, raised there (repeatable)",
    )
    reb.add_argument(
        "--deposit",
        action="append",
        metavar="ACCOUNT=AMOUNT",
        help="new cash coming into an account, invested by the plan (repeatable)",
    )
    reb.add_argument("--prices", default=None, help="CSV of current prices: symbol,price[,date]")
    reb.add_argument("--format", choices=["json", "table"], default="table")
    reb.add_argument("--save", action="store_true", help="record the proposal as a run")
    _import_options(reb)
    reb.add_argument(
        "--allow-partial",
        action="store_true",
        help="go on when some rows cannot be read; the proposal lists them",
    )
    reb.set_defaults(func=cmd_rebalance)

    from portfolio.cli_book import add_book_command

    add_book_command(sub)

    try:
        from portfolio.cli_ledger import add_commands
    except ImportError:  # the ledger is optional for reading and proposing
        pass
    else:
        add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except BrokenPipeError:  # the reader (head, less) stopped early: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except (CliError, UnreadableFileError, ValueError, KeyError, OSError) as exc:
        msg = str(exc).strip()
        if isinstance(exc, KeyError):  # KeyError quotes its message
            msg = msg.strip("'\"")
        msg = msg or exc.__class__.__name__
        sys.stderr.write(f"error: {msg.splitlines()[0]}\n")
        return EXIT_UNUSABLE
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug: still no traceback for the person at the terminal
        sys.stderr.write(f"error: unexpected failure ({exc.__class__.__name__}: {exc})\n")
        return 1
