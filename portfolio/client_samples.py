"""The sample clients an advisor may load: every bundled holdings file except the two that exist to
show the importer's defences (data/README.md describes both), which are not clients."""

from __future__ import annotations

from pathlib import Path

from portfolio.samples import sample_files

IMPORTER_CHECKS = frozenset({"hostile_descriptions.csv", "malformed_rows.csv"})


def client_samples() -> list[Path]:
    return [p for p in sample_files() if p.name not in IMPORTER_CHECKS]
