"""Client & holdings: pick a client or start a new one, add its accounts, read the import report,
set the mandate and model. Everything here is kept in the client's record in the ledger."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import streamlit as st

from portfolio.access import InvalidName
from portfolio.client_samples import client_samples
from portfolio.import_service import ImportedBook, import_book, report, unread_summary
from portfolio.labels import class_label, money
from portfolio.ledger.clients import TAX_TYPE_LABELS, TAX_TYPES
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
from ui import address, cash_requests, clients, identity, services, state, widgets

st.title("Client & holdings")
records = clients.records()
FLASH = "client_flash"  # messages that outlive the rerun after a client changes


def flash(kind: str, text: str) -> None:
    st.session_state.setdefault(FLASH, []).append((kind, text))


def read_files(files: list[tuple[str, bytes]]) -> list[tuple[str, bytes, ImportedBook]]:
    """Every file that gives a usable book; a file that cannot be used is reported and changes
    nothing. The same bytes twice are read once."""
    usable: list[tuple[str, bytes, ImportedBook]] = []
    seen: dict[str, str] = {}
    options = state.get(state.IMPORT_OPTIONS) or {}
    for name, data in files:
        digest = hashlib.sha256(data).hexdigest()
        if digest in seen:
            flash("warning", f"**{name}** is the same file as **{seen[digest]}**; counted once.")
            continue
        seen[digest] = name
        try:
            usable.append((name, data, import_book(data, name, services.securities(), **options)))
        except UnreadableFileError as exc:
            message = str(exc)
            if "--total" in message:
                message += " Here: enter it under **Import options → Book total**."
            elif "--decimal" in message:
                message += " Here: choose it under **Import options → Decimal mark**."
            flash("error", f"**{name}**: {message}")
    return usable


def add_files(client_id: int, usable: list[tuple[str, bytes, ImportedBook]]) -> None:
    """Each file becomes an upload of this client: new accounts are added, an account the
    client already has takes the newer file's holdings."""
    for name, data, result in usable:
        done = records.add_upload(client_id, result.holdings, data, name)
        if done.added:
            flash("success", f"**{name}**: added {', '.join(done.added)}.")
        if done.replaced:
            flash(
                "info",
                f"**{name}**: {', '.join(done.replaced)} now holds what this newer file says.",
            )


def new_client(files: list[tuple[str, bytes]], name: str, notes: str = "") -> None:
    """A new client from files: created only when at least one file can be used."""
    usable = read_files(files)
    if not usable:
        return
    profiles = [r.risk_profile for _, _, r in usable if r.risk_profile is not None]
    mandate = None
    if profiles:  # a JSON request states the client's risk profile: the mandate starts there
        mandate = state.mandate().model_copy(update={"risk_profile": profiles[0]})
        flash("info", f"Risk profile from the request: **{str(profiles[0]).replace('_', ' ')}**.")
    try:
        rec = records.create(
            name or Path(usable[0][0]).stem,
            owner=identity.advisor(),
            notes=notes,
            mandate=mandate,
        )
    except InvalidName as exc:
        flash("error", f"The client's name cannot be used: {exc}.")
        return
    add_files(rec.id, usable)
    clients.open_client(rec.id)
    st.session_state.pop("new_client_name", None)


def show_flash() -> None:
    for kind, text in st.session_state.pop(FLASH, []):
        getattr(st, kind)(text)


