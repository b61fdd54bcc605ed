"""AWS Organizations' management policies as the sandbox plays them: all of botocore's policy types, their
documents' syntax, their size and attachment quotas, and DescribeEffectivePolicy.

moto 5.2.5 knows five policy types (``FakePolicy.SUPPORTED_POLICY_TYPES``: SCP, RCP, TAG_POLICY, BACKUP_POLICY,
AISERVICES_OPT_OUT_POLICY) and refuses the others with InvalidInputException; AWS has fifteen.  The sandbox reads
them from botocore's model of the service at import (``shapes.PolicyType.enum`` of
``botocore/data/organizations/2016-11-28/service-2.json``; botocore 1.44.8, the pinned version, lists 15), and
widens moto's lists to them, so that CreatePolicy, EnablePolicyType, DisablePolicyType, ListPolicies and
ListPoliciesForTarget take each.

The management policy syntax (Organizations User Guide, "Inheritance operators", ``policy-operators``, read
2026-12-07): value-setting operators ``@@assign`` ("Overwrites any inherited policy settings with the specified
settings ... For multi-valued settings (JSON arrays), this operator removes any inherited values and replaces them"),
``@@append`` ("Adds the specified settings (without removing any) to the inherited ones ... only with multi-valued
settings"), ``@@remove`` ("Removes the specified inherited settings from the effective policy, if they exist ...
only with multi-valued settings"), and the child control operator ``@@operators_allowed_for_child_policies``
(``["@@all"]`` the default, a list of value-setting operators, or ``["@@none"]``: "If an inherited child control
operator restricts the use of an operator, you can't reverse that rule in a child policy").  A document that is not
a JSON object, or names another ``@@`` operator, is refused with MalformedPolicyDocumentException ("The provided
policy document doesn't meet the requirements of the specified policy type."); tag policies also take
``@@enforced_for`` (the project's SPEC spelling of tag policies' ``enforced_for``, which the syntax page writes
without ``@@``; both are taken in tag policies only).

The effective policy ("Inheritance examples", ``inheritance-examples``; "Understanding management policy
inheritance", ``orgs_manage_policies_inheritance_mgmt``): the policies attached to the root, then to each OU down
the account's path, then to the account, merged in that order with the operators above; policies attached at the
same level are merged in the order they were attached, and a level's child control operators restrict the levels
below it, not its own; an operator a parent does not allow for child policies is not applied.  The effective
document carries no operators.  This is how AWS documents tag and backup policies; the sandbox merges every other
management type's documents the same way (AWS publishes no other rule for them).
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import botocore.loaders
from moto.organizations.models import FakePolicy, FakeRoot

from controller.sandbox.organizations.base import (
    Ctx,
    Middleware,
    OrganizationsError,
    _enabled_policy_types,
    _find_account,
    _find_container,
    _invalid,
    _require_org,
    rule,
)


def _model_enum(shape: str) -> tuple[str, ...]:
    model = botocore.loaders.Loader().load_service_model("organizations", "service-2")
    return tuple(model["shapes"][shape]["enum"])


#: botocore's ``PolicyType`` enum (15 in botocore 1.44.8) and ``EffectivePolicyType`` (the 13 management types).
POLICY_TYPES = _model_enum("PolicyType")
MANAGEMENT_POLICY_TYPES = _model_enum("EffectivePolicyType")
AUTHORIZATION_POLICY_TYPES = tuple(t for t in POLICY_TYPES if t not in MANAGEMENT_POLICY_TYPES)

for _moto_list in (FakePolicy.SUPPORTED_POLICY_TYPES, FakeRoot.SUPPORTED_POLICY_TYPES):
    _moto_list.extend(t for t in POLICY_TYPES if t not in _moto_list)

#: Quotas page (``orgs_reference_limits``, "Maximum size of a policy document", read 2026-12-07 in its zh_TW and
#: zh_CN copies, which list more types than the stored English copies): "Declarative policies: 10,000 characters,
#: Backup policies: 10,000 characters, Chat applications policies: 10,000 characters, AI services opt-out policies:
#: 2500 characters, Tag policies: 10,000 characters, Security Hub CSPM policies: 10,000 characters"; ``None``
#: below: NOT VERIFIED (no page the search tool holds gives the figure); the sandbox plays 10,000 for them, the
#: figure of every other management type.  ConstraintViolationException POLICY_CONTENT_LIMIT_EXCEEDED beyond.
DOCUMENT_SIZE: dict[str, int] = {
    "TAG_POLICY": 10000, "BACKUP_POLICY": 10000, "AISERVICES_OPT_OUT_POLICY": 2500, "CHATBOT_POLICY": 10000,
    "DECLARATIVE_POLICY_EC2": 10000, "SECURITYHUB_CSPM_POLICY": 10000,
    # NOT VERIFIED: SECURITYHUB_POLICY, INSPECTOR_POLICY, UPGRADE_ROLLOUT_POLICY, BEDROCK_POLICY, S3_POLICY,
    # NETWORK_SECURITY_DIRECTOR_POLICY, GUARDDUTY_POLICY
}
#: "Managing organization policies" (``orgs_manage_policies``), the policy types table, "Maximum number you can
#: attach to a root, OU, or account" (read 2026-12-07): "AI services opt-out policy 5", "Backup policy 10", "Tag
#: policy 10".  The other management types: NOT VERIFIED (the stored copies of that table and of the quotas page
#: do not reach them); the sandbox plays 10.  ConstraintViolationException MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED
#: beyond.
ATTACHMENTS_PER_TARGET: dict[str, int] = {"TAG_POLICY": 10, "BACKUP_POLICY": 10, "AISERVICES_OPT_OUT_POLICY": 5}
UNVERIFIED_SIZE = 10000
UNVERIFIED_ATTACHMENTS = 10
for _type in MANAGEMENT_POLICY_TYPES:
    DOCUMENT_SIZE.setdefault(_type, UNVERIFIED_SIZE)
    ATTACHMENTS_PER_TARGET.setdefault(_type, UNVERIFIED_ATTACHMENTS)



def new_policy(organization: Any, **params: Any) -> FakePolicy:
    """moto's FakePolicy of any of the 15 types: moto raises NotImplementedError for the types it has no ARN for;
    AWS's policy ARNs are ``arn:aws:organizations::<management account>:policy/<org id>/<type in lower case>/<id>``
    (as moto writes the four it knows)."""
    policy_type = str(params.get("Type", ""))
    try:
        return FakePolicy(organization, **params)
    except NotImplementedError:
        policy = FakePolicy(organization, **{**params, "Type": "TAG_POLICY"})
        policy.type = policy_type
        policy._arn_format = "arn:{0}:organizations::{1}:policy/{2}/" + policy_type.lower() + "/{3}"
        return policy


VALUE_OPERATORS = ("@@assign", "@@append", "@@remove")
CHILD_CONTROL = "@@operators_allowed_for_child_policies"
CHILD_CONTROL_VALUES = ("@@all", "@@none", *VALUE_OPERATORS)
TAG_ONLY_OPERATORS = ("@@enforced_for",)


def _malformed(detail: str) -> OrganizationsError:
    return OrganizationsError("MalformedPolicyDocumentException", "The provided policy document doesn't meet the "
                              f"requirements of the specified policy type: {detail}")


def check_management_document(policy_type: str, doc: Any) -> None:
    """A management policy document: a JSON object whose ``@@`` keys are the syntax's operators (see the module);
    ``@@operators_allowed_for_child_policies`` a list of ``@@all``, ``@@none`` or value-setting operators;
    ``@@append`` and ``@@remove`` on lists only ("only with multi-valued settings")."""
    if not isinstance(doc, dict):
        raise _malformed("the document must be a JSON object")
    allowed = {*VALUE_OPERATORS, CHILD_CONTROL, *(TAG_ONLY_OPERATORS if policy_type == "TAG_POLICY" else ())}

    def walk(node: dict[str, Any], path: str) -> None:
        for key, value in node.items():
            where = f"{path}.{key}" if path else key
            if key.startswith("@@"):
                if key not in allowed:
                    raise _malformed(f"unknown operator {key} at {where}")
                if key == CHILD_CONTROL:
                    if not isinstance(value, list) or not value or any(v not in CHILD_CONTROL_VALUES for v in value):
                        raise _malformed(f"{where} must be a list of {', '.join(CHILD_CONTROL_VALUES)}")
                elif key in ("@@append", "@@remove") and not isinstance(value, list):
                    raise _malformed(f"{key} at {where} takes a list (multi-valued settings only)")
            elif isinstance(value, dict):
                walk(value, where)

    walk(doc, "")


# --------------------------------------------------------------------------------------------------
# The effective policy


@dataclass
class _Node:
    """One setting or container of the effective policy while it is merged."""

    value: Any = None
    has_value: bool = False
    children: dict[str, _Node] = field(default_factory=dict)
    allowed: frozenset[str] = frozenset(VALUE_OPERATORS)  # value-setting operators child policies may use here


def _allowed(values: Iterable[str]) -> frozenset[str]:
    values = set(values)
    if "@@all" in values:
        return frozenset(VALUE_OPERATORS)
    return frozenset(v for v in values if v in VALUE_OPERATORS)


def _apply(node: _Node, doc: dict[str, Any], inherited: frozenset[str],
           restrictions: list[tuple[_Node, frozenset[str]]]) -> None:
    allowed = inherited & node.allowed
    for key, value in doc.items():
        if key == CHILD_CONTROL:
            restrictions.append((node, _allowed(value if isinstance(value, list) else [])))
        elif key in VALUE_OPERATORS:
            if key not in allowed:
                continue  # a parent's child control operator does not allow it: not applied
            current = node.value if node.has_value else None
            if key == "@@assign":
                node.value = copy.deepcopy(value)
            elif key == "@@append":
                base = list(current) if isinstance(current, list) else []
                node.value = base + [v for v in value if v not in base]
            else:
                node.value = [v for v in current if v not in value] if isinstance(current, list) else current
            node.has_value = node.value is not None
        elif key.startswith("@@"):
            continue
        elif isinstance(value, dict):
            _apply(node.children.setdefault(key, _Node(allowed=allowed)), value, allowed, restrictions)
        else:
            child = node.children.setdefault(key, _Node(allowed=allowed))
            if "@@assign" in allowed:  # a plain value sets it, as @@assign does
                child.value, child.has_value = copy.deepcopy(value), True


def _restrict(node: _Node, allowed: frozenset[str]) -> None:
    node.allowed &= allowed
    for child in node.children.values():
        _restrict(child, allowed)


def _render(node: _Node) -> Any:
    if node.has_value:
        return node.value
    out = {key: _render(child) for key, child in node.children.items()}
    return {key: value for key, value in out.items() if value != {}}


def effective_policy(levels: Iterable[Iterable[dict[str, Any]]]) -> dict[str, Any]:
    """The effective document of the policies attached at each level, from the root down to the account."""
    tree = _Node()
    for documents in levels:
        restrictions: list[tuple[_Node, frozenset[str]]] = []
        for doc in documents:
            _apply(tree, doc, tree.allowed, restrictions)
        for node, allowed in restrictions:  # a level's child control operators bind the levels below it
            _restrict(node, allowed)
    rendered = _render(tree)
    return rendered if isinstance(rendered, dict) else {}


def _levels(backend: Any, account: Any, policy_type: str) -> list[list[dict[str, Any]]]:
    path: list[Any] = [account]
    parent = _find_container(backend, str(account.parent_id))
    while parent is not None:
        path.append(parent)
        parent = None if isinstance(parent, FakeRoot) else _find_container(backend, str(parent.parent_id))
    levels = []
    for target in reversed(path):
        docs = []
        for policy in target.attached_policies:
            if policy.type == policy_type:
                try:
                    doc = json.loads(policy.content)
                except (TypeError, ValueError):
                    continue
                if isinstance(doc, dict):
                    docs.append(doc)
        levels.append(docs)
    return levels


@rule("DescribeEffectivePolicy")
def _describe_effective_policy(mw: Middleware, ctx: Ctx) -> dict[str, Any] | None:
    """DescribeEffectivePolicy (moto 5.2.5 does not implement it).

    * PolicyType one of EffectivePolicyType (the management types), else InvalidInputException INVALID_ENUM;
    * TargetId: "specify the ID of the account that you want details about. Specifying an organization root or
      organizational unit (OU) as the target is not supported." -> InvalidInputException TARGET_NOT_SUPPORTED;
      omitted: the caller's account; an unknown account -> TargetNotFoundException;
    * EffectivePolicyNotFoundException: "If you ran this action on the management account, this policy type is not
      enabled." -- and when no policy of the type reaches the account.
    """
    backend = ctx.backend
    _require_org(backend)
    policy_type = str(ctx.params.get("PolicyType", ""))
    if policy_type not in MANAGEMENT_POLICY_TYPES:
        raise _invalid("INVALID_ENUM", "You specified an invalid value.")
    target_id = str(ctx.params.get("TargetId") or ctx.backend_key[0])
    if _find_container(backend, target_id) is not None:
        raise _invalid("TARGET_NOT_SUPPORTED", "You can't perform the operation on the requested target type.")
    account = _find_account(backend, target_id)
    if account is None:
        raise OrganizationsError("TargetNotFoundException",
                                 "We can't find a root, OU, account, or policy with the TargetId that you specified.")
    levels = _levels(backend, account, policy_type)
    if policy_type not in _enabled_policy_types(backend) or not any(levels):
        raise OrganizationsError("EffectivePolicyNotFoundException",
                                 "We can't find an effective policy of the type you specified for the target.")
    return {"EffectivePolicy": {
        "PolicyContent": json.dumps(effective_policy(levels), separators=(",", ":")),
        "LastUpdatedTimestamp": time.time(),
        "TargetId": account.id,
        "PolicyType": policy_type,
    }}
