"""The sandbox applies SCPs and RCPs to every call as AWS does (controller/sandbox/scp.py), each rule from AWS's pages.

Quoted: AWS Organizations user guide, "SCP evaluation": "For a permission to be allowed for a specific account,
there must be an explicit Allow statement at every level from the root through each OU in the direct path to the
account (including the target account itself)"; "SCPs don't affect users or roles in the management account";
"SCPs do not affect any service-linked role". IAM user guide, "Condition operators": "If the key that you specify
in a policy condition is not present in the request context, the values do not match and the condition is false.
If the policy condition requires that the key is not matched, such as StringNotLike or ArnNotLike, and the right
key is not present, the condition is true." IAM user guide, "Troubleshoot access denied error messages": "with an
explicit deny in a type policy" / "because no type policy allows the action action".
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from controller.sandbox import scp
from controller.sandbox.aws import AwsSandbox

ROLE = "arn:aws:iam::222233334444:role/OrganizationAccountAccessRole"


def _request(action: str = "config:PutConfigurationRecorder", region: str = "ap-south-1",
             principal: str = ROLE, **extra: list[str]) -> scp.Request:
    context = {"aws:RequestedRegion": [region], "aws:PrincipalArn": [principal],
               "aws:PrincipalOrgID": ["o-abcdefghij"], "aws:SecureTransport": ["true"], **extra}
    return scp.Request(action, "*", "222233334444", principal, principal, context)


def _statement(condition: dict[str, Any]) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": condition}


# ------------------------------------------------------------------------------ condition operators (table)

@pytest.mark.parametrize(("condition", "applies"), [
    # the example's region guardrail: a region outside the list is denied, one inside is not
    ({"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}}, True),
    ({"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "ap-south-1"]}}, False),
    ({"StringEquals": {"aws:RequestedRegion": "ap-south-1"}}, True),
    ({"StringEqualsIgnoreCase": {"aws:RequestedRegion": "AP-SOUTH-1"}}, True),
    ({"StringNotEqualsIgnoreCase": {"aws:RequestedRegion": "AP-SOUTH-1"}}, False),
    ({"StringLike": {"aws:RequestedRegion": "ap-*"}}, True),
    ({"StringLike": {"aws:RequestedRegion": "ap-south-?"}}, True),
    ({"StringLike": {"aws:RequestedRegion": "AP-*"}}, False),  # StringLike is case-sensitive
    ({"StringNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/OrganizationAccountAccessRole"}}, False),
    ({"StringNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/Other"}}, True),
    ({"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/OrganizationAccountAccessRole"}}, False),
    ({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::222233334444:role/*"}}, True),
    ({"ArnEquals": {"aws:PrincipalArn": "arn:aws:iam::*:role/Organization*"}}, True),
    ({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*"}}, False),  # six components, checked one by one
    ({"StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}}, True),
    ({"StringNotEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}}, False),
    # a key absent from the request: false, except for negated operators, ...IfExists and Null
    ({"StringEquals": {"aws:SourceAccount": "222233334444"}}, False),
    ({"StringNotEquals": {"aws:SourceAccount": "222233334444"}}, True),
    ({"StringEqualsIfExists": {"aws:SourceAccount": "111111111111"}}, True),
    ({"Null": {"aws:SourceAccount": "true"}}, True),
    ({"Null": {"aws:SourceAccount": "false"}}, False),
    ({"Null": {"aws:PrincipalArn": "true"}}, False),
    ({"Bool": {"aws:SecureTransport": "false"}}, False),
    ({"Bool": {"aws:SecureTransport": True}}, True),
    # ForAnyValue: false when the key is absent; ForAllValues: true when it is absent
    ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["a"]}}, False),
    ({"ForAllValues:StringEquals": {"aws:TagKeys": ["a"]}}, True),
    # several keys and operators: all must hold
    ({"StringNotEquals": {"aws:RequestedRegion": "us-east-1"},
      "ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/OrganizationAccountAccessRole"}}, False),
    ({"StringNotEquals": {"aws:RequestedRegion": "us-east-1"},
      "ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/Other"}}, True),
    # an operator the sandbox does not evaluate makes the statement not apply
    ({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, False),
])
def test_condition_operators(condition: dict[str, Any], applies: bool) -> None:
    assert scp.statement_applies(_statement(condition), _request()) is applies


@pytest.mark.parametrize(("tags", "operator", "applies"), [
    (["a", "b"], "ForAnyValue:StringEquals", True),
    (["c", "d"], "ForAnyValue:StringEquals", False),
    (["a", "b"], "ForAllValues:StringEquals", True),
    (["a", "c"], "ForAllValues:StringEquals", False),
    (["a", "c"], "ForAnyValue:StringNotEquals", True),
    (["a", "b"], "ForAllValues:StringNotEquals", False),
])
def test_set_operators_on_a_multivalued_key(tags: list[str], operator: str, applies: bool) -> None:
    condition = {operator: {"aws:TagKeys": ["a", "b"]}}
    assert scp.statement_applies(_statement(condition), _request(**{"aws:TagKeys": tags})) is applies


@pytest.mark.parametrize(("stmt", "action", "applies"), [
    ({"Effect": "Deny", "NotAction": ["iam:*", "sts:*"], "Resource": "*"}, "config:PutConfigurationRecorder", True),
    ({"Effect": "Deny", "NotAction": ["iam:*", "sts:*"], "Resource": "*"}, "iam:CreateRole", False),
    ({"Effect": "Deny", "Action": "IAM:create*", "Resource": "*"}, "iam:CreateRole", True),  # actions: any case
    ({"Effect": "Deny", "Action": "iam:*Role", "Resource": "*"}, "iam:CreateRole", True),  # mid-string wildcard
    ({"Effect": "Deny", "Action": "cloudtrail:*", "Resource": "*"}, "iam:CreateRole", False),
])
def test_action_and_notaction(stmt: dict[str, Any], action: str, applies: bool) -> None:
    assert scp.statement_applies(stmt, _request(action)) is applies


# ------------------------------------------------------------------------------ levels: allow at every level

FULL = scp.Attached("p-FullAWSAccess", None, {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
DENY_CONFIG = scp.Attached("p-denyconfig", "arn:aws:organizations::111111111111:policy/o-x/service_control_policy/"
                           "p-denyconfig", {"Statement": [{"Effect": "Deny", "Action": "config:*", "Resource": "*"}]})
ALLOW_IAM = scp.Attached("p-allowiam", None, {"Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}]})


def test_an_allow_list_must_allow_at_every_level() -> None:
    request = _request("config:PutConfigurationRecorder")
    assert scp.evaluate(scp.SCP, [[FULL], [FULL], [FULL]], request) is None
    # an OU whose only SCP allows IAM: Config is implicitly denied although the root and the account allow all
    denied = scp.evaluate(scp.SCP, [[FULL], [ALLOW_IAM], [FULL]], request)
    assert denied is not None and not denied.explicit
    assert denied.message(request) == (f"User: {ROLE} is not authorized to perform: config:PutConfigurationRecorder"
                                       " because no service control policy allows the "
                                       "config:PutConfigurationRecorder action")
    assert scp.evaluate(scp.SCP, [[FULL], [ALLOW_IAM], [FULL]], _request("iam:CreateRole")) is None


def test_a_deny_at_any_level_wins_and_names_the_policy() -> None:
    request = _request()
    denied = scp.evaluate(scp.SCP, [[FULL], [FULL], [FULL, DENY_CONFIG]], request)
    assert denied is not None and denied.explicit and denied.policy_id == "p-denyconfig"
    assert denied.message(request) == (f"User: {ROLE} is not authorized to perform: config:PutConfigurationRecorder"
                                       " with an explicit deny in a service control policy: "
                                       f"{DENY_CONFIG.arn}")


# ------------------------------------------------------------------------------ over the wire, in the sandbox

REGION_GUARDRAIL = {"Version": "2012-10-17", "Statement": [{
    "Sid": "DenyOutsideApprovedRegions", "Effect": "Deny", "NotAction": ["iam:*", "organizations:*", "sts:*"],
    "Resource": "*", "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}}}]}


def _member_under_ou(aws: AwsSandbox) -> tuple[str, str]:
    org = aws.client()
    root = org.list_roots()["Roots"][0]["Id"]
    org.enable_policy_type(RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
    ou = org.create_organizational_unit(ParentId=root, Name="Non-Production")["OrganizationalUnit"]["Id"]
    request = org.create_account(AccountName="Member", Email="member@example.com")["CreateAccountStatus"]
    account = org.describe_create_account_status(CreateAccountRequestId=request["Id"])["CreateAccountStatus"][
        "AccountId"]
    org.move_account(AccountId=account, SourceParentId=root, DestinationParentId=ou)
    return ou, str(account)


def _attach(aws: AwsSandbox, target: str, document: dict[str, Any], name: str = "guardrail") -> str:
    org = aws.client()
    policy = org.create_policy(Name=name, Description="", Type="SERVICE_CONTROL_POLICY",
                               Content=json.dumps(document))["Policy"]["PolicySummary"]
    org.attach_policy(PolicyId=policy["Id"], TargetId=target)
    return str(policy["Id"])


def _member(aws: AwsSandbox, service: str, account: str, region: str) -> Any:
    client = aws.member_client(service, account)
    return aws_client_in(client, region)


def aws_client_in(client: Any, region: str) -> Any:
    import boto3

    creds = client._request_signer._credentials  # the member role's session credentials
    session = boto3.session.Session(aws_access_key_id=creds.access_key, aws_secret_access_key=creds.secret_key,
                                    aws_session_token=creds.token, region_name=region)
    return session.client(client.meta.service_model.service_name, endpoint_url=client.meta.endpoint_url)


def test_the_region_guardrail_denies_config_outside_its_regions_and_names_the_scp(aws: AwsSandbox) -> None:
    ou, account = _member_under_ou(aws)
    policy_id = _attach(aws, ou, REGION_GUARDRAIL)
    config = _member(aws, "config", account, "ap-south-1")
    with pytest.raises(ClientError) as refused:
        config.describe_configuration_recorders()
    error = refused.value.response["Error"]
    assert error["Code"] == "AccessDeniedException"
    assert error["Message"].startswith(f"User: arn:aws:sts::{account}:assumed-role/OrganizationAccountAccessRole/"
                                       "test is not authorized to perform: config:DescribeConfigurationRecorders")
    assert "with an explicit deny in a service control policy: arn:aws:organizations::" in error["Message"]
    assert error["Message"].endswith(f"/service_control_policy/{policy_id}")
    # inside the list, and IAM (exempted by NotAction) anywhere: allowed
    _member(aws, "config", account, "eu-west-1").describe_configuration_recorders()
    aws.member_client("iam", account).list_roles()


def test_an_iam_deny_refuses_iam_in_the_query_protocol_unless_the_role_is_exempted(aws: AwsSandbox) -> None:
    ou, account = _member_under_ou(aws)
    deny = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "iam:*", "Resource": "*"}]}
    policy_id = _attach(aws, ou, deny)
    iam = aws.member_client("iam", account)
    with pytest.raises(ClientError) as refused:
        iam.get_role(RoleName="OrganizationAccountAccessRole")
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert (f"iam:GetRole on resource: arn:aws:iam::{account}:role/OrganizationAccountAccessRole with an explicit "
            "deny in a service control policy") in refused.value.response["Error"]["Message"]
    exempt = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Action": "iam:*", "Resource": "*",
        "Condition": {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/OrganizationAccountAccessRole"}}}]}
    aws.client().update_policy(PolicyId=policy_id, Content=json.dumps(exempt))
    assert iam.get_role(RoleName="OrganizationAccountAccessRole")["Role"]["RoleName"]


def test_s3_is_refused_in_its_own_shape(aws: AwsSandbox) -> None:
    ou, account = _member_under_ou(aws)
    _attach(aws, ou, {"Version": "2012-10-17",
                      "Statement": [{"Effect": "Deny", "Action": "s3:CreateBucket", "Resource": "*"}]})
    with pytest.raises(ClientError) as refused:
        aws.member_client("s3", account).create_bucket(Bucket="logs-member")
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    assert "s3:CreateBucket on resource: arn:aws:s3:::logs-member with an explicit deny" in \
        refused.value.response["Error"]["Message"]


def test_removing_fullawsaccess_from_the_ou_denies_everything_implicitly(aws: AwsSandbox) -> None:
    ou, account = _member_under_ou(aws)
    org = aws.client()
    _attach(aws, ou, {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
    org.detach_policy(PolicyId="p-FullAWSAccess", TargetId=ou)
    iam = aws.member_client("iam", account)
    with pytest.raises(ClientError) as refused:
        iam.list_roles()
    assert refused.value.response["Error"]["Message"].endswith(
        "because no service control policy allows the iam:ListRoles action")
    aws.member_client("s3", account).list_buckets()  # allowed at every level


def test_the_management_account_and_disabled_policy_types_are_never_subject(aws: AwsSandbox) -> None:
    org = aws.client()
    root = org.list_roots()["Roots"][0]["Id"]
    request = org.create_account(AccountName="Member", Email="member@example.com")["CreateAccountStatus"]
    account = org.describe_create_account_status(CreateAccountRequestId=request["Id"])["CreateAccountStatus"][
        "AccountId"]
    iam = aws.member_client("iam", account)
    org.enable_policy_type(RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
    policy_id = _attach(aws, root, {"Version": "2012-10-17",
                                    "Statement": [{"Effect": "Deny", "Action": "iam:*", "Resource": "*"}]})
    aws.service_client("iam").list_roles()  # the management account: never subject to SCPs
    with pytest.raises(ClientError):
        iam.list_roles()
    org.detach_policy(PolicyId=policy_id, TargetId=root)
    org.disable_policy_type(RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
    assert iam.list_roles()["Roles"]


def test_service_linked_roles_are_exempt() -> None:
    slr = "arn:aws:iam::222233334444:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"
    assert scp._service_linked(slr)
    assert not scp._service_linked(ROLE)


def test_an_rcp_on_the_member_account_governs_assumerole_into_it(aws: AwsSandbox) -> None:
    """RCPs apply to requests on a member account's resources whoever makes them (the management account too)."""
    org = aws.client()
    root = org.list_roots()["Roots"][0]["Id"]
    request = org.create_account(AccountName="Member", Email="member@example.com")["CreateAccountStatus"]
    account = org.describe_create_account_status(CreateAccountRequestId=request["Id"])["CreateAccountStatus"][
        "AccountId"]
    org.enable_policy_type(RootId=root, PolicyType="RESOURCE_CONTROL_POLICY")
    aws.member_client("iam", account)  # RCPFullAWSAccess everywhere: admitted
    outsiders_only = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRole", "Resource": "*",
        "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-someoneelse"}}}]}
    policy = org.create_policy(Name="sts-perimeter", Description="", Type="RESOURCE_CONTROL_POLICY",
                               Content=json.dumps(outsiders_only))["Policy"]["PolicySummary"]
    org.attach_policy(PolicyId=policy["Id"], TargetId=account)
    with pytest.raises(ClientError) as refused:
        aws.member_client("iam", account)
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    assert refused.value.response["Error"]["Message"].endswith(
        f"with an explicit deny in a resource control policy: {policy['Arn']}")
    perimeter = {"Version": "2012-10-17", "Statement": [{
        **outsiders_only["Statement"][0],  # type: ignore[index]
        "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": aws.ids["organization_id"]}}}]}
    org.update_policy(PolicyId=policy["Id"], Content=json.dumps(perimeter))
    aws.member_client("iam", account)  # the organization's own principals pass the perimeter
