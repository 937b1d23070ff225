"""The agent crew: a risk profiler, a market analyst, a risk assessor, an allocation strategist,
a tax agent and a compliance checker under a LangGraph orchestrator. Agents only orchestrate and
explain; every number comes from the deterministic `portfolio` package.
"""

AGENTS: tuple[str, ...] = (
    "risk_profiler",
    "market_analyst",
    "risk_assessor",
    "strategist",
    "tax_agent",
    "compliance_checker",
)
