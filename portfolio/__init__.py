"""Rebalance Desk's deterministic core: import, reference data, engine, compliance, ledger.

No Streamlit and no language model here: every figure an advisor sees is computed in this package.
"""
