"""No module-level mutable state in controller/reconciler/, and no state in its adapters (issue 18, "Done when").

Every module-level value of the engine's package is something nobody can change between reconciles: a constant
(str, number, frozenset, tuple, a read-only mapping), a class, a function, a module, a logger, a type alias; and
the adapter instances ``kinds.ADAPTERS`` shares (the operator and ``awsorg plan`` alike) carry no attributes of
their own. A mutable table (a dict, a list, a set) or an adapter remembering something between reconciles fails
here, naming it."""

from __future__ import annotations
import __future__

import importlib
import inspect
import logging
import pkgutil
import types
import typing
from typing import Any

import pytest

import controller.reconciler
from controller.reconciler.engine import Adapter
from controller.reconciler.kinds import ADAPTERS

MODULES = sorted(m.name for m in pkgutil.iter_modules(controller.reconciler.__path__, "controller.reconciler."))
IMMUTABLE = (str, bytes, int, float, bool, type(None), frozenset, types.MappingProxyType, logging.Logger,
             typing.TypeVar)


def _immutable(value: Any) -> bool:
    if isinstance(value, tuple):
        return all(_immutable(v) for v in value)
    if isinstance(value, Adapter):
        return not vars(value)  # a stateless adapter (checked again below)
    return (isinstance(value, IMMUTABLE) or inspect.isclass(value) or inspect.isroutine(value)
            or inspect.ismodule(value) or isinstance(value, __future__._Feature)
            or type(value).__module__ in ("typing", "types", "collections.abc"))


@pytest.mark.parametrize("module", MODULES)
def test_no_module_level_mutable_state(module: str) -> None:
    found = importlib.import_module(module)
    mutable = [f"{name}: {type(value).__name__}" for name, value in vars(found).items()
               if not name.startswith("__") and not _immutable(value)]
    assert not mutable, f"{module} holds mutable state at module level: {mutable}"


@pytest.mark.parametrize("kind", sorted(ADAPTERS))
def test_adapters_hold_no_state(kind: str) -> None:
    assert vars(ADAPTERS[kind]) == {}, f"the {kind} adapter keeps {sorted(vars(ADAPTERS[kind]))}"
