"""Client & holdings: upload or pick a file, read the import report, set the mandate and model."""

from __future__ import annotations

import hashlib

import pandas as pd
import streamlit as st

from portfolio.client_samples import client_samples
from portfolio.holdings_merge import merge_holdings
from portfolio.import_service import ImportedBook, import_book, report, unread_summary
from portfolio.labels import class_label, money
from portfolio.models import (
    ClientMandate,
    ExclusionCategory,
    ModelPortfolio,
    ModelSleeve,
    RiskProfile,
    UnreadableFileError,
    UnreadRow,
)
from portfolio.notes_parser import parse_notes
from portfolio.numbers import NumberError, parse_number
from portfolio.samples import SAMPLES_DIR, notes_for
from ui import identity, services, state, widgets

st.title("Client & holdings")


def load(files: list[tuple[str, bytes]], new_client: bool = True) -> None:
    """Read every file; a file that cannot be used is reported and the others still load.

    A new client starts with a clean mandate; adding a file to the same client keeps it. When no
    file gives a usable book, nothing of the previous client stays on screen to be rebalanced.
    """
    books, snapshots = [], []
    imported: list[ImportedBook] = []
    ledger = services.ledger()
    seen: dict[str, str] = {}
    options = state.get(state.IMPORT_OPTIONS) or {}
    for name, data in files:
        digest = hashlib.sha256(data).hexdigest()
        if digest in seen:
            st.warning(f"**{name}** is the same file as **{seen[digest]}**; counted once.")
            continue
        seen[digest] = name
        try:
            result = import_book(data, name, services.securities(), **options)
        except UnreadableFileError as exc:
            message = str(exc)
            if "--total" in message:
                message += " Here: enter it under **Import options → Book total**."
            elif "--decimal" in message:
                message += " Here: choose it under **Import options → Decimal mark**."
            st.error(f"**{name}**: {message}")
            continue
        imported.append(result)
        books.append(result.holdings)
        snapshots.append(ledger.save_snapshot(result.holdings, data, name))
    if not books and new_client:
        for key in (state.HOLDINGS, state.SNAPSHOT, state.UNREAD, state.PARTIAL_ACK):
            st.session_state.pop(key, None)
        state.set_run_id(None)
    if books:
        state.put(
            state.UNREAD,
            [
                {"file": r.holdings.source, **row.model_dump(mode="json")}
                for r in imported
                for row in r.unread
            ],
        )
        state.put(state.PARTIAL_ACK, None)
        st.session_state.pop("partial_ack_box", None)  # a new book needs its own agreement
        merged = merge_holdings(books)
        if len(books) > 1:  # the run starts from the whole book; each file is kept as uploaded
            snapshots.append(ledger.save_snapshot(merged, None, merged.source))
        state.put(state.HOLDINGS, merged)
        state.put(state.SOURCES, files)
        state.put(state.SNAPSHOT, snapshots[-1])
        state.set_run_id(None)
        if new_client:  # nothing of the previous client's mandate carries over
            for key in (state.NOTES, state.MANDATE, state.EVIDENCE, state.MODEL):
                st.session_state.pop(key, None)
            st.session_state["notes_box"] = ""
        profiles = [r.risk_profile for r in imported if r.risk_profile is not None]
        if profiles:  # a JSON request states the client's risk profile: the mandate starts there
            state.put(
                state.MANDATE, state.mandate().model_copy(update={"risk_profile": profiles[0]})
            )
            st.info(f"Risk profile from the request: **{str(profiles[0]).replace('_', ' ')}**.")


# ---- Upload or sample ----------------------------------------------------------------------
left, right = st.columns([3, 2])
with left:
    uploads = st.file_uploader(
        "Custodian holdings CSV (Schwab, Fidelity, Vanguard, Interactive Brokers, E*TRADE or a "
        "plain sheet), or a JSON rebalancing request",
        type=["csv", "txt", "json"],
        accept_multiple_files=True,
        key="holdings_upload",
        help="Drag and drop one or more position exports. Files stay on this server.",
    )
    with st.expander("Import options"):
        o1, o2 = st.columns(2)
        decimal = o1.radio(
            "Decimal mark",
            ["from the file", "comma", "point"],
            key="import_decimal",
            horizontal=True,
            help="Only needed when the file's numbers do not show it (1.000 alone).",
        )
        total_text = o2.text_input(
            "Book total ($)",
            key="import_total",
            placeholder="from the file",
            help="Values a sheet of allocations (weights), e.g. 250,000.",
        )
        book_total = None
        try:
            book_total = parse_number(total_text) if total_text.strip() else None
        except NumberError:
            st.error(f"Book total '{total_text}' is not an amount.")
        if book_total is not None and book_total <= 0:
            st.error("The book total must be more than zero.")
            book_total = None
        state.put(
            state.IMPORT_OPTIONS,
            {"decimal": None if decimal == "from the file" else decimal, "total": book_total},
        )
    if uploads:
        signature = [(f.name, f.size) for f in uploads]
        previous = state.get("upload_signature") or []
        options = state.get(state.IMPORT_OPTIONS)
        if signature != previous:
            state.put("upload_signature", signature)
            state.put("upload_options", options)
            # Dropping one more file of the same client keeps the mandate already set.
            added_to_same = bool(previous) and set(previous) <= set(signature)
            load([(f.name, f.getvalue()) for f in uploads], new_client=not added_to_same)
        elif options != state.get("upload_options"):  # same files read again, same client
            state.put("upload_options", options)
            load([(f.name, f.getvalue()) for f in uploads], new_client=False)
