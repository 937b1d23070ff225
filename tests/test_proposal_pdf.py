"""The client proposal PDF: rendered to an image by Poppler's pdftoppm and read back as text by
pdftotext, so what a client would see is what is checked."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from conftest import SAMPLES
from PIL import Image

from portfolio.engine import rebalance
from portfolio.importers import read_holdings
from portfolio.models import ClientMandate, RebalanceProposal
from portfolio.proposal_pdf import ProposalDocument, build_proposal_pdf, proposed_trades
from portfolio.securities import load_securities
from portfolio.trade_edits import with_quantities

pytestmark = pytest.mark.skipif(
    not (shutil.which("pdftoppm") and shutil.which("pdftotext")),
    reason="Poppler's pdftoppm/pdftotext are missing (scripts/setup_tests.sh installs them)",
)
SEC = load_securities()


def proposal(sample: str, mandate: ClientMandate) -> RebalanceProposal:
    path = SAMPLES / sample
    h = read_holdings(path.read_bytes(), filename=path.name, securities=SEC)
    return rebalance(h, mandate, securities=SEC)


def document(p: RebalanceProposal, **extra: object) -> ProposalDocument:
    fields: dict[str, object] = dict(
        proposal=p,
        client="Margaret Hale",
        advisor="Ada Lovelace",
        run_id="20251201-abcd1234",
        prepared_on=date(2025, 12, 1),
        rationale="Rebalancing because US equities are far above their target.",
        narrative="The plan sells and buys to bring the classes back within their bands.",
        market_data="bundled sample history",
        market_data_is_sample=True,
        market_as_of=date(2025, 6, 30),
        reference_prices_as_of=SEC.as_of,
    )
    fields.update(extra)
    return ProposalDocument.model_validate(fields)


def render(pdf: bytes, tmp: Path) -> tuple[str, list[Path]]:
    path = tmp / "proposal.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "50", str(path), str(tmp / "page")], check=True)
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    return text, sorted(tmp.glob("page*.png"))


@pytest.fixture(scope="module")
def esg() -> RebalanceProposal:
    return proposal(
        "seed001_esg_moderate.csv",
        ClientMandate(risk_profile="moderate", esg_only=True, single_name_cap=0.05),
    )


def test_the_proposal_renders_with_its_sections_and_figures(
    esg: RebalanceProposal, tmp_path: Path
) -> None:
    doc = document(esg, decisions={esg.trades[-1].id: "VETO"})
    text, pages = render(build_proposal_pdf(doc), tmp_path)
    assert pages, "pdftoppm rendered no page"
    first = Image.open(pages[0]).convert("RGB")
    assert first.size[0] > 300 and first.size[1] > 400
    # The allocation chart is drawn: the after-trade teal is on the first page.
    teal = dict((c, n) for n, c in first.getcolors(maxcolors=1 << 24) or []).get(
        (0x2A, 0x9D, 0x8F), 0
    )
    assert teal > 50
    flat = " ".join(text.split())
    for words in (
        "Rebalancing proposal",
        "Prepared for Margaret Hale by Ada Lovelace on December 1, 2025",
        "Your mandate",
        "Moderate",
        "Single-name cap 5.0%",
        "Allocation today and after the proposed trades",
        "Why we propose these trades",
        "Rebalancing because US equities are far above their target.",
        "The trades",
        "Tax impact",
        "Disclosures",
        "a synthetic sample history, not real market data, through June 30, 2025",
        f"reference prices as of {SEC.as_of:%B %-d, %Y}",
    ):
        assert words in flat, words
    # Every proposed trade with its quantity; the vetoed one is left out and counted.
    shown = proposed_trades(doc)
    assert len(shown) == len(esg.trades) - 1
    for t in shown:
        assert f"{t.symbol} {t.quantity:,.0f}" in flat, t
    assert "1 further trade(s) were considered and left out" in flat
    # No cost basis in this file: the tax table says so instead of printing zeros.
    assert "Gains cannot be estimated" in flat and "not known" in flat


def test_realised_gains_come_from_the_proposal(tmp_path: Path) -> None:
    p = proposal("plain_with_lots.csv", ClientMandate(risk_profile="moderate"))
    sells = [t for t in p.trades if t.action == "SELL" and t.realized_gain is not None]
    assert sells, "the lots sample sells something with a known basis"
    text, _ = render(build_proposal_pdf(document(p)), tmp_path)
    flat = " ".join(text.split())
    total = sum(t.realized_gain or 0.0 for t in sells)
    short = sum(t.short_term_gain or 0.0 for t in sells)
    money = lambda x: f"{'-' if x < 0 else ''}${abs(x):,.0f}"  # noqa: E731
    assert f"Total {money(sum(t.value for t in p.trades if t.action == 'SELL'))}" in flat
    assert f"{money(short)} {money(total - short)} {money(total)}" in flat
    assert "IRS Publication 550" in flat


def test_no_trades_no_tax(tmp_path: Path, esg: RebalanceProposal) -> None:
    quiet = esg.model_copy(update={"trades": []})
    text, pages = render(build_proposal_pdf(document(quiet, rationale="", narrative="")), tmp_path)
    flat = " ".join(text.split())
    assert pages and "No trade is proposed." in flat
    assert "No sale is proposed, so no gain is realised." in flat


def test_an_edited_quantity_is_what_the_proposal_shows(tmp_path: Path) -> None:
    p = proposal("plain_with_lots.csv", ClientMandate(risk_profile="moderate"))
    buy = next(t for t in p.trades if t.action == "BUY" and t.quantity >= 3)
    edited = p.model_copy(update={"trades": with_quantities(p.trades, {buy.id: 2})})
    text, _ = render(build_proposal_pdf(document(edited)), tmp_path)
    row = next(
        line for line in text.splitlines() if f" {buy.symbol} " in f" {line} " and "Buy" in line
    )
    assert " 2 " in f" {row} " and f"${2 * buy.price:,.0f}" in row, row
