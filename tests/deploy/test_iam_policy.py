"""deploy/iam-policy.json grants exactly the AWS API operations the code calls.

How the operations are derived from controller/aws/**/*.py (kept simple on purpose):

- AWS Organizations: every call goes through the gateway's plumbing, so the operation is the string
  literal passed as first argument to ``self._call(...)``, ``self._pages(...)`` or ``self._call_done_if(...)``
  ->  ``organizations:<Operation>``;
- IAM in the management account (centralized root access): the string literal passed first to
  ``self._call_iam(...)`` ->  ``iam:<Operation>``;
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
  operator's own credentials). Calls named after operations of the ``s3``, ``config``, ``iam`` and ``kms`` (the log
  bucket's key policy) models are made
  with the member role's credentials in the log archive and member accounts: like IAM above, that role's, named
  in docs/operating.md. S3's IAM actions are not all named like its operations (Service Authorization Reference,
  "Actions defined by Amazon S3"): ``S3_ACTIONS`` maps the ones that differ.

All are checked against botocore's service models (shipped with botocore, offline), so a typo in an
operation name fails too. IAM action names equal API operation names for these services.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import botocore.session
from botocore import xform_name

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "deploy" / "iam-policy.json"
PLUMBING = {"_call": "organizations", "_pages": "organizations", "_call_done_if": "organizations",
            "_call_account": "account", "_call_iam": "iam"}


S3_ACTIONS = {"ListBuckets": "ListAllMyBuckets", "GetBucketEncryption": "GetEncryptionConfiguration",
              "PutBucketEncryption": "PutEncryptionConfiguration", "GetPublicAccessBlock": "GetBucketPublicAccessBlock",
              "PutPublicAccessBlock": "PutBucketPublicAccessBlock",
              "GetBucketLifecycleConfiguration": "GetLifecycleConfiguration",
              "PutBucketLifecycleConfiguration": "PutLifecycleConfiguration",
              "DeleteBucketLifecycle": "PutLifecycleConfiguration",
              "GetObjectLockConfiguration": "GetBucketObjectLockConfiguration",
              "PutObjectLockConfiguration": "PutBucketObjectLockConfiguration"}


# Permissions AWS checks on the caller beyond the call's own action. CreateTrail of an organization trail creates
# CloudTrail's service-linked role in the management account: "This exception is thrown when the IAM identity that is
# used to create the organization resource lacks one or more required permissions for creating an organization
# resource in a required service" (CreateTrail's InsufficientDependencyServiceAccessPermissionException, botocore's
# cloudtrail model; the CloudTrail user guide lists iam:CreateServiceLinkedRole and iam:GetRole for organization
# trails and delegated administrators). The policy grants them for CloudTrail's service-linked role only.
IMPLIED = {"cloudtrail:CreateTrail": {"iam:CreateServiceLinkedRole", "iam:GetRole"}}


def _operations(service: str) -> set[str]:
    return set(botocore.session.get_session().get_service_model(service).operation_names)


def _method_references(tree: ast.AST) -> list[tuple[ast.Call, str, ast.expr]]:
    """(call, method name, receiver) for every ``x.name(...)`` call, and for every ``x.name`` passed as an argument
    to a call (``functools.partial(iam.list_attached_role_policies, **args)`` calls it later), ``self.`` excluded."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Attribute):
            found.append((node, node.func.attr, node.func.value))
        for arg in node.args:
            if isinstance(arg, ast.Attribute) and not (isinstance(arg.value, ast.Name) and arg.value.id == "self"):
                found.append((node, arg.attr, arg.value))
    return found


def actions_in_code(member_role: bool = False) -> set[str]:
    """The operator's actions; with ``member_role``, those made through the member accounts' role instead."""
    account_ops = {xform_name(op): op for op in _operations("account")}
    sqs_ops = {xform_name(op): op for op in _operations("sqs")}
    sts_ops = {xform_name(op): op for op in _operations("sts")}
    iam_ops = {xform_name(op): op for op in _operations("iam")}
    trail_ops = {xform_name(op): op for op in _operations("cloudtrail")}
    logging_ops = {**{xform_name(op): f"config:{op}" for op in _operations("config")},
                   **{xform_name(op): f"s3:{S3_ACTIONS.get(op, op)}" for op in _operations("s3")},
                   **{xform_name(op): f"iam:{op}" for op in _operations("iam")},
                   **{xform_name(op): f"kms:{op}" for op in _operations("kms")}}
    found: set[str] = set()
    through_member_role: set[str] = set()
    for path in sorted((ROOT / "controller" / "aws").rglob("*.py")):
        for node, name, receiver in _method_references(ast.parse(path.read_text(), filename=str(path))):
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


