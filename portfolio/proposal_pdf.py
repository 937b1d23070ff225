"""The client proposal: a PDF an advisor hands the client, built from a run's proposal.

Drawn entirely with ReportLab (its own charts and the PDF standard fonts), so it needs no browser,
no network and no font download. Every figure comes from the `RebalanceProposal`; the words are the
strategist's rationale and narrative for the same, final plan.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import date
from xml.sax.saxutils import escape

from pydantic import BaseModel, Field
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import inch
from reportlab.platypus import (
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from portfolio.cash_requests import restate
from portfolio.labels import class_label
from portfolio.models import RebalanceProposal, Trade
from portfolio.post_trade import weights_after

CURRENT = colors.HexColor("#4C6A92")
TARGET = colors.HexColor("#A7B1BC")
AFTER = colors.HexColor("#2A9D8F")
RULE = colors.HexColor("#D5DAE0")
HEAD = colors.HexColor("#EEF1F4")


class ProposalDocument(BaseModel):
    """What the document says beyond the proposal itself."""

    proposal: RebalanceProposal
    client: str
    advisor: str | None = None
    run_id: str
    prepared_on: date
    rationale: str = ""
    narrative: str = ""
    decisions: dict[str, str] = Field(
        default_factory=dict, description="Trade id -> APPROVE or VETO, as the advisor decided"
    )
    market_data: str = "the bundled sample history"
    market_data_is_sample: bool = True
    market_as_of: date | None = None
    reference_prices_as_of: date | None = None


def proposed_trades(doc: ProposalDocument) -> list[Trade]:
    """The trades the client is asked to agree to: the gate approved them and the advisor did
    not veto them."""
    return [
        t
        for t in doc.proposal.trades
        if t.compliance.status == "APPROVED" and doc.decisions.get(t.id) != "VETO"
    ]


def _money(x: float | None, cents: bool = False) -> str:
    if x is None:
        return "-"
    sign = "-" if x < 0 else ""
    return f"{sign}${abs(x):,.2f}" if cents else f"{sign}${abs(x):,.0f}"


def _qty(q: float) -> str:
    return f"{q:,.4f}".rstrip("0").rstrip(".")


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"


def _styles() -> dict[str, ParagraphStyle]:
    base = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=base["BodyText"], fontSize=9.5, leading=13)
    return {
        "title": ParagraphStyle("title", parent=base["Title"], fontSize=20, alignment=0),
        "h2": ParagraphStyle("h2", parent=base["Heading2"], fontSize=13, spaceBefore=12),
        "body": body,
        "small": ParagraphStyle("small", parent=body, fontSize=8, leading=10.5),
        "cell": ParagraphStyle("cell", parent=body, fontSize=8, leading=10),
        "num": ParagraphStyle("num", parent=body, fontSize=8, leading=10, alignment=TA_RIGHT),
        "muted": ParagraphStyle("muted", parent=body, textColor=colors.HexColor("#5B6470")),
    }


def _grid(rows: list[list[object]], widths: list[float], numeric_from: int = 99) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1)
    style = [
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8),
        ("FONT", (0, 1), (-1, -1), "Helvetica", 8),
        ("BACKGROUND", (0, 0), (-1, 0), HEAD),
        ("LINEBELOW", (0, 0), (-1, -1), 0.4, RULE),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("ALIGN", (numeric_from, 0), (-1, -1), "RIGHT"),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    table.setStyle(TableStyle(style))
    return table


def _classes(p: RebalanceProposal, after: Mapping[str, float]) -> list[str]:
    return [
        c
        for c, w in p.asset_class_weights.items()
        if max(w.current, w.target, after.get(c, 0.0)) > 0.0005
    ]


def allocation_chart(p: RebalanceProposal, after: Mapping[str, float]) -> Drawing:
    """Today, target and after the proposed trades, per asset class: grouped bars."""
    classes = _classes(p, after)
    width, height = 6.9 * inch, 2.9 * inch
    d = Drawing(width, height)
    chart = VerticalBarChart()
    chart.x, chart.y = 40, 55
    chart.width, chart.height = width - 60, height - 85
    chart.data = [
        [p.asset_class_weights[c].current * 100 for c in classes],
        [p.asset_class_weights[c].target * 100 for c in classes],
        [after.get(c, 0.0) * 100 for c in classes],
    ]
    for i, colour in enumerate((CURRENT, TARGET, AFTER)):
        chart.bars[i].fillColor = colour
        chart.bars[i].strokeColor = None
    chart.groupSpacing = 8
    chart.valueAxis.valueMin = 0
    top = max(max(row) for row in chart.data) if classes else 100
    chart.valueAxis.valueMax = max(10, (int(top) // 10 + 1) * 10)
    chart.valueAxis.valueStep = 10 if chart.valueAxis.valueMax <= 60 else 20
    chart.valueAxis.labelTextFormat = "%d%%"
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.gridStrokeColor = RULE
    chart.valueAxis.visibleGrid = True
    chart.categoryAxis.categoryNames = [class_label(c, short=True) for c in classes]
    chart.categoryAxis.labels.fontSize = 7
    chart.categoryAxis.labels.angle = 30
    chart.categoryAxis.labels.boxAnchor = "ne"
    chart.categoryAxis.labels.dy = -2
    d.add(chart)
    legend = Legend()
    legend.x, legend.y = 40, height - 8
    legend.alignment = "right"
    legend.columnMaximum = 1
    legend.fontSize = 8
    legend.dx = legend.dy = 7
    legend.deltax = 90
    legend.colorNamePairs = [
        (CURRENT, "Today"),
        (TARGET, "Target"),
        (AFTER, "After the proposed trades"),
    ]
    d.add(legend)
    d.add(String(0, 0, "", fontSize=1))
    return d


def _mandate_rows(doc: ProposalDocument) -> list[list[str]]:
    m = doc.proposal.mandate
    screens = sorted({str(c).replace("_", " ") for c in m.screened_categories})
    rows = [
        ["Risk profile", str(m.risk_profile).replace("_", " ").capitalize()],
        ["Model", doc.proposal.model.name or str(doc.proposal.profile).replace("_", " ")],
        ["Age", str(m.age) if m.age is not None else "not stated"],
        [
            "Time horizon",
            f"{m.horizon_years:g} years" if m.horizon_years is not None else "not stated",
        ],
        ["Income need", _pct(m.income_need) + " a year" if m.income_need else "none stated"],
        ["ESG-only", "yes" if m.esg_only else "no"],
        ["Excluded", ", ".join(screens + list(m.excluded_symbols)) or "nothing"],
        ["Single-name cap", _pct(m.single_name_cap) if m.single_name_cap else "none"],
        ["Cash floor", _pct(m.cash_floor)],
        [
            "Tolerance bands",
            f"{m.band_abs * 100:g} points, or {m.band_rel:.0%} of a target if smaller",
        ],
        ["Tax-aware selling", "yes" if m.tax_aware else "no"],
    ]
    return rows


def _tax_rows(trades: list[Trade]) -> tuple[list[list[object]], bool]:
    """Per sell: proceeds, short-term, long-term, total; and whether any gain was known."""
    sells = [t for t in trades if t.action == "SELL"]
    rows: list[list[object]] = [
        ["#", "Account", "Symbol", "Proceeds", "Short-term gain", "Long-term gain", "Total gain"]
    ]
    known = False
    st_sum = lt_sum = 0.0
    for t in sells:
        if t.realized_gain is None:
            rows.append([t.id, t.account, t.symbol, _money(t.value), "not known", "not known", "-"])
            continue
        known = True
        short = t.short_term_gain or 0.0
        long_ = t.realized_gain - short
        st_sum, lt_sum = st_sum + short, lt_sum + long_
        rows.append(
            [
                t.id,
                t.account,
                t.symbol,
                _money(t.value),
                _money(short),
                _money(long_),
                _money(t.realized_gain),
            ]
        )
    if known:
        rows.append(
            [
                "",
                "Total",
                "",
                _money(sum(t.value for t in sells)),
                _money(st_sum),
                _money(lt_sum),
                _money(st_sum + lt_sum),
            ]
        )
    return rows, known


def build_proposal_pdf(doc: ProposalDocument) -> bytes:
    """The proposal as PDF bytes."""
    s = _styles()
    p = doc.proposal
    trades = proposed_trades(doc)
    after, _ = weights_after(p.positions, trades)
    story: list[object] = []

    story.append(Paragraph("Rebalancing proposal", s["title"]))
    who = f"Prepared for <b>{escape(doc.client)}</b>"
    if doc.advisor:
        who += f" by {escape(doc.advisor)}"
    story.append(
        Paragraph(
            f"{who} on {doc.prepared_on:%B %-d, %Y} &middot; portfolio value "
            f"{_money(p.total_value)} &middot; reference {escape(doc.run_id)}",
            s["muted"],
        )
    )

    story.append(Paragraph("Your mandate", s["h2"]))
    story.append(_grid([["Item", "What we agreed"], *_mandate_rows(doc)], [1.8 * inch, 5.1 * inch]))

    story.append(Paragraph("Allocation today and after the proposed trades", s["h2"]))
    story.append(allocation_chart(p, after))
    classes = _classes(p, after)
    story.append(
        _grid(
            [["Asset class", "Today", "Target", "After trades"]]
            + [
                [
                    class_label(c),
                    _pct(p.asset_class_weights[c].current),
                    _pct(p.asset_class_weights[c].target),
                    _pct(after.get(c, 0.0)),
                ]
                for c in classes
            ],
            [3.0 * inch, 1.3 * inch, 1.3 * inch, 1.3 * inch],
            numeric_from=1,
        )
    )

    story.append(Paragraph("Why we propose these trades", s["h2"]))
    if doc.rationale:
        story.append(Paragraph(escape(doc.rationale), s["body"]))
    if doc.narrative:
        story.append(Spacer(1, 4))
        story.append(Paragraph(escape(doc.narrative), s["body"]))
    if not doc.rationale and not doc.narrative:
        story.append(Paragraph("The portfolio is brought back to its model.", s["body"]))

    story.append(Paragraph("The trades", s["h2"]))
    if trades:
        rows: list[list[object]] = [["#", "Account", "Side", "Symbol", "Quantity", "Value", "Why"]]
        for t in trades:
            rows.append(
                [
                    t.id,
                    Paragraph(escape(t.account), s["cell"]),
                    t.action.capitalize(),
                    t.symbol,
                    _qty(t.quantity),
                    _money(t.value),
                    Paragraph(escape(t.reason), s["cell"]),
                ]
            )
        table = _grid(
            rows,
            [
                0.35 * inch,
                1.1 * inch,
                0.45 * inch,
                0.6 * inch,
                0.7 * inch,
                0.85 * inch,
                2.85 * inch,
            ],
        )
        table.setStyle(TableStyle([("ALIGN", (4, 0), (5, -1), "RIGHT")]))
        story.append(table)
        buys = sum(t.value for t in trades if t.action == "BUY")
        sells = sum(t.value for t in trades if t.action == "SELL")
        story.append(
            Paragraph(
                f"Sells {_money(sells)}, buys {_money(buys)}. Values at the prices the plan used; "
                "fills may differ.",
                s["small"],
            )
        )
    else:
        story.append(Paragraph("No trade is proposed.", s["body"]))
    left_out = [t for t in p.trades if t not in trades]
    if left_out:
        story.append(
            Paragraph(
                f"{len(left_out)} further trade(s) were considered and left out by the "
                "compliance checks or the advisor.",
                s["small"],
            )
        )

    if p.cash_requests:
        story.append(Paragraph("Withdrawals and deposits", s["h2"]))
        for r in restate(p, trades):
            story.append(Paragraph(escape(r.message) + ".", s["body"]))

    rows, known = _tax_rows(trades)
    tax = [Paragraph("Tax impact", s["h2"])]
    if len(rows) == 1:
        tax.append(Paragraph("No sale is proposed, so no gain is realised.", s["body"]))
    else:
        table = _grid(
            rows,
            [
                0.35 * inch,
                1.5 * inch,
                0.7 * inch,
                1.0 * inch,
                1.15 * inch,
                1.15 * inch,
                1.05 * inch,
            ],
            numeric_from=3,
        )
        if known:
            table.setStyle(TableStyle([("FONT", (0, -1), (-1, -1), "Helvetica-Bold", 8)]))
        tax.append(table)
        tax.append(
            Paragraph(
                "Estimated from the cost basis and purchase dates in the uploaded file: a gain on "
                "shares held one year or less is short-term, longer is long-term (IRS Publication "
                "550). Sales in retirement accounts are not taxed when made. Your custodian's "
                "Form 1099-B is the record for your return."
                if known
                else "Gains cannot be estimated: the uploaded file carries no cost basis for "
                "these holdings. Your custodian's Form 1099-B will report them.",
                s["small"],
            )
        )
    story.append(KeepTogether(tax))

    story.append(Paragraph("Disclosures", s["h2"]))
    market = (
        f"Market figures (returns, volatility, trends) come from {escape(doc.market_data)}"
        + (
            ", a synthetic sample history, not real market data"
            if doc.market_data_is_sample
            else ""
        )
        + (f", through {doc.market_as_of:%B %-d, %Y}" if doc.market_as_of else "")
        + "."
    )
    prices = (
        f"Values use the prices in the uploaded file, or reference prices as of "
        f"{doc.reference_prices_as_of:%B %-d, %Y} where the file has none; they are not live "
        "quotes."
        if doc.reference_prices_as_of
        else "Values use the prices in the uploaded file; they are not live quotes."
    )
    for line in (
        market,
        prices,
        f"Model portfolio: {escape(p.model.source or p.model.name or 'the desk model')}.",
        "Quantities, weights, tax estimates and compliance results are computed by the desk's "
        "rules; the written explanations are generated from those figures. This proposal is "
        "not an order: nothing is traded until you and your advisor agree.",
    ):
        story.append(Paragraph(line, s["small"]))
        story.append(Spacer(1, 3))

    buf = io.BytesIO()
    SimpleDocTemplate(
        buf,
        pagesize=LETTER,
        leftMargin=0.8 * inch,
        rightMargin=0.8 * inch,
        topMargin=0.7 * inch,
        bottomMargin=0.7 * inch,
        title=f"Rebalancing proposal for {doc.client}",
        author=doc.advisor or "Rebalance Desk",
    ).build(story, onFirstPage=_footer, onLaterPages=_footer)
    return buf.getvalue()


def _footer(canvas, doc_template) -> None:  # type: ignore[no-untyped-def]
    canvas.saveState()
    canvas.setFont("Helvetica", 7.5)
    canvas.setFillColor(colors.HexColor("#5B6470"))
    canvas.drawString(0.8 * inch, 0.45 * inch, "Rebalancing proposal · for discussion")
    canvas.drawRightString(LETTER[0] - 0.8 * inch, 0.45 * inch, f"Page {doc_template.page}")
    canvas.restoreState()