def upload_box(key: str, label: str) -> list[tuple[str, bytes]] | None:
    """The files in an uploader when they changed since last read, else None."""
    files = st.file_uploader(
        label,
        type=["csv", "txt", "json"],
        accept_multiple_files=True,
        key=key,
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
    options = {"decimal": None if decimal == "from the file" else decimal, "total": book_total}
    state.put(state.IMPORT_OPTIONS, options)
    signature = ([(f.name, f.size) for f in files or []], options)
    seen = st.session_state.setdefault("upload_signatures", {})
    previous, seen[key] = seen.get(key), signature
    if not files or previous == signature:
        return None
    return [(f.name, f.getvalue()) for f in files]


# ---- Which client ----------------------------------------------------------------------------
# Only the clients this identity may see: its own, its team's, or all for firm-wide roles.
every = records.clients()
shown = identity.visible_ids([(c.id, c.owner) for c in every])
listing = [c for c in every if c.id in shown]
rec = clients.record()
read_only = not clients.editable()
ids = [c.id for c in listing]
names = {c.id: c for c in listing}
pick_key = f"client_pick_{rec.id if rec else 'none'}"


def pick() -> None:
    chosen = st.session_state.get(pick_key)
    if chosen is not None:
        clients.open_client(int(chosen))


c1, c2 = st.columns([4, 1], vertical_alignment="bottom")
c1.selectbox(
    "Client",
    ids,
    index=ids.index(rec.id) if rec and rec.id in ids else None,
    key=pick_key,
    placeholder="Choose a client" if ids else "No clients yet: start a new one below",
    format_func=lambda i: (
        f"{names[i].name} · {names[i].accounts} account(s) · {names[i].runs} run(s)"
        + (f" · {names[i].owner}" if names[i].owner else "")
    ),
    on_change=pick,
)
c2.button(
    "New client",
    key="new_client",
    on_click=clients.close,
    disabled=rec is None,
    width="stretch",
    help="Start a new client; the one on screen stays in the list",
)
show_flash()

if rec is None and read_only:
    st.info("Choose a client above. Your role reads the record; it does not add clients.")
    st.stop()
if rec is None:
    st.subheader("New client")
    st.info(
        "Upload a holdings file or load a sample to begin a new client, or choose a client above."
    )
    name = st.text_input(
        "Client name",
        key="new_client_name",
        placeholder="e.g. Ann and Bob Lee (else the first file's name)",
    )
    left, right = st.columns([3, 2])
    with left:
        files = upload_box(
            "holdings_upload",
            "Holdings of the new client: custodian CSV (Schwab, Fidelity, Vanguard, Interactive "
            "Brokers, E*TRADE or a plain sheet), or a JSON rebalancing request",
        )
        if files:
            new_client(files, name)
            if clients.current() is not None:
                st.rerun()
            show_flash()
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
            new_client([(path.name, path.read_bytes())], name, notes=notes_for(path))
            if clients.current() is not None:
                st.rerun()
            show_flash()
        if st.button("Create client without holdings", key="create_client", disabled=not name):
            try:
                made = records.create(name, owner=identity.advisor())
            except InvalidName as exc:
                st.error(f"The client's name cannot be used: {exc}.")
            else:
                clients.open_client(made.id)
                st.rerun()
    st.stop()

# ---- The client's record: accounts, files, runs ---------------------------------------------
st.subheader(rec.name)
st.caption(
    f"Client since {rec.created_at[:10] if rec.created_at else '—'}"
    + (f" · owner **{rec.owner}**" if rec.owner else "")
)
if read_only:
    st.info("Read-only: your role may see this client's record but not change it.")
if rec.accounts:
    st.markdown("**Household accounts**")
    for i, acct in enumerate(rec.accounts):
        a1, a2, a3 = st.columns([3, 3, 1], vertical_alignment="center")
        a1.markdown(f"**{acct.account}**")
        a1.caption(f"from {acct.filename}" if acct.filename else "")
        a2.selectbox(
            f"Tax type of {acct.account}",
            TAX_TYPES,
            index=TAX_TYPES.index(acct.tax_type),
            format_func=TAX_TYPE_LABELS.__getitem__,
            key=f"tax_{rec.id}_{i}",
            label_visibility="collapsed",
            disabled=read_only,
            on_change=lambda a=acct.account, k=f"tax_{rec.id}_{i}": records.set_tax_type(
                rec.id, a, st.session_state[k]
            ),
        )
        if a3.button(
            "Remove",
            key=f"remove_account_{i}",
            help=f"Take {acct.account} out of the book",
            disabled=read_only,
        ):
            records.remove_account(rec.id, acct.account)
            clients.load_book(rec.id)
            flash(
                "info",
                f"{acct.account} is no longer in {rec.name}'s book; its files stay on record.",
            )
            st.rerun()

with st.expander("Add an account to this client", expanded=not rec.accounts and not read_only):
    n = st.session_state.setdefault("account_upload_n", 0)
    files = (
        None
        if read_only
        else upload_box(
            f"account_upload_{n}",
            f"Another custodian export for {rec.name}: its accounts are added (an account already "
            "here takes the newer file's holdings)",
        )
    )
    if files:
        usable = read_files(files)
        if usable:
            add_files(rec.id, usable)
            clients.load_book(rec.id)
            st.session_state["account_upload_n"] = n + 1  # an empty box for the next file
            st.rerun()
        show_flash()

uploads = records.uploads(rec.id)
past = records.runs(rec.id)
f1, f2 = st.columns(2)
with f1.expander(f"Files ({len(uploads)})"):
    for u in uploads:
        st.markdown(
            f"**{u.filename}** · {u.format} · {', '.join(u.accounts)} · "
            f"${u.total_value:,.0f} · {(u.created_at or '')[:16].replace('T', ' ')}"
        )
    if not uploads:
        st.caption("No file yet.")
with f2.expander(f"Runs ({len(past)})"):
    for r in past[:20]:
        st.page_link(
            "views/ticket.py",
            label=f"{(r['created_at'] or '')[:16].replace('T', ' ')} · "
            f"{str(r['status']).replace('_', ' ').lower()} · {r['trades']} trade(s) · "
            f"{r['run_id']}",
            query_params=address.params(r["run_id"]),
        )
    if not past:
        st.caption("No run yet.")

holdings = state.holdings()
if holdings is None:
    st.info(f"Add an account to {rec.name} to begin: upload its custodian export above.")
    st.stop()


def cash_request_section() -> None:
    """Withdrawals and deposits per account; every run plans for the ones listed here."""
    st.subheader("Cash requests")
    problem = cash_requests.problem(holdings)
    if problem:
        st.error(f"{problem}. Remove or change the request: runs cannot plan for it as it is.")
    listed = cash_requests.saved()
    for item in listed:
        r1, r2 = st.columns([6, 1], vertical_alignment="center")
        r1.markdown(cash_requests.describe(item.request))
        if not read_only and r2.button(
            "Remove", key=f"remove_cash_request_{item.id}", help="Take this request off the plan"
        ):
            cash_requests.remove(item.id)
            st.rerun()
    if not listed:
        st.caption(
            "None. A withdrawal leaves that much cash in the account after the trades (sold "
            "there, cheapest tax first); a deposit is new cash the plan invests."
        )
    if read_only:
        return
    with st.form("cash_request_form", clear_on_submit=True):
        k1, k2, k3 = st.columns([3, 2, 2])
        account = k1.selectbox("Account", holdings.accounts, key="cash_request_account")
        kind = k2.radio(
            "Request",
            list(cash_requests.KINDS),
            format_func=cash_requests.KINDS.__getitem__,
            key="cash_request_kind",
        )
        amount = k3.text_input("Amount ($)", key="cash_request_amount", placeholder="e.g. 20,000")
        note = st.text_input(
            "Note", key="cash_request_note", placeholder="e.g. distribution for the new roof"
        )
        if st.form_submit_button("Add request"):
            error = cash_requests.add(str(account or ""), str(kind), amount, note)
            if error:
                st.error(error)
            else:
                flash("success", "Cash request added; the next run plans for it.")
                st.rerun()


summary = clients.summary(holdings)
if read_only:
    st.subheader("Positions")
    widgets.positions_table(holdings, summary)
    cash_request_section()
    st.stop()

# ---- Import report and positions --------------------------------------------------------------
st.subheader("Import report")
widgets.import_report(holdings, summary, report(holdings))
unread: list[dict] = state.get(state.UNREAD) or []
if unread:
    rows = [UnreadRow.model_validate(r) for r in unread]
    stated = sum(r.value for r in rows if r.value is not None)
    st.warning(
        f"**Partial book.** {unread_summary(rows)}; the crew would rebalance without them "
        f"(stated value {money(stated)}); they are listed in the report above. Fix the file "
        "and upload it again, or proceed without these rows."
    )
    agreed = state.get(state.PARTIAL_ACK)
    ack = st.checkbox(
        "Proceed without these rows",
        value=bool(agreed),
        key="partial_ack_box",
        help="Kept with this client's book (a reload keeps it; another file needs it again) and "
        "recorded with the run: who went on, and which rows were left out.",
    )
    if ack and not agreed:
        by = identity.advisor() or "unauthenticated"
        state.put(state.PARTIAL_ACK, clients.partial_ack(by, unread, datetime.now(UTC).isoformat()))
        clients.keep_partial_ack(by)
    elif agreed and not ack:
        state.put(state.PARTIAL_ACK, None)
        clients.keep_partial_ack(None)
    if ack:
        st.caption(f"Agreed by **{state.get(state.PARTIAL_ACK)['acknowledged_by']}**.")
st.subheader("Positions")
widgets.positions_table(holdings, summary)
cash_request_section()

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
    clients.save(notes=notes, mandate=parsed.mandate)
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
    c1, c2, c3 = st.columns([1, 1, 2])
    fractional = c1.checkbox("Fractional shares", value=m.fractional)
    tax_aware = c2.checkbox("Tax-aware lot selection", value=m.tax_aware)
    offset_gains = c3.checkbox(
        "Offset gains with harvested losses",
        value=m.offset_gains,
        help="Sell taxable lots standing at a loss, up to the gains the rebalance realises, and "
        "buy each class back through a fund that is not substantially identical "
        "(wash-sale rule). Needs tax-aware lot selection.",
    )
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
                    offset_gains=offset_gains,
                    notes=notes,
                ),
            )
            override = state.model_override()
            if override is not None and str(override.profile) != risk:
                state.put(state.MODEL, None)
            state.put(state.NOTES, notes)
            clients.save(
                notes=notes, mandate=state.get(state.MANDATE), model=state.model_override()
            )
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
        clients.save(model=state.model_override())
        st.success("Override applied for this client.")
if state.model_override() is not None and c2.button(
    "Back to the published model", key="reset_model"
):
    state.put(state.MODEL, None)
    clients.save(model=None)
    st.rerun()
