"""The firm key that seals the ledger's chains (HMAC-SHA256).

Without the key, whoever can write to the database can still rewrite a row and recompute every
plain hash, but cannot produce the MACs `verify` checks. The key comes from, in order:
`REBALANCE_LEDGER_KEY`; `[ledger] key` in `.streamlit/secrets.toml`; the file `ledger.key` in the
data directory, generated on first start with owner-only permissions (0600).
"""

from __future__ import annotations

import os
import secrets
import tomllib
from dataclasses import dataclass
from pathlib import Path

from portfolio.ledger.engine import REPO_ROOT, data_dir

ENV = "REBALANCE_LEDGER_KEY"
KEY_FILE = "ledger.key"
SECRETS = REPO_ROOT / ".streamlit" / "secrets.toml"


@dataclass(frozen=True)
class LedgerKey:
    secret: bytes
    source: str  # where it came from, for the app and the CLI to say (never the key itself)
    created: bool = False

    def __repr__(self) -> str:  # the key never reaches a log or a traceback
        return f"LedgerKey(source={self.source!r}, created={self.created})"


def _from_secrets(path: Path) -> str | None:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError):
        return None
    value = (data.get("ledger") or {}).get("key")
    return str(value).strip() or None if value is not None else None


def _from_file(path: Path) -> LedgerKey:
    """Read the key file, creating it atomically (link of a 0600 temporary) when missing."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, (secrets.token_hex(32) + "\n").encode())
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)  # fails if another process created it first: theirs wins
            created = True
        except FileExistsError:
            created = False
        finally:
            tmp.unlink(missing_ok=True)
        if created:
            return LedgerKey(path.read_text().strip().encode(), f"generated in {path}", True)
    text = path.read_text().strip()
    if not text:
        raise ValueError(f"the ledger key file {path} is empty")
    return LedgerKey(text.encode(), f"file {path}")


def ledger_key(secrets_path: Path | None = SECRETS, folder: Path | None = None) -> LedgerKey:
    """`folder`: the data directory of another process (default: this one's)."""
    if value := os.environ.get(ENV, "").strip():
        return LedgerKey(value.encode(), f"environment variable {ENV}")
    if secrets_path is not None and (value := _from_secrets(secrets_path)):
        return LedgerKey(value.encode(), f"[ledger] key in {secrets_path.name}")
    return _from_file((folder or data_dir()) / KEY_FILE)
