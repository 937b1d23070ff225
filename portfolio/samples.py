"""The bundled sample clients in data/samples, and the notes that go with them."""

from __future__ import annotations

from pathlib import Path

from portfolio.securities import DATA_DIR

SAMPLES_DIR = DATA_DIR / "samples"


def sample_files() -> list[Path]:
    """Holdings files, seed clients first."""
    files = [p for p in SAMPLES_DIR.glob("*.csv") if p.is_file()]
    return sorted(files, key=lambda p: (not p.name.startswith("seed"), p.name.lower()))


def notes_for(path: Path) -> str:
    """The client notes beside a sample (seed001_esg_moderate.csv -> seed001_notes.txt)."""
    stem = path.stem.split("_")[0]
    notes = SAMPLES_DIR / f"{stem}_notes.txt"
    return notes.read_text(encoding="utf-8").strip() if notes.is_file() else ""