with right:
    samples = client_samples()
    choice = st.selectbox(
        "…or a bundled sample client",
        [p.name for p in samples],
        index=None,
        placeholder="Choose a sample",
        key="sample_choice",
    )
    if st.button("Load sample", disabled=choice is None, key="load_sample"):
        path = SAMPLES_DIR / str(choice)
        load([(path.name, path.read_bytes())])
        notes = notes_for(path)
        if notes:
            state.put(state.NOTES, notes)
            st.session_state["notes_box"] = notes

holdings = state.holdings()
if holdings is None:
    st.info("Upload a holdings file or load a sample to begin.")
    st.stop()

# ---- Import report and positions --------------------------------------------------------------
st.subheader("Import report")
widgets.import_report(holdings, report(holdings))
unread: list[dict] = state.get(state.UNREAD) or []
if unread:
    rows = [UnreadRow.model_validate(r) for r in unread]
    stated = sum(r.value for r in rows if r.value is not None)
    st.warning(
        f"**Partial book.** {unread_summary(rows)}; the crew would rebalance without them "
        f"(stated value {money(stated)}); they are listed in the report above. Fix the file "
        "and upload it again, or proceed without these rows."
    )
    ack = st.checkbox(
        "Proceed without these rows",
        value=bool(state.get(state.PARTIAL_ACK)),
        key="partial_ack_box",
        help="Recorded with the run: who went on, and which rows were left out.",
    )
    state.put(
        state.PARTIAL_ACK,
        {
            "acknowledged_by": identity.advisor() or "unauthenticated",
            "rows_left_out": unread,
            "stated_value_left_out": stated,
        }
        if ack
        else None,
    )
st.subheader("Positions")
widgets.positions_table(holdings)

# ---- Notes -> mandate --------------------------------------------------------------------------
st.subheader("Client notes and mandate")
if "notes_box" not in st.session_state:
    st.session_state["notes_box"] = state.get(state.NOTES, "") or ""
notes = st.text_area(
    "Client notes",
    key="notes_box",
    height=90,
    placeholder="e.g. 58, retiring in 7 years, moderate risk, needs 3% income, ESG-only, "
    "max 5% single name",
)
if st.button("Read notes into the mandate", key="parse_notes"):
    parsed = parse_notes(notes, known_symbols=services.securities().frame.index)
    state.put(state.NOTES, notes)
    state.put(state.MANDATE, parsed.mandate)
    state.put(state.EVIDENCE, parsed.evidence)
    for w in parsed.warnings:
        st.warning(w)

evidence: dict[str, str] = state.get(state.EVIDENCE, {}) or {}
if evidence:
    st.caption(
        "Read from the notes: "
        + "; ".join(f"**{k.replace('_', ' ')}** ← “{v}”" for k, v in evidence.items())
    )