def actions_in_policy(path: Path = POLICY) -> set[str]:
    policy = json.loads(path.read_text())
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
    known |= {f"kms:{op}" for op in _operations("kms")}
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


# ------------------------------------------------------------------------------------------ conditions

MEMBER_POLICY = ROOT / "deploy" / "member-role-policy.json"
TRUST_POLICY = ROOT / "deploy" / "irsa-trust-policy.json"

# Condition keys AWS evaluates for these Organizations actions: Service Authorization Reference, "Actions,
# resources, and condition keys for AWS Organizations" (docs.aws.amazon.com/service-authorization/latest/reference/
# list_awsorganizations.html, read 2026-12-07): the Condition keys column names organizations:PolicyType for the
# policy actions and organizations:ServicePrincipal for trusted access and delegated administrators. The other
# writes the operator makes (OUs, accounts, tags, handshakes, EnableAllFeatures) have no service-specific key
# there, only aws:RequestTag/aws:TagKeys/aws:ResourceTag, which do not name what the operator may touch.
CONDITION_KEYS = {
    "organizations:AttachPolicy": "organizations:PolicyType",
    "organizations:CreatePolicy": "organizations:PolicyType",
    "organizations:DeletePolicy": "organizations:PolicyType",
    "organizations:DetachPolicy": "organizations:PolicyType",
    "organizations:UpdatePolicy": "organizations:PolicyType",
    "organizations:EnablePolicyType": "organizations:PolicyType",
    "organizations:DisablePolicyType": "organizations:PolicyType",
    "organizations:EnableAWSServiceAccess": "organizations:ServicePrincipal",
    "organizations:RegisterDelegatedAdministrator": "organizations:ServicePrincipal",
    "organizations:DeregisterDelegatedAdministrator": "organizations:ServicePrincipal",
}
# CloudTrail actions without resource-level permissions (same reference, "Actions defined by AWS CloudTrail": no
# resource type for DescribeTrails); every other CloudTrail action the operator makes names the trail.
CLOUDTRAIL_WITHOUT_RESOURCE = {"cloudtrail:DescribeTrails"}
# Writes on no resource type and with no condition key of their own: the Account Management API's rename of a member
# account, and IAM's centralized root access features of the organization (Service Authorization Reference,
# "Actions defined by AWS Identity and Access Management": no resource type and no condition key for
# EnableOrganizationsRootCredentialsManagement, EnableOrganizationsRootSessions and the two Disable actions; the
# IAM API reference: they take no parameters, read 2026-12-07).
NO_RESOURCE_NOR_KEY = {"account:PutAccountName", "iam:EnableOrganizationsRootCredentialsManagement",
                       "iam:EnableOrganizationsRootSessions", "iam:DisableOrganizationsRootCredentialsManagement",
                       "iam:DisableOrganizationsRootSessions"}
# Reads of every trail of the management account: with AWSORG_EVENTS_QUEUE_URL the Organization looks for the trail
# that records AWS Organizations' calls (docs/operating.md, "Drift in seconds"), which need not be the declared one.
CLOUDTRAIL_READS = {"cloudtrail:GetTrailStatus", "cloudtrail:GetEventSelectors"}
# Delegated administration the operator's own role may never register or deregister, whatever Git says: the
# Account Management service's administrator can change member accounts' root email (issue 19).
NEVER_DELEGATED = {"account.amazonaws.com"}


