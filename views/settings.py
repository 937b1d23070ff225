"""Settings: where the crew's words come from, what they may cost, and the desk's default bands."""

from __future__ import annotations

import streamlit as st
from pydantic import SecretStr, ValidationError

from agents.settings import DEFAULT_TEMPERATURE, PROVIDERS, AgentModelSettings, Price
from portfolio.access import ROLES, InvalidName, Person, may
from portfolio.ledger import LedgerError
from portfolio.models import ClientMandate
from ui import identity, llm, services, state

st.title("Settings")
current = llm.settings()

saved = st.session_state.pop("llm_saved", None)
if saved:
    # The key was kept in the settings; it does not stay on screen in the field it was typed in.
    st.session_state["llm_api_key"] = ""

st.subheader("Language model")
st.caption(
    "The offline analyst is built in and needs no key: it writes each agent's narrative "
    "from the computed facts. Numbers always come from the deterministic engine."
)
with st.form("llm_form"):
    provider = st.selectbox(
        "Provider",
        PROVIDERS,
        index=PROVIDERS.index(current.provider),
        format_func=lambda p: {
            "offline": "Offline analyst (built in)",
            "openai": "OpenAI",
            "azure": "Azure OpenAI",
            "openai-compatible": "OpenAI-compatible server (Ollama, vLLM, LM Studio)",
        }[p],
    )
    c1, c2 = st.columns(2)
    model = c1.text_input("Model / deployment", value=current.model)
    base_url = c2.text_input(
        "Base URL (OpenAI-compatible)",
        value=current.base_url or "",
        placeholder="http://localhost:11434/v1",
    )
    c1, c2, c3 = st.columns(3)
    endpoint = c1.text_input("Azure endpoint", value=current.azure_endpoint or "")
    deployment = c2.text_input("Azure deployment", value=current.azure_deployment or "")
    version = c3.text_input("Azure API version", value=current.api_version)
    key = st.text_input(
        "API key (kept in this browser session only)",
        type="password",
        placeholder="configured in the environment" if llm.env_has_key() else "",
        key="llm_api_key",
        help="Never written to the database: a reload or another browser asks for it again.",
    )
    overrides: dict[str, AgentModelSettings] = {}
    with st.expander(
        "Model and temperature per agent (analysis agents default to 0; used "
        "with an online provider)"
    ):
        for agent, default_t in DEFAULT_TEMPERATURE.items():
            c1, c2 = st.columns([2, 1])
            o = current.agents.get(agent) or AgentModelSettings()
            m = c1.text_input(
                f"{agent.replace('_', ' ').capitalize()} model",
                value=o.model or "",
                placeholder=f"default ({model})",
                key=f"model_{agent}",
            )
            t = c2.number_input(
                "Temperature",
                0.0,
                2.0,
                value=o.temperature if o.temperature is not None else default_t,
                step=0.1,
                key=f"temp_{agent}",
            )
            overrides[agent] = AgentModelSettings(model=m or None, temperature=t)
    st.markdown("**Cost**")
    c1, c2, c3 = st.columns(3)
    price_in = c1.number_input(
        f"Input $ per 1M tokens ({model})",
        0.0,
        1000.0,
        value=(current.price_for(model) or Price(input=0, output=0)).input,
    )
    price_out = c2.number_input(
        f"Output $ per 1M tokens ({model})",
        0.0,
        1000.0,
        value=(current.price_for(model) or Price(input=0, output=0)).output,
    )
    budget = c3.number_input(
        "Budget per run, $ (0 = none)", 0.0, 1000.0, value=current.budget_usd or 0.0, step=0.05
    )
    pace = st.slider(
        "Offline analyst pace (seconds each agent's answer streams for)",
        0.0,
        5.0,
        value=float(current.offline_pace),
        step=0.1,
    )
    if st.form_submit_button("Save", type="primary"):
        try:
            prices = dict(current.prices)
            prices[model] = Price(input=price_in, output=price_out)
            update = dict(
                provider=provider,
                model=model,
                base_url=base_url or None,
                azure_endpoint=endpoint or None,
                azure_deployment=deployment or None,
                api_version=version,
                agents=overrides,
                prices=prices,
                budget_usd=budget or None,
                offline_pace=pace,
            )
            if key:
                update["api_key"] = SecretStr(key)
            new = current.model_copy(update=update)
            kept = llm.save(new)
            st.session_state["llm_saved"] = f"Saved: {new.describe()}. " + (
                f"Kept for **{identity.advisor()}**: a reload keeps these settings; the API "
                "key stays in this browser session only."
                if kept
                else "For this session only: type your name in the sidebar to keep them."
            )
            st.rerun()  # drawn again with the key field empty
        except ValidationError as exc:
            st.error(f"Not saved: {exc.errors()[0]['msg']}")
    if saved:
        st.success(saved)
