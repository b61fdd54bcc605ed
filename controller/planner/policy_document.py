"""Policy documents: validated offline, before any AWS call, and sent as minified JSON. Pure.

``validate_document`` checks the IAM policy grammar AWS applies to service control policies (SCPs) and
resource control policies (RCPs): for SCPs the full IAM language since 2025 (AWS Security Blog, "AWS
Organizations service control policy now supports full IAM language": conditions, individual resource ARNs
and NotAction in Allow statements, wildcards anywhere in an Action, NotResource in both effects), no
Principal; for RCPs the "RCP syntax" page's elements (the sandbox plays the same rules with its own copy), and
names each problem by its path, e.g. ``spec.document.Statement[1].Effect: must be Allow or Deny, got
"Permit"``.  ``minify`` is what AWS receives; its length counts against AWS's quota (10,240 characters for an
SCP, 5,120 for an RCP, unless the ``scp-characters``/``rcp-characters`` limits say otherwise).
Reusable by an offline ``awsorg validate``.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Mapping
from typing import Any

from controller.api import limits
from controller.planner.management_document import validate_management_document

SCP = limits.SCP
RCP = limits.RCP
POLICY_TYPES = (SCP, RCP)
MAX_DOCUMENT_SIZE = limits.MAX_DOCUMENT_SIZE
VERSIONS = ("2012-10-17", "2008-10-17")
TOP_LEVEL = ("Version", "Id", "Statement")
STATEMENT_ELEMENTS = (
    "Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition",
)
# "service:Action" with * and ? wildcards, or "*" alone (IAM: "Actions must be prefaced by a vendor").
ACTION_PATTERN = re.compile(r"^(\*|[A-Za-z0-9-]+:[A-Za-z0-9*?]+)$")
# IAM JSON policy elements, Sid: "The Sid element supports ASCII uppercase letters (A-Z), lowercase letters (a-z),
# and numbers (0-9)." (SCP and RCP syntax pages: Sid as in IAM.)
SID_PATTERN = re.compile(r"^[A-Za-z0-9]*$")
# IAM condition operators (limits.CONDITION_OPERATORS); each may end in IfExists (except Null) and start
# ForAllValues:/ForAnyValue:.
CONDITION_OPERATORS = limits.CONDITION_OPERATORS


def minify(document: Mapping[str, Any]) -> str:
    """The document as AWS receives it: compact JSON, keys in the order written."""
    return json.dumps(document, separators=(",", ":"))


def document_size(document: Mapping[str, Any]) -> int:
    return len(minify(document))


def same_content(desired: str, actual: str | None) -> bool | None:
    """Whether two policy contents are the same policy (parsed JSON equal); None when unknown."""
    if actual is None:
        return None
    try:
        return bool(json.loads(desired) == json.loads(actual))
    except ValueError:
        return False


def _show(value: Any) -> str:
    if isinstance(value, datetime.date):
        return f"{value.isoformat()} (a YAML date: quote it)"
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if value is None:
        return "null"
    return "a string" if isinstance(value, str) else type(value).__name__


def validate_document(policy_type: str, document: Any, field: str = "spec.document") -> list[str]:
    """Every problem of ``document`` for ``policy_type``, as ``<path>: <what is wrong>``; [] when valid."""
    if policy_type in limits.MANAGEMENT_POLICY_TYPES:
        return validate_management_document(policy_type, document, field)
    problems: list[str] = []

    def bad(path: str, message: str) -> None:
        problems.append(f"{path}: {message}")

    if not isinstance(document, Mapping):
        bad(field, f"must be an object, got {_kind(document)}")
        return problems
    for key in document:
        if key not in TOP_LEVEL:
            bad(f"{field}.{key}", f"unknown element; a policy has only {', '.join(TOP_LEVEL)}")
    version = document.get("Version")
    if version is None:
        bad(f"{field}.Version", 'is required: "2012-10-17"')
    elif version not in VERSIONS:
        bad(f"{field}.Version", f'must be "2012-10-17", got {_show(version)}')
    if "Id" in document and not isinstance(document["Id"], str):
        bad(f"{field}.Id", f"must be a string, got {_kind(document['Id'])}")

    statements = document.get("Statement")
    path = f"{field}.Statement"
    if statements is None:
        bad(path, "is required: a statement object or a list of them")
    elif isinstance(statements, list):
        if not statements:
            bad(path, "must not be empty")
        for i, stmt in enumerate(statements):
            _check_statement(policy_type, stmt, f"{path}[{i}]", bad)
    elif isinstance(statements, Mapping):
        _check_statement(policy_type, statements, path, bad)
    else:
        bad(path, f"must be an object or a list of objects, got {_kind(statements)}")

    if not problems:
        try:
            size = document_size(document)
        except (TypeError, ValueError) as exc:
            bad(field, f"cannot be written as JSON ({exc})")
            return problems
        limit = limits.active().document_size(policy_type)
        if limit is not None and size > limit:
            bad(field, f"the policy is {size:,} characters as minified JSON; AWS allows at most {limit:,} "
                       f"for a {policy_type} (the limit {limits.policy_limit_name(policy_type, 'size')}; split it "
                       "into two policies)")
    return problems


def _check_strings(value: Any, path: str, bad: Any, *, action: bool = False) -> None:
    values = value if isinstance(value, list) else [value]
    if isinstance(value, list) and not value:
        bad(path, "must not be an empty list")
        return
    for i, item in enumerate(values):
        where = f"{path}[{i}]" if isinstance(value, list) else path
        if not isinstance(item, str) or not item:
            bad(where, f"must be a non-empty string, got {_show(item) if isinstance(item, str) else _kind(item)}")
        elif action and not ACTION_PATTERN.match(item):
            bad(where, f'must be "*" or "service:Action" (e.g. "s3:GetObject"), got {_show(item)}')


def _check_statement(policy_type: str, stmt: Any, path: str, bad: Any) -> None:
    if not isinstance(stmt, Mapping):
        bad(path, f"a statement must be an object, got {_kind(stmt)}")
        return
    for key in stmt:
        if key not in STATEMENT_ELEMENTS:
            bad(f"{path}.{key}", f"unknown element; a statement has only {', '.join(STATEMENT_ELEMENTS)}")
    if "Sid" in stmt and not isinstance(stmt["Sid"], str):
        bad(f"{path}.Sid", f"must be a string, got {_kind(stmt['Sid'])}")
    elif "Sid" in stmt and not SID_PATTERN.match(stmt["Sid"]):
        bad(f"{path}.Sid", f"may contain only letters A-Z and a-z and digits 0-9 (IAM's Sid), got {_show(stmt['Sid'])}")

    effect = stmt.get("Effect")
    if effect is None:
        bad(f"{path}.Effect", "is required: Allow or Deny")
    elif effect not in ("Allow", "Deny"):
        bad(f"{path}.Effect", f"must be Allow or Deny, got {_show(effect)}")
    elif policy_type == RCP and effect != "Deny":
        bad(f"{path}.Effect", "must be Deny: resource control policies written by you can only deny (Allow is only "
                              "AWS's RCPFullAWSAccess)")

    has_action, has_not_action = "Action" in stmt, "NotAction" in stmt
    if has_action and has_not_action:
        bad(f"{path}.NotAction", "a statement has exactly one of Action and NotAction, not both")
    elif not has_action and not has_not_action:
        bad(f"{path}.Action", "is required (or NotAction)")
    for key in ("Action", "NotAction"):
        if key in stmt:
            _check_strings(stmt[key], f"{path}.{key}", bad, action=True)

    if "Resource" in stmt and "NotResource" in stmt:
        bad(f"{path}.NotResource", "a statement has at most one of Resource and NotResource")
    for key in ("Resource", "NotResource"):
        if key in stmt:
            _check_strings(stmt[key], f"{path}.{key}", bad)

    if policy_type == RCP:
        _check_rcp_statement(stmt, path, bad)
    else:
        for key in ("Principal", "NotPrincipal"):
            if key in stmt:
                bad(f"{path}.{key}", "not allowed in a service control policy (it applies to the principals of "
                                     "the accounts it is attached to)")

    if "Condition" in stmt:
        _check_condition(stmt["Condition"], f"{path}.Condition", bad)


def _check_rcp_statement(stmt: Mapping[str, Any], path: str, bad: Any) -> None:
    """The RCP syntax page's elements: no NotAction, no NotPrincipal, Principal "*" only, a Resource, and actions
    of the services RCPs cover (:data:`controller.api.limits.RCP_SERVICES`)."""
    for key in stmt:
        if key in STATEMENT_ELEMENTS and key not in limits.RCP_STATEMENT_ELEMENTS:
            bad(f"{path}.{key}", f"not supported in a resource control policy (its elements: "
                                 f"{', '.join(limits.RCP_STATEMENT_ELEMENTS)})")
    if "Principal" not in stmt and "NotPrincipal" not in stmt:
        bad(f"{path}.Principal", f'is required in a resource control policy: "{limits.RCP_PRINCIPAL}"')
    elif "Principal" in stmt and stmt["Principal"] != limits.RCP_PRINCIPAL:
        bad(f"{path}.Principal", f'must be "{limits.RCP_PRINCIPAL}" in a resource control policy (narrow it with a '
                                 f'Condition such as aws:PrincipalOrgID), got {_show(stmt["Principal"])}')
    if "Resource" not in stmt and "NotResource" not in stmt:
        bad(f"{path}.Resource", 'is required in a resource control policy (e.g. "*")')
    actions = stmt.get("Action")
    for i, action in enumerate(actions if isinstance(actions, list) else [actions]):
        if not isinstance(action, str) or action == "*" or not ACTION_PATTERN.match(action):
            continue
        service = action.split(":", 1)[0].lower()
        if service not in limits.RCP_SERVICES:
            where = f"{path}.Action[{i}]" if isinstance(actions, list) else f"{path}.Action"
            bad(where, f"{_show(action)}: resource control policies apply only to the services "
                       f"{', '.join(sorted(limits.RCP_SERVICES))}, not {service!r}")


def _check_condition(condition: Any, path: str, bad: Any) -> None:
    if not isinstance(condition, Mapping):
        bad(path, f"must be an object of operator -> {{key: value}}, got {_kind(condition)}")
        return
    for operator, block in condition.items():
        where = f"{path}.{operator}"
        name = str(operator)
        for prefix in ("ForAllValues:", "ForAnyValue:"):
            name = name.removeprefix(prefix)
        if name != "Null":
            name = name.removesuffix("IfExists")
        if name not in CONDITION_OPERATORS:
            bad(where, "unknown condition operator (e.g. StringEquals, StringLike, ArnNotLike, Bool, Null, with "
                       "an optional IfExists suffix)")
        if not isinstance(block, Mapping) or not block:
            bad(where, f"must be a non-empty object of condition key -> value, got {_kind(block)}")
            continue
        for key, value in block.items():
            values = value if isinstance(value, list) else [value]
            if isinstance(value, list) and not value:
                bad(f"{where}.{key}", "must not be an empty list")
            elif not all(isinstance(v, (str, bool, int, float)) for v in values):
                bad(f"{where}.{key}", "must be a string, number, boolean, or a list of them")
