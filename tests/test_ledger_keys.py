"""Where the firm key that seals the ledger comes from."""

from __future__ import annotations

import stat

from portfolio.ledger.keys import ENV, ledger_key


def test_a_key_is_generated_once_with_owner_only_permissions(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    monkeypatch.setenv("REBALANCE_DATA_DIR", str(tmp_path / "data"))
    first = ledger_key(secrets_path=None)
    path = tmp_path / "data" / "ledger.key"
    assert first.created and str(path) in first.source
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = ledger_key(secrets_path=None)
    assert not again.created and again.secret == first.secret
    assert first.secret.decode() not in repr(first)


def test_environment_then_secrets_then_file(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("REBALANCE_DATA_DIR", str(tmp_path))
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('[ledger]\nkey = "from-secrets"\n')
    monkeypatch.setenv(ENV, "from-env")
    assert ledger_key(secrets).secret == b"from-env"
    monkeypatch.delenv(ENV)
    assert ledger_key(secrets).secret == b"from-secrets"
    assert not (tmp_path / "ledger.key").exists()
