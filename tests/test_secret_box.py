"""Secrets at rest: MAPBOT_SECRET_KEY's forms, rotation, and a key that cannot
work refused at start-up (one line naming the variable)."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from bot.config import ConfigError, Settings
from storage import secret_box

PASSPHRASE = "x" * 40


def test_sealed_with_a_passphrase_or_a_fernet_key(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in (PASSPHRASE, Fernet.generate_key().decode()):
        monkeypatch.setenv(secret_box.ENV, key)
        token = secret_box.seal("whsec_abc")
        assert "whsec_abc" not in token and secret_box.open_sealed(token) == "whsec_abc"


def test_rotation_keeps_old_secrets_readable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(secret_box.ENV, PASSPHRASE)
    old = secret_box.seal("whsec_old")
    monkeypatch.setenv(secret_box.ENV, f"{'y' * 40},{PASSPHRASE}")
    assert secret_box.open_sealed(old) == "whsec_old"
    monkeypatch.setenv(secret_box.ENV, "y" * 40)
    with pytest.raises(secret_box.SecretKeyError, match="does not open"):
        secret_box.open_sealed(old)


@pytest.mark.parametrize("value", ["short", "a" * 40 + ",tooshort"])
def test_a_key_that_cannot_work_is_a_config_error(value: str) -> None:
    with pytest.raises(ConfigError, match="MAPBOT_SECRET_KEY") as e:
        Settings.from_env({secret_box.ENV: value})
    assert value not in str(e.value), "the key itself is never printed"


def test_unset_is_allowed_at_start_up() -> None:
    assert Settings.from_env({}).port == 3000
