"""The fakes stand for the real repositories: the same public methods, with the same parameters."""

from __future__ import annotations

import inspect

import pytest

from certifia_certification.adapters.keystore import SigningKeyRepository
from certifia_certification.adapters.repository import ProgressRepository, StatusListRepository
from certifia_certification.adapters.suspensions import SuspensionRepository

from .fakes import (
    FakeProgressRepository,
    FakeSigningKeyRepository,
    FakeStatusListRepository,
    FakeSuspensionRepository,
)


def _public(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_")
    }


@pytest.mark.parametrize(
    ("real", "fake"),
    [
        (ProgressRepository, FakeProgressRepository),
        (StatusListRepository, FakeStatusListRepository),
        (SuspensionRepository, FakeSuspensionRepository),
        (SigningKeyRepository, FakeSigningKeyRepository),
    ],
)
def test_a_fake_repository_has_the_real_ones_methods(real: type, fake: type) -> None:
    real_methods, fake_methods = _public(real), _public(fake)
    assert set(fake_methods) == set(real_methods)
    for name, signature in real_methods.items():
        assert list(fake_methods[name].parameters) == list(signature.parameters), name
