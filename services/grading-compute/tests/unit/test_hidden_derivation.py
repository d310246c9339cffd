"""The hidden-data derivation itself (domain.hidden), direct: one key per secret, pack, version and public
seed; the seed a pack builds from and the commitment published instead of it both follow from that key."""

from __future__ import annotations

import hashlib

import pytest

from certifia_grading.domain import hidden

SECRET = b"a-deployment-secret-of-at-least-32-characters"


def test_the_key_changes_with_each_of_its_inputs_and_only_with_them() -> None:
    key = hidden.derive_key(SECRET, "b2_data_cleaning", "1.1.0", 7)
    assert len(key) == 32 and key == hidden.derive_key(SECRET, "b2_data_cleaning", "1.1.0", 7)
    others = {
        hidden.derive_key(SECRET + b"x", "b2_data_cleaning", "1.1.0", 7),
        hidden.derive_key(SECRET, "b2_anomaly_detection", "1.1.0", 7),
        hidden.derive_key(SECRET, "b2_data_cleaning", "1.2.0", 7),
        hidden.derive_key(SECRET, "b2_data_cleaning", "1.1.0", 8),
    }
    assert key not in others and len(others) == 4


def test_the_commitment_is_published_and_the_seed_is_not_derivable_from_it() -> None:
    key = hidden.derive_key(SECRET, "b2_data_cleaning", "1.1.0", 7)
    seed, published = hidden.effective_seed(key), hidden.commitment(key)
    assert seed == int.from_bytes(key, "big")
    assert published == hashlib.sha256(hidden.COMMITMENT_LABEL + key).hexdigest()
    assert str(seed) not in published and key.hex() not in published
    other = hidden.derive_key(SECRET + b"x", "b2_data_cleaning", "1.1.0", 7)
    assert hidden.commitment(other) != published  # another secret: another commitment


def test_the_secret_comes_from_the_argument_else_the_environment_else_the_development_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert hidden.as_secret("chosen") == b"chosen" and hidden.as_secret(b"raw") == b"raw"
    with pytest.raises(ValueError):
        hidden.as_secret("")
    monkeypatch.setenv(hidden.ENVIRONMENT_VARIABLE, "  from-the-environment  ")
    assert hidden.as_secret(None) == b"from-the-environment"
    monkeypatch.delenv(hidden.ENVIRONMENT_VARIABLE)
    assert hidden.as_secret(None) == hidden.DEVELOPMENT_SECRET
