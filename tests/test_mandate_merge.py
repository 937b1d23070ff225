from hypothesis import given
from hypothesis import strategies as st

from portfolio.mandate_merge import RISK_ORDER, stricter
from portfolio.models import ClientMandate, ExclusionCategory, RiskProfile

RULES = ClientMandate(
    risk_profile="moderate",
    age=58,
    horizon_years=7,
    income_need=0.03,
    esg_only=True,
    single_name_cap=0.05,
    notes="Client: 58, retiring in 7 years, moderate risk, ESG-only, max 5% single name.",
)


def test_identical_readings_agree_silently() -> None:
    merged, notes = stricter(RULES, RULES.model_copy())
    assert merged == RULES and notes == []


def test_a_hostile_reading_loosens_nothing() -> None:
    hostile = ClientMandate(
        risk_profile="aggressive",
        age=30,
        horizon_years=40,
        income_need=0.0,
        esg_only=False,
        single_name_cap=None,
        cash_floor=0.0,
        notes="anything",
    )
    merged, notes = stricter(RULES, hostile)
    assert merged.model_dump() == RULES.model_dump()
    assert len(notes) == 6
    by_field = {n.split(":", 1)[0]: n for n in notes}
    assert set(by_field) == {
        "risk profile",
        "age",
        "horizon",
        "income need",
        "ESG-only",
        "single-name cap",
    }
    assert by_field["risk profile"] == (
        "risk profile: the notes' rule reading says moderate, the model's reading says "
        "aggressive; kept moderate (the more conservative)."
    )
    assert "says none; kept 5%" in by_field["single-name cap"]
    assert "kept yes" in by_field["ESG-only"]


def test_a_stricter_reading_tightens_every_protective_field() -> None:
    loose = ClientMandate(risk_profile="aggressive", income_need=0.02, notes="n")
    tight = ClientMandate(
        risk_profile="conservative",
        esg_only=True,
        excluded_categories=["tobacco"],
        excluded_symbols=["XOM"],
        single_name_cap=0.04,
        cash_floor=0.1,
        income_need=0.05,
        age=70,
        horizon_years=3,
    )
    merged, notes = stricter(loose, tight)
    assert merged.risk_profile == "conservative"
    assert merged.esg_only is True
    assert merged.excluded_categories == ["tobacco"]
    assert merged.excluded_symbols == ["XOM"]
    assert merged.single_name_cap == 0.04
    assert merged.cash_floor == 0.1
    # Income need has no safer direction: the first (rule-based) reading stands.
    assert merged.income_need == 0.02
    # Age and horizon the rules did not find are taken from the other reading.
    assert (merged.age, merged.horizon_years) == (70, 3)
    assert merged.notes == "n"
    assert any(n.startswith("age:") and "found none" in n for n in notes)


def test_age_and_horizon_from_the_rules_stand_when_both_have_one() -> None:
    merged, notes = stricter(RULES, RULES.model_copy(update={"age": 35, "horizon_years": 30}))
    assert (merged.age, merged.horizon_years) == (58, 7)
    assert len(notes) == 2


def test_exclusions_are_unioned() -> None:
    a = ClientMandate(excluded_categories=["tobacco"], excluded_symbols=["MO"])
    b = ClientMandate(excluded_categories=["weapons", "tobacco"], excluded_symbols=["XOM"])
    merged, notes = stricter(a, b)
    assert merged.excluded_categories == ["tobacco", "weapons"]
    assert merged.excluded_symbols == ["MO", "XOM"]
    assert len(notes) == 2


def test_other_fields_are_the_first_readings() -> None:
    a = ClientMandate(band_abs=0.03, tax_aware=False, fractional=True)
    b = ClientMandate(band_abs=0.10, tax_aware=True, fractional=False)
    merged, notes = stricter(a, b)
    assert (merged.band_abs, merged.tax_aware, merged.fractional) == (0.03, False, True)
    assert len(notes) == 3


def test_names_label_the_notes() -> None:
    _, notes = stricter(
        ClientMandate(), ClientMandate(cash_floor=0.05), names=("the advisor", "the file")
    )
    assert notes == [
        "cash floor: the advisor says 0%, the file says 5%; kept 5% (the higher floor)."
    ]


mandates = st.builds(
    ClientMandate,
    risk_profile=st.sampled_from(list(RiskProfile)),
    esg_only=st.booleans(),
    excluded_categories=st.lists(st.sampled_from(list(ExclusionCategory)), unique=True),
    excluded_symbols=st.lists(st.sampled_from(["MO", "XOM", "LMT", "NVDA"]), unique=True),
    single_name_cap=st.none() | st.floats(0.01, 1.0),
    cash_floor=st.floats(0.0, 1.0),
    income_need=st.floats(0.0, 0.25),
    age=st.none() | st.integers(18, 100),
    horizon_years=st.none() | st.floats(0, 50),
)
PROTECTIVE = (
    "risk_profile",
    "esg_only",
    "excluded_categories",
    "excluded_symbols",
    "single_name_cap",
    "cash_floor",
)


@given(mandates, mandates)
def test_the_result_is_at_least_as_strict_as_either(a: ClientMandate, b: ClientMandate) -> None:
    m, _ = stricter(a, b)
    for x in (a, b):
        assert RISK_ORDER.index(RiskProfile(m.risk_profile)) <= RISK_ORDER.index(
            RiskProfile(x.risk_profile)
        )
        assert m.esg_only >= x.esg_only
        assert m.screened_categories >= x.screened_categories
        assert set(m.excluded_symbols) >= set(x.excluded_symbols)
        assert m.cash_floor >= x.cash_floor
        if x.single_name_cap is not None:
            assert m.single_name_cap is not None and m.single_name_cap <= x.single_name_cap
    assert m.income_need == a.income_need


@given(mandates, mandates)
def test_protective_fields_do_not_depend_on_order(a: ClientMandate, b: ClientMandate) -> None:
    ab, _ = stricter(a, b)
    ba, _ = stricter(b, a)
    assert ab.model_dump(include=set(PROTECTIVE)) == ba.model_dump(include=set(PROTECTIVE))


def _plain(m: ClientMandate) -> dict[str, object]:
    d = m.model_dump(exclude={"notes"})
    d["excluded_categories"] = sorted(map(str, d["excluded_categories"]))
    return d


@given(mandates, mandates)
def test_it_is_idempotent_and_notes_exactly_the_differences(
    a: ClientMandate, b: ClientMandate
) -> None:
    m, notes = stricter(a, b)
    assert stricter(m, b)[0] == m
    assert stricter(m, m) == (m, [])
    differing = {k for k, v in _plain(a).items() if _plain(b)[k] != v}
    assert len(notes) == len(differing)
