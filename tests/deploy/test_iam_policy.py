"""deploy/iam-policy.json grants exactly the AWS API operations the code calls.

How the operations are derived from controller/aws/**/*.py (kept simple on purpose):

- AWS Organizations: every call goes through the gateway's plumbing, so the operation is the string
  literal passed as first argument to ``self._call(...)``, ``self._pages(...)`` or ``self._call_done_if(...)``
  ->  ``organizations:<Operation>``;
- the Account Management API: the string literal passed first to ``self._call_account(...)``
  ->  ``account:<Operation>``; and any method call ``<something>.<name>(...)``
  whose ``<name>`` is the snake_case name of an operation of botocore's ``account`` service model
  (botocore's ``xform_name``, as boto3 names its methods; e.g. ``client.put_account_name(...)``)
  ->  ``account:<Operation>``.

- Amazon SQS (the queue of AWS Organizations events, controller/aws/events.py only): any method call whose
  name is the snake_case name of an operation of botocore's ``sqs`` model -> ``sqs:<Operation>``, where a batch
  operation needs the permission of its single action ("Amazon SQS batch actions ... use the permissions of
  the corresponding single actions", Amazon SQS API reference: DeleteMessageBatch -> ``sqs:DeleteMessage``).

- Member accounts (controller/aws/member.py only): a method call whose name is the snake_case name of an
  operation of botocore's ``sts`` model -> ``sts:<Operation>`` (AssumeRole, made with the operator's own
  credentials, so in the operator's policy). Calls named after operations of the ``iam`` model are made with the
  *member* role's temporary credentials, not the operator's: they belong to that role's policy (the
  OrganizationAccountAccessRole AWS creates has AdministratorAccess), never to iam-policy.json, and
  docs/operating.md names each of them.

- Central logging (controller/aws/central_logging.py only): a method call named after an operation of botocore's
  ``cloudtrail`` model -> ``cloudtrail:<Operation>`` (the organization trail lives in the management account: the
  operator's own credentials). Calls named after operations of the ``s3``, ``config`` and ``iam`` models are made
  with the member role's credentials in the log archive and member accounts: like IAM above, that role's, named
  in docs/operating.md. S3's IAM actions are not all named like its operations (Service Authorization Reference,
  "Actions defined by Amazon S3"): ``S3_ACTIONS`` maps the ones that differ.

All are checked against botocore's service models (shipped with botocore, offline), so a typo in an
operation name fails too. IAM action names equal API operation names for these services.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import botocore.session
from botocore import xform_name

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "deploy" / "iam-policy.json"
PLUMBING = {"_call": "organizations", "_pages": "organizations", "_call_done_if": "organizations",
            "_call_account": "account"}


S3_ACTIONS = {"ListBuckets": "ListAllMyBuckets", "GetBucketEncryption": "GetEncryptionConfiguration",
              "PutBucketEncryption": "PutEncryptionConfiguration", "GetPublicAccessBlock": "GetBucketPublicAccessBlock",
              "PutPublicAccessBlock": "PutBucketPublicAccessBlock",
              "GetBucketLifecycleConfiguration": "GetLifecycleConfiguration",
              "PutBucketLifecycleConfiguration": "PutLifecycleConfiguration"}


# Permissions AWS checks on the caller beyond the call's own action. CreateTrail of an organization trail creates
# CloudTrail's service-linked role in the management account: "This exception is thrown when the IAM identity that is
# used to create the organization resource lacks one or more required permissions for creating an organization
# resource in a required service" (CreateTrail's InsufficientDependencyServiceAccessPermissionException, botocore's
# cloudtrail model; the CloudTrail user guide lists iam:CreateServiceLinkedRole and iam:GetRole for organization
# trails and delegated administrators). The policy grants them for CloudTrail's service-linked role only.
IMPLIED = {"cloudtrail:CreateTrail": {"iam:CreateServiceLinkedRole", "iam:GetRole"}}


def _operations(service: str) -> set[str]:
    return set(botocore.session.get_session().get_service_model(service).operation_names)


def actions_in_code(member_role: bool = False) -> set[str]:
    """The operator's actions; with ``member_role``, those made through the member accounts' role instead."""
    account_ops = {xform_name(op): op for op in _operations("account")}
    sqs_ops = {xform_name(op): op for op in _operations("sqs")}
    sts_ops = {xform_name(op): op for op in _operations("sts")}
    iam_ops = {xform_name(op): op for op in _operations("iam")}
    trail_ops = {xform_name(op): op for op in _operations("cloudtrail")}
    logging_ops = {**{xform_name(op): f"config:{op}" for op in _operations("config")},
                   **{xform_name(op): f"s3:{S3_ACTIONS.get(op, op)}" for op in _operations("s3")},
                   **{xform_name(op): f"iam:{op}" for op in _operations("iam")}}
    found: set[str] = set()
    through_member_role: set[str] = set()
    for path in sorted((ROOT / "controller" / "aws").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            name = node.func.attr
            receiver = node.func.value
            if name in PLUMBING and isinstance(receiver, ast.Name) and receiver.id == "self":
                first = node.args[0] if node.args else None
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    found.add(f"{PLUMBING[name]}:{first.value}")
            elif name in account_ops:
                found.add(f"account:{account_ops[name]}")
            elif name in sqs_ops and path.name == "events.py":
                found.add(f"sqs:{sqs_ops[name].removesuffix('Batch')}")
            elif name in sts_ops and path.name == "member.py":
                found.add(f"sts:{sts_ops[name]}")
            elif name in iam_ops and path.name == "member.py":
                through_member_role.add(f"iam:{iam_ops[name]}")
            elif name in trail_ops and path.name == "central_logging.py":
                found.add(f"cloudtrail:{trail_ops[name]}")
            elif name in logging_ops and path.name == "central_logging.py":
                through_member_role.add(logging_ops[name])
    if member_role:
        return through_member_role
    return found | {extra for action in found for extra in IMPLIED.get(action, set())}


def actions_in_policy() -> set[str]:
    policy = json.loads(POLICY.read_text())
    assert policy["Version"] == "2012-10-17"
    granted: set[str] = set()
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow", statement
        assert set(statement) <= {"Sid", "Effect", "Action", "Resource", "Condition"}, "no NotAction/NotResource"
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        for action in actions:
            assert "*" not in action and "?" not in action, f"no wildcard actions: {action}"
            granted.add(action)
    return granted


def test_derivation_finds_the_gateway_operations() -> None:
    found = actions_in_code()
    # The snapshot read and the OrgUnit writes exist since the first commit: the derivation works.
    assert {"organizations:DescribeOrganization", "organizations:ListRoots",
            "organizations:CreateOrganizationalUnit", "organizations:ListTagsForResource",
            "sqs:ReceiveMessage", "sqs:DeleteMessage", "sts:AssumeRole"} <= found
    assert {"iam:GetRole", "iam:CreateRole", "iam:UpdateAssumeRolePolicy"} <= actions_in_code(member_role=True)


def test_every_operation_exists_in_botocore() -> None:
    known = {f"organizations:{op}" for op in _operations("organizations")}
    known |= {f"account:{op}" for op in _operations("account")}
    known |= {f"sqs:{op}" for op in _operations("sqs")}
    known |= {f"sts:{op}" for op in _operations("sts")}
    known |= {f"iam:{op}" for op in _operations("iam")}
    known |= {f"cloudtrail:{op}" for op in _operations("cloudtrail")}
    known |= {f"config:{op}" for op in _operations("config")}
    known |= {f"s3:{S3_ACTIONS.get(op, op)}" for op in _operations("s3")}
    unknown = (actions_in_code() | actions_in_code(member_role=True)) - known - set().union(*IMPLIED.values())
    assert not unknown, f"not AWS operations (typo?): {sorted(unknown)}"


def test_policy_grants_exactly_what_the_code_calls() -> None:
    code, policy = actions_in_code(), actions_in_policy()
    missing = code - policy
    extra = policy - code
    assert not missing, f"deploy/iam-policy.json lacks {sorted(missing)} (the code calls them)"
    assert not extra, f"deploy/iam-policy.json grants {sorted(extra)}, which the code never calls"


def test_the_member_role_s_calls_are_named_in_the_operating_guide_not_granted_to_the_operator() -> None:
    member = actions_in_code(member_role=True)
    implied = set().union(*IMPLIED.values())  # in the management account, for CloudTrail's service-linked role
    assert not (member & actions_in_policy()) - implied, "IAM in member accounts is the member role's"
    guide = (ROOT / "docs" / "operating.md").read_text()
    missing = sorted(a for a in member if f"`{a}`" not in guide)
    assert not missing, f"docs/operating.md does not name what the member role must allow: {missing}"
