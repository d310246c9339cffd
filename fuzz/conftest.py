"""The fuzz suite's collection and report: one test per service and operation, each with its own id, and at
the end how many requests were sent and what they answered.

pytest 9.2 builds an item's node id from its ``originalname`` and callspec; Schemathesis 4.32.5 names its items
``test_x[GET /path]`` but passes ``originalname="test_x"``, so every operation of a service got the same id
(``fuzz/test_openapi.py::test_enrolment``) and reports could not tell them apart. The id is given back the
operation, as earlier pytest versions built it: ``fuzz/test_openapi.py::test_enrolment[GET /candidates]``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

_MODULES = pytest.StashKey[dict[str, Any]]()
_HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    modules = config.stash.setdefault(_MODULES, {})
    for item in items:
        module = getattr(item, "module", None)
        # the fuzz suite's own modules only: a service's test module run in the same session may import a
        # ``summary`` of its own (certification's diploma view does)
        here = module is not None and Path(getattr(module, "__file__", "") or "/").resolve().parent == _HERE
        if here and hasattr(module, "summary"):
            modules[module.__name__] = module
        label = getattr(item, "operation_label", None)
        node_id = getattr(item, "_id", None)
        if label and node_id is not None and node_id.params is None and item.parent is not None:
            item._id = item.parent.id.child(getattr(item, "originalname", item.name)).with_params(label)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    for module in config.stash.get(_MODULES, {}).values():
        for line in module.summary():
            terminalreporter.write_line(line)
