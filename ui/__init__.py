"""Streamlit edges of Rebalance Desk: state, cached resources, identity, charts and widgets.

Pages in views/ only lay out and call into this package and the domain core.
"""
