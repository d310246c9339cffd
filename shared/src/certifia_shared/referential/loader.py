"""Reading ``contracts/referential/referential.yaml`` into a checked :class:`Referential`."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import yaml

from certifia_shared.referential.model import Referential, ReferentialError

__all__ = [
    "ENV_VAR",
    "RELATIVE_PATH",
    "clear_referential_cache",
    "default_referential_path",
    "load_referential",
]

ENV_VAR = "CERTIFIA_REFERENTIAL"
RELATIVE_PATH = Path("contracts") / "referential" / "referential.yaml"


def default_referential_path() -> Path:
    """``$CERTIFIA_REFERENTIAL`` if set, else ``contracts/referential/referential.yaml`` in the nearest
    folder above this module that has one."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent
    for folder in (here, *here.parents):
        candidate = folder / RELATIVE_PATH
        if candidate.is_file():
            return candidate
    raise ReferentialError(
        f"referential not found: no {RELATIVE_PATH.as_posix()} above {here} and ${ENV_VAR} is not set"
    )


def load_referential(path: Path | str | None = None) -> Referential:
    """Load and check the referential.

    ``path=None`` reads :func:`default_referential_path` and caches the result per resolved path (the
    same object is returned on later calls); an explicit path is always read afresh. Raises
    :class:`ReferentialError` (file missing, YAML invalid, schema or cross-reference problem) naming the
    offending ids.
    """
    if path is None:
        return _load_cached(default_referential_path().resolve())
    return _load(Path(path))


def clear_referential_cache() -> None:
    """Forget the cached default referential (tests, hot reload)."""
    _load_cached.cache_clear()


@lru_cache(maxsize=4)
def _load_cached(path: Path) -> Referential:
    return _load(path)


def _load(path: Path) -> Referential:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReferentialError(f"referential file not found: {path}") from None
    except OSError as exc:
        raise ReferentialError(f"cannot read referential file {path}: {exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ReferentialError(f"{path}: invalid YAML: {exc}") from exc
    return Referential.from_dict(data, source=str(path))
