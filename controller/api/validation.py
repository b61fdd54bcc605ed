"""Offline admission of one object against the CRD generated for its kind, as the API server does it.

The pruning, defaulting and validation themselves (structural schema, patterns, lengths, enums and
the ``x-kubernetes-validations`` rules that can be evaluated without an old object) are
:mod:`controller.api.schema`'s, which the sandbox's API server uses too; this module is the public
entry point for code that checks YAML without a cluster (``awsorg validate``).  Transition rules
(``self == oldSelf``) need the stored object and are skipped.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from controller.api import schema as structural
from controller.api.crds import all_crds

__all__ = ["Admission", "Cause", "admit", "crd_schema", "schema_at"]

Cause = structural.Cause
Schema = Mapping[str, Any]

_PATH_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


@dataclass
class Admission:
    """The object as the API server would store it (pruned and defaulted) and what is wrong with it."""

    obj: dict[str, Any]
    unknown_fields: list[str] = field(default_factory=list)
    causes: list[structural.Cause] = field(default_factory=list)


@functools.cache
def _schemas() -> dict[str, Schema]:
    out: dict[str, Schema] = {}
    for crd in all_crds():
        out[crd["spec"]["names"]["kind"]] = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return out


def crd_schema(kind: str) -> Schema:
    """The ``openAPIV3Schema`` of a kind, exactly as in the generated CRD (``KeyError`` if unknown)."""
    return _schemas()[kind]


def _is_status(path: str) -> bool:
    return path == "status" or path.startswith(("status.", "status["))


def admit(obj: Mapping[str, Any], kind: str) -> Admission:
    """Prune, default and validate a copy of ``obj`` (a create: no old object, so transition rules are
    skipped).  ``status`` is ignored, as the API server ignores it outside the status subresource."""
    schema = crd_schema(kind)
    value = copy.deepcopy(dict(obj))
    value.pop("status", None)
    unknown = [p for p in structural.prune(value, schema) if not _is_status(p)]
    structural.default(value, schema)
    causes = [c for c in structural.validate(value, schema) if not _is_status(c.field)]
    return Admission(value, unknown, causes)


def path_tokens(path: str) -> list[str | int]:
    """``spec.targets.ids[0]`` -> ``["spec", "targets", "ids", 0]``."""
    return [int(index) if index else key for key, index in _PATH_TOKEN.findall(path)]


def schema_at(kind: str, path: str) -> Schema | None:
    """The sub-schema of a field path (``spec.targets.orgUnitRefs[0].name``), or None if it has none."""
    node: Schema | None = crd_schema(kind)
    for token in path_tokens(path):
        if node is None:
            return None
        if isinstance(token, int):
            items = node.get("items")
            node = items if isinstance(items, Mapping) else None
            continue
        props = node.get("properties") or {}
        if token in props:
            node = props[token]
        elif isinstance(node.get("additionalProperties"), Mapping):
            node = node["additionalProperties"]
        else:
            return None
    return node
