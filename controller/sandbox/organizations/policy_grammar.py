"""The policy documents of AWS Organizations as the sandbox checks them: the IAM policy grammar of SCPs and RCPs,
and each policy type's size quota.  CreatePolicy and UpdatePolicy (:mod:`controller.sandbox.organizations.policies`)
refuse a document that fails here.
"""

from __future__ import annotations

import json
from typing import Any

from controller.sandbox.organizations import management
from controller.sandbox.organizations.base import OrganizationsError, _constraint

#: AWS quotas: maximum policy document size, in characters as submitted (the management types':
#: :data:`management.DOCUMENT_SIZE`, with their sources).
MAX_POLICY_SIZE = {
    "SERVICE_CONTROL_POLICY": 5120,
    "RESOURCE_CONTROL_POLICY": 5120,
    **management.DOCUMENT_SIZE,
}
#: Policy types whose documents use the IAM policy grammar.
IAM_GRAMMAR_TYPES = frozenset({"SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"})


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def check_policy_document(policy_type: str, content: Any) -> None:
    """MalformedPolicyDocumentException: "The provided policy document doesn't meet the
    requirements of the specified policy type. For example, the syntax might be incorrect."

    Size: ConstraintViolationException POLICY_CONTENT_LIMIT_EXCEEDED: "You attempted to create a
    policy that is larger than the maximum size."  (AWS quota: 5,120 characters for SCPs and RCPs,
    counted on the document as submitted, whitespace included.)

    For SCPs and RCPs the document must follow the IAM policy grammar: a JSON object with
    ``Version`` "2012-10-17" (or "2008-10-17") and a non-empty ``Statement`` (object or list);
    every statement has ``Effect`` Allow or Deny, exactly one of ``Action``/``NotAction`` with
    string values, and no unknown keys.  RCPs additionally need ``Principal`` and ``Resource``/
    ``NotResource``, and custom RCPs may only Deny (only the AWS managed RCPFullAWSAccess allows).
    The management types' documents follow the management policy syntax
    (:func:`management.check_management_document`).
    """
    if not isinstance(content, str):
        raise OrganizationsError("MalformedPolicyDocumentException", "The policy content must be a string.")
    limit = MAX_POLICY_SIZE.get(policy_type)
    if limit is not None and len(content) > limit:
        raise _constraint(
            "POLICY_CONTENT_LIMIT_EXCEEDED",
            f"The policy content exceeds the maximum size of {limit} characters for {policy_type}.",
        )

    def malformed(detail: str) -> OrganizationsError:
        return OrganizationsError(
            "MalformedPolicyDocumentException",
            f"The provided policy document does not meet the requirements of the specified policy type: {detail}",
        )

    try:
        doc = json.loads(content)
    except ValueError as exc:
        raise malformed(f"not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise malformed("the document must be a JSON object")
    if policy_type not in IAM_GRAMMAR_TYPES:
        management.check_management_document(policy_type, doc)
        return

    allowed_top = {"Version", "Id", "Statement"}
    if set(doc) - allowed_top:
        raise malformed(f"unknown top-level element(s) {sorted(set(doc) - allowed_top)}")
    if doc.get("Version") not in ("2012-10-17", "2008-10-17"):
        raise malformed('Version must be "2012-10-17"')
    statements = doc.get("Statement")
    if statements is None or statements == [] or not isinstance(statements, (dict, list)):
        raise malformed("Statement is required and must be an object or a non-empty list")
    allowed_stmt = {
        "Sid",
        "Effect",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
        "Principal",
        "NotPrincipal",
    }
    for stmt in _as_list(statements):
        if not isinstance(stmt, dict):
            raise malformed("every statement must be an object")
        unknown = set(stmt) - allowed_stmt
        if unknown:
            raise malformed(f"unknown statement element(s) {sorted(unknown)}")
        effect = stmt.get("Effect")
        if effect not in ("Allow", "Deny"):
            raise malformed(f"Effect must be Allow or Deny, not {effect!r}")
        if ("Action" in stmt) == ("NotAction" in stmt):
            raise malformed("a statement needs exactly one of Action or NotAction")
        actions = _as_list(stmt.get("Action", stmt.get("NotAction")))
        if not actions or not all(isinstance(a, str) and a for a in actions):
            raise malformed("Action must be a non-empty string or list of strings")
        for key in ("Resource", "NotResource"):
            if key in stmt:
                values = _as_list(stmt[key])
                if not values or not all(isinstance(v, str) and v for v in values):
                    raise malformed(f"{key} must be a non-empty string or list of strings")
        if "Condition" in stmt and not isinstance(stmt["Condition"], dict):
            raise malformed("Condition must be an object")
        if policy_type == "RESOURCE_CONTROL_POLICY":
            if "Principal" not in stmt and "NotPrincipal" not in stmt:
                raise malformed("an RCP statement needs a Principal")
            if "Resource" not in stmt and "NotResource" not in stmt:
                raise malformed("an RCP statement needs a Resource")
            if effect != "Deny":
                raise malformed("custom RCPs can only contain Deny statements")
        elif "Principal" in stmt or "NotPrincipal" in stmt:
            raise malformed("SCP statements can't have a Principal")