m = state.mandate()
profiles = [p.value for p in RiskProfile]
with st.form("mandate_form"):
    c1, c2, c3, c4 = st.columns(4)
    risk = c1.selectbox(
        "Risk profile",
        profiles,
        index=profiles.index(str(m.risk_profile)),
        format_func=lambda s: s.replace("_", " ").capitalize(),
    )
    age = c2.number_input("Age", 0, 120, value=m.age or 0, help="0 = not stated")
    horizon = c3.number_input("Horizon (years)", 0.0, 100.0, value=float(m.horizon_years or 0))
    income = c4.number_input(
        "Income need (% a year)", 0.0, 25.0, value=m.income_need * 100, step=0.25
    )
    c1, c2, c3, c4 = st.columns(4)
    esg = c1.checkbox("ESG-only", value=m.esg_only)
    cats = c2.multiselect(
        "Excluded categories",
        [c.value for c in ExclusionCategory],
        default=[str(c) for c in m.excluded_categories],
        format_func=lambda s: s.replace("_", " "),
    )
    syms = c3.text_input("Excluded symbols", value=", ".join(m.excluded_symbols))
    cap = c4.number_input(
        "Single-name cap (%)",
        0.0,
        100.0,
        value=float(m.single_name_cap or 0) * 100,
        step=0.5,
        help="Single stocks only; diversified funds are exempt. 0 = none",
    )
    c1, c2, c3, c4 = st.columns(4)
    floor = c1.number_input("Cash floor (%)", 0.0, 100.0, value=m.cash_floor * 100, step=0.5)
    band_abs = c2.number_input(
        "Band, absolute (points)", 0.5, 50.0, value=m.band_abs * 100, step=0.5
    )
    band_rel = c3.number_input(
        "Band, relative (% of target)",
        1.0,
        200.0,
        value=m.band_rel * 100,
        step=5.0,
        help="A class is out of band when its drift exceeds the smaller "
        "of the two bands (the 5/25 rule).",
    )
    min_trade = c4.number_input("Minimum trade ($)", 0.0, 1e6, value=m.min_trade_value, step=50.0)
    c1, c2, _ = st.columns([1, 1, 2])
    fractional = c1.checkbox("Fractional shares", value=m.fractional)
    tax_aware = c2.checkbox("Tax-aware lot selection", value=m.tax_aware)
    if st.form_submit_button("Save mandate", type="primary"):
        try:
            state.put(
                state.MANDATE,
                ClientMandate(
                    risk_profile=RiskProfile(risk),
                    age=age or None,
                    horizon_years=horizon or None,
                    income_need=income / 100,
                    esg_only=esg,
                    excluded_categories=[ExclusionCategory(c) for c in cats],
                    excluded_symbols=[s for s in syms.replace(";", ",").split(",") if s.strip()],
                    single_name_cap=(cap / 100) or None,
                    cash_floor=floor / 100,
                    band_abs=band_abs / 100,
                    band_rel=band_rel / 100,
                    min_trade_value=min_trade,
                    fractional=fractional,
                    tax_aware=tax_aware,
                    notes=notes,
                ),
            )
            override = state.model_override()
            if override is not None and str(override.profile) != risk:
                state.put(state.MODEL, None)
            st.success("Mandate saved.")
        except ValueError as exc:
            st.error(f"The mandate is not valid: {exc}")

# ---- Model portfolio and overrides --------------------------------------------------------
m = state.mandate()
st.subheader("Model portfolio")
base = state.model_override() or services.models()[str(m.risk_profile)]
st.caption(
    f"{base.name or base.profile}: {base.source}. Edit weights to override for this "
    "client; they must add up to 100%."
)
frame = pd.DataFrame(
    [
        {
            "Asset class": class_label(s.asset_class),
            "Weight %": round(s.weight * 100, 3),
            "Vehicle": s.vehicle,
            "ESG vehicle": s.esg_vehicle,
        }
        for s in base.sleeves
    ]
)
edited = st.data_editor(
    frame, hide_index=True, key="model_editor", width="stretch", disabled=["Asset class"]
)
c1, c2 = st.columns([1, 4])
if c1.button("Apply override", key="apply_model"):
    total = float(edited["Weight %"].sum())
    rows = edited.to_dict("records")
    symbols = {str(r[c]).strip().upper() for r in rows for c in ("Vehicle", "ESG vehicle")}
    unknown = sorted(s for s in symbols if s not in services.securities())
    if abs(total - 100) > 0.01:
        st.error(f"Weights add up to {total:.2f}%, not 100%.")
    elif unknown:
        st.error(f"Not in the reference data, so they cannot be bought: {', '.join(unknown)}.")
    else:
        state.put(
            state.MODEL,
            ModelPortfolio(
                profile=base.profile,
                name=f"{base.profile} (advisor override)",
                source="advisor override of " + base.source,
                sleeves=[
                    ModelSleeve(
                        asset_class=sleeve.asset_class,  # rows keep the model's order
                        weight=r["Weight %"] / 100,
                        vehicle=str(r["Vehicle"]).strip().upper(),
                        esg_vehicle=str(r["ESG vehicle"]).strip().upper(),
                    )
                    for sleeve, r in zip(base.sleeves, rows, strict=True)
                ],
            ),
        )
        st.success("Override applied for this client.")
if state.model_override() is not None and c2.button(
    "Back to the published model", key="reset_model"
):
    state.put(state.MODEL, None)
    st.rerun()
