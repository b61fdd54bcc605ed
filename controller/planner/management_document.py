"""Management policy documents (tag, backup, AI services opt-out, ... policies): checked offline, before any AWS
call, by the management policy syntax. Pure.

The syntax (Organizations User Guide, "Inheritance operators", ``policy-operators``, read 2026-12-07): a JSON object
whose keys beginning ``@@`` are the value-setting operators ``@@assign``, ``@@append`` and ``@@remove`` (the last two
"only with multi-valued settings", i.e. lists) and the child control operator
``@@operators_allowed_for_child_policies`` (a list of ``@@all``, ``@@none`` or value-setting operators); tag
policies also take ``@@enforced_for`` (the project's SPEC spelling; the tag policy syntax page writes the key
``enforced_for``). Each problem is ``<path>: <what is wrong>``, e.g.
``spec.document.tags.costcenter.tag_value.@@set: unknown operator; allowed: @@assign, @@append, @@remove,
@@operators_allowed_for_child_policies``. The size is the minified JSON's, against the type's quota
(:data:`controller.api.limits.MAX_DOCUMENT_SIZE`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from controller.api import limits

VALUE_OPERATORS = ("@@assign", "@@append", "@@remove")
LIST_OPERATORS = ("@@append", "@@remove")
CHILD_CONTROL = "@@operators_allowed_for_child_policies"
CHILD_CONTROL_VALUES = ("@@all", "@@none", *VALUE_OPERATORS)
TAG_POLICY = "TAG_POLICY"
TAG_ONLY_OPERATORS = ("@@enforced_for",)


def operators_of(policy_type: str) -> tuple[str, ...]:
    """The ``@@`` keys a document of the type may hold."""
    return (*VALUE_OPERATORS, CHILD_CONTROL, *(TAG_ONLY_OPERATORS if policy_type == TAG_POLICY else ()))


def _kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return "a string" if isinstance(value, str) else type(value).__name__


def validate_management_document(policy_type: str, document: Any, field: str = "spec.document") -> list[str]:
    """Every problem of a management policy document, as ``<path>: <what is wrong>``; [] when valid."""
    problems: list[str] = []
    if not isinstance(document, Mapping):
        return [f"{field}: must be an object, got {_kind(document)}"]
    allowed = operators_of(policy_type)

    def walk(node: Mapping[str, Any], path: str) -> None:
        for key, value in node.items():
            where = f"{path}.{key}"
            if not isinstance(key, str):
                problems.append(f"{where}: keys must be strings")
            elif key.startswith("@@"):
                if key not in allowed:
                    only = " (tag policies only)" if key in TAG_ONLY_OPERATORS else ""
                    problems.append(f"{where}: unknown operator{only}; allowed in a {policy_type}: "
                                    f"{', '.join(allowed)}")
                elif key == CHILD_CONTROL:
                    if not isinstance(value, list) or not value or any(v not in CHILD_CONTROL_VALUES for v in value):
                        problems.append(f"{where}: must be a non-empty list of {', '.join(CHILD_CONTROL_VALUES)}")
                elif key in LIST_OPERATORS and not isinstance(value, list):
                    problems.append(f"{where}: takes a list (AWS: only with multi-valued settings), got "
                                    f"{_kind(value)}")
            elif isinstance(value, Mapping):
                walk(value, where)

    walk(document, field)
    if not problems:
        size = len(json.dumps(document, separators=(",", ":")))
        limit = limits.active().document_size(policy_type)
        if limit is not None and size > limit:
            problems.append(f"{field}: the policy is {size:,} characters as minified JSON; AWS allows at most "
                            f"{limit:,} for a {policy_type} (split it into two policies)")
    return problems