in_use = llm.settings()
st.caption(
    f"In use: **{in_use.describe()}**. Provider, models, URLs, prices, budget and pace are kept "
    "for you in the ledger; the API key is kept in this browser session only, never in the "
    "database. Keys are never displayed or logged."
)
if llm.missing_key(in_use):
    st.warning(
        "No API key in this session: enter it above (after a reload it must be entered again). "
        "Until then the crew's words come from the offline analyst."
    )

st.subheader("Desk defaults for new mandates")
d = state.get(state.DEFAULTS) or ClientMandate()
with st.form("defaults_form"):
    c = st.columns(5)
    band_abs = c[0].number_input("Band, absolute (points)", 0.5, 50.0, value=d.band_abs * 100)
    band_rel = c[1].number_input("Band, relative (%)", 1.0, 200.0, value=d.band_rel * 100)
    cap = c[2].number_input(
        "Single-name cap (%)", 0.0, 100.0, value=float(d.single_name_cap or 0) * 100
    )
    floor = c[3].number_input("Cash floor (%)", 0.0, 100.0, value=d.cash_floor * 100)
    min_trade = c[4].number_input("Minimum trade ($)", 0.0, 1e6, value=d.min_trade_value)
    if st.form_submit_button("Save defaults"):
        state.put(
            state.DEFAULTS,
            d.model_copy(
                update=dict(
                    band_abs=band_abs / 100,
                    band_rel=band_rel / 100,
                    single_name_cap=(cap / 100) or None,
                    cash_floor=floor / 100,
                    min_trade_value=min_trade,
                )
            ),
        )
        st.success("Defaults saved for mandates set up in this session.")


# ---- The firm's people: admins only, with sign-in and a `[firm]` table in the secrets ----------
admin = identity.current()
firm = identity.firm()
if admin is not None and not firm.local and may(admin, "manage_firm", None, firm):
    st.subheader("The firm's people")
    st.caption(
        "Everyone who may sign in, with their role and team. People named in the secrets "
        "file's `[firm]` table are set there; the others are kept in the ledger from here."
    )
    people = services.ledger().people
    # Read fresh, not through the 30-second cache: an admin must see tampering as soon as it is.
    checked = people.check()
    if not checked.ok:
        st.error(
            "The firm's people in the ledger differ from their chained record (changed "
            "behind the desk, outside this page):\n\n"
            + "\n".join(f"- {reason}" for reason in checked.sentences())
        )
    st.dataframe(
        [
            {
                "Email": p.id,
                "Name": p.name,
                "Role": p.role,
                "Team": p.team,
                "Set in": "secrets" if p.id in firm.secret_ids else "this page",
            }
            for p in sorted(firm.people.values(), key=lambda p: p.id)
        ],
        hide_index=True,
        key="firm_people",
    )
    with st.form("person_form", clear_on_submit=True):
        c = st.columns(4)
        email = c[0].text_input("Email (as the identity provider sends it)")
        name = c[1].text_input("Name")
        role = c[2].selectbox("Role", ROLES)
        team = c[3].text_input("Team")
        if st.form_submit_button("Add or change"):
            try:
                people.put(Person(id=email, name=name, role=role, team=team), admin, firm)
                identity.forget_people()
                st.session_state["people_saved"] = f"Saved {email.strip().lower()} as {role}."
                st.rerun()
            except (InvalidName, ValidationError, LedgerError) as exc:
                st.error(f"Not saved: {exc}")
    tampered = {p["person"] for p in checked.problems if p.get("person")}
    added = sorted({i for i in firm.people if i not in firm.secret_ids} | tampered)
    r1, r2 = st.columns([3, 1], vertical_alignment="bottom")
    gone = r1.selectbox("Remove a person added here", added, index=None, key="person_remove")
    if r2.button("Remove", key="remove_person", disabled=gone is None):
        try:
            people.remove(str(gone), admin, firm)
            identity.forget_people()
            st.session_state["people_saved"] = f"Removed {gone}."
            st.rerun()
        except LedgerError as exc:
            st.error(str(exc))
    if done := st.session_state.pop("people_saved", None):
        st.success(done)