def _statements(path: Path) -> dict[str, list[dict[str, Any]]]:
    """action -> the statements granting it."""
    out: dict[str, list[dict[str, Any]]] = {}
    for statement in json.loads(path.read_text())["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        for action in actions:
            out.setdefault(action, []).append(statement)
    return out


def _one(path: Path, action: str) -> dict[str, Any]:
    (statement,) = _statements(path)[action]
    return statement


def _resources(statement: dict[str, Any]) -> list[str]:
    resource = statement["Resource"]
    return resource if isinstance(resource, list) else [resource]


def _values(statement: dict[str, Any], operator: str, key: str) -> set[str]:
    value = statement.get("Condition", {}).get(operator, {}).get(key)
    assert value is not None, f"{statement['Sid']}: no {operator} condition on {key}"
    return set(value) if isinstance(value, list) else {value}


def test_assume_role_only_into_the_member_role_in_this_organization() -> None:
    from controller.aws.member import DEFAULT_MEMBER_ROLE

    statement = _one(POLICY, "sts:AssumeRole")
    assert _resources(statement) == [f"arn:aws:iam::*:role/{DEFAULT_MEMBER_ROLE}"]
    # aws:ResourceOrgID is the organization of the account that owns the role: only roles inside the caller's own
    # organization (IAM User Guide, "AWS global condition context keys").
    assert _values(statement, "StringEquals", "aws:ResourceOrgID") == {"${aws:PrincipalOrgID}"}
    deployment = (ROOT / "deploy" / "deployment.yaml").read_text()
    assert f"value: {DEFAULT_MEMBER_ROLE}" in deployment, "AWSORG_MEMBER_ROLE_NAME and the policy name one role"


def test_cloudtrail_writes_only_on_the_declared_trail() -> None:
    from controller.api.models import CloudTrailSettings

    trail = CloudTrailSettings.model_fields["trail_name"].default
    ours = {a for a in actions_in_code() if a.startswith("cloudtrail:")}
    assert ours, "the derivation finds the CloudTrail calls"
    for action in ours:
        resources = _resources(_one(POLICY, action))
        if action in CLOUDTRAIL_WITHOUT_RESOURCE:
            assert resources == ["*"], action
        elif action in CLOUDTRAIL_READS:
            assert resources == ["arn:aws:cloudtrail:*:111111111111:trail/*"], (action, resources)
        else:
            assert resources == [f"arn:aws:cloudtrail:*:111111111111:trail/{trail}"], (action, resources)


def test_organizations_writes_carry_the_condition_aws_supports() -> None:
    from typing import get_args

    from controller.api import limits
    from controller.api.models import POLICY_TYPES, ManagementPolicySpec, ServiceControlPolicySpec

    written_types = set(get_args(ServiceControlPolicySpec.model_fields["type"].annotation)) | set(
        get_args(ManagementPolicySpec.model_fields["type"].annotation))
    expected = {
        "organizations:PolicyType": written_types,
        "organizations:ServicePrincipal": set(limits.DELEGATED_ADMIN_PRINCIPALS) - NEVER_DELEGATED,
    }
    for action, key in CONDITION_KEYS.items():
        assert action in actions_in_code(), f"{action}: the code no longer calls it; drop it from CONDITION_KEYS"
        statement = _one(POLICY, action)
        if action in ("organizations:EnablePolicyType", "organizations:DisablePolicyType"):
            assert _values(statement, "StringEquals", key) == set(POLICY_TYPES), action  # Organization.policyTypes
        elif action == "organizations:EnableAWSServiceAccess":
            # trustedServices is any AWS service principal (no list in the code to bind it to)
            assert _values(statement, "StringLike", key) == {"*.amazonaws.com"}, action
        else:
            assert _values(statement, "StringEquals", key) == expected[key], action


def test_a_write_on_every_resource_has_a_condition_or_no_key_to_have() -> None:
    """A statement granting a write on ``*`` carries a condition, unless AWS offers no key that would narrow it."""
    reads = ("Describe", "List", "Get", "ReceiveMessage")
    for action, statements in _statements(POLICY).items():
        operation = action.split(":")[1]
        for statement in statements:
            if operation.startswith(reads) or _resources(statement) != ["*"] or "Condition" in statement:
                continue
            assert action.startswith("organizations:") or action in NO_RESOURCE_NOR_KEY, action
            assert action not in CONDITION_KEYS, f"{action} on * without its {CONDITION_KEYS.get(action)} condition"


def test_member_role_policy_grants_exactly_what_the_member_role_is_used_for() -> None:
    code, policy = actions_in_code(member_role=True), actions_in_policy(MEMBER_POLICY)
    assert not code - policy, f"deploy/member-role-policy.json lacks {sorted(code - policy)} (the code calls them)"
    assert not policy - code, f"deploy/member-role-policy.json grants {sorted(policy - code)}, never called"


def test_member_role_policy_names_the_roles_and_the_bucket_it_works_on() -> None:
    """IAM on the access role and the aggregator's role only, S3 on the log bucket only (the examples' names: an
    installation puts its own ``accessRole.roleName`` and ``centralLogging.bucketName``, docs/operating.md)."""
    import yaml

    from controller.aws.central_logging import AGGREGATOR_ROLE, CONFIG_PRINCIPAL

    spec = yaml.safe_load((ROOT / "examples" / "00-organization.yaml").read_text())["spec"]
    for action in actions_in_code(member_role=True):
        resources = _resources(_one(MEMBER_POLICY, action))
        if action == "iam:GetAccountSummary":  # the account's summary: no resource type (Service Authorization
            assert resources == ["*"]           # Reference, "Actions defined by IAM", read 2026-12-07)
        elif action == "iam:CreateServiceLinkedRole":
            statement = _one(MEMBER_POLICY, action)
            assert _values(statement, "StringEquals", "iam:AWSServiceName") == {CONFIG_PRINCIPAL}
            assert resources == [f"arn:aws:iam::*:role/aws-service-role/{CONFIG_PRINCIPAL}/AWSServiceRoleForConfig"]
        elif action.startswith("iam:"):
            assert set(resources) == {f"arn:aws:iam::*:role/{spec['accessRole']['roleName']}",
                                      f"arn:aws:iam::*:role/{AGGREGATOR_ROLE}"}, action
        elif action == "s3:ListAllMyBuckets":
            assert resources == ["*"]
        elif action.startswith("s3:"):
            assert resources == [f"arn:aws:s3:::{spec['centralLogging']['bucketName']}"], action


def test_irsa_trust_policy_admits_the_operator_s_service_account_only() -> None:
    from tests.deploy.kustomize import render

    objects = render(ROOT / "deploy")
    (sa,) = [o for o in objects if o["kind"] == "ServiceAccount"]
    (deployment,) = [o for o in objects if o["kind"] == "Deployment"]
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == sa["metadata"]["name"]
    policy = json.loads(TRUST_POLICY.read_text())
    (statement,) = policy["Statement"]
    assert statement["Effect"] == "Allow" and statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    provider = statement["Principal"]["Federated"]
    account, issuer = re.fullmatch(r"arn:aws:iam::(\d{12}):oidc-provider/(.+)", provider).groups()  # type: ignore
    conditions = statement["Condition"]["StringEquals"]
    assert conditions == {
        f"{issuer}:sub": f"system:serviceaccount:{sa['metadata']['namespace']}:{sa['metadata']['name']}",
        f"{issuer}:aud": "sts.amazonaws.com",
    }
    # The role the ServiceAccount names lives in the account of the cluster's OIDC provider (one account: IRSA
    # straight into the management account; see docs/operating.md for a cluster elsewhere).
    role_arn = sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
    assert role_arn.split(":")[4] == account


# ------------------------------------------------------------------------------------------ the plan's roles

PLAN_POLICY = ROOT / "deploy" / "plan-policy.json"
PLAN_MEMBER_POLICY = ROOT / "deploy" / "plan-member-policy.json"  # AWSORG_PLAN_MEMBER_ROLE_NAME's policy
PLAN_ROLE = "AwsorgPlanReadOnly"  # that role, as docs/examples/github-workflow.yaml names it
READS = ("Describe", "List", "Get")


def test_plan_policies_grant_exactly_the_reads_the_code_makes() -> None:
    """`awsorg plan` is the engine's dry run through the same gateway: it makes the operator's reads and no write.
    Its management-account policy is the reads of iam-policy.json and AssumeRole into the read-only member role
    (never the operator's); that role's policy is the member role's reads."""
    implied = set().union(*IMPLIED.values())  # CloudTrail's service-linked role: never read by a plan
    reads = {a for a in actions_in_code() if a.split(":")[1].startswith(READS) and a not in implied}
    assert actions_in_policy(PLAN_POLICY) == reads | {"sts:AssumeRole"}
    member_reads = {a for a in actions_in_code(member_role=True) if a.split(":")[1].startswith(READS)}
    assert member_reads >= {"iam:GetRole", "iam:ListAttachedRolePolicies", "config:DescribeDeliveryChannels"}
    assert actions_in_policy(PLAN_MEMBER_POLICY) == member_reads
    statement = _one(PLAN_POLICY, "sts:AssumeRole")
    assert _resources(statement) == [f"arn:aws:iam::*:role/{PLAN_ROLE}"]
    assert _values(statement, "StringEquals", "aws:ResourceOrgID") == {"${aws:PrincipalOrgID}"}
    workflow = (ROOT / "docs" / "examples" / "github-workflow.yaml").read_text()
    assert f"role/{PLAN_ROLE}" in workflow and "deploy/plan-policy.json" in workflow
