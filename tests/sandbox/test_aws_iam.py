"""The sandbox's IAM refuses a trust policy whose AWS principal IAM could not resolve, as IAM does (moto stores any
string): MalformedPolicyDocument "Invalid principal in policy" from CreateRole and UpdateAssumeRolePolicy."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from controller.sandbox.aws import AwsSandbox
from tests.sandbox.test_aws_sts import _new_account

MGMT = "123456789012"


def trust(*principals: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": list(principals)}, "Action": "sts:AssumeRole"}]})


@pytest.mark.parametrize(("principal", "accepted"), [
    (f"arn:aws:iam::{MGMT}:root", True),
    (MGMT, True),
    ("*", True),
    (f"arn:aws:iam::{MGMT}:role/ops", True),  # exists (made below)
    (f"arn:aws:iam::{MGMT}:role/teams/lead", True),  # with its path
    (f"arn:aws:iam::{MGMT}:role/lead", False),  # without it: another role, which does not exist
    (f"arn:aws:sts::{MGMT}:assumed-role/ops/alice", True),  # a role session: any session name
    (f"arn:aws:iam::{MGMT}:role/nobody", False),  # no such role
    (f"arn:aws:iam::{MGMT}:user/nobody", False),  # no such user
    (f"arn:aws:iam::{MGMT}:group/admins", False),  # a group is never a principal
    (f"arn:aws:iam::{MGMT}:role/op*", False),  # no wildcards in a principal's name
    ("arn:aws:iam::12345:root", False),  # not an account id
    ("ops", False),
])
def test_create_role_refuses_what_iam_cannot_resolve(aws: AwsSandbox, principal: str, accepted: bool) -> None:
    management = aws.service_client("iam")
    management.create_role(RoleName="ops", AssumeRolePolicyDocument=trust(f"arn:aws:iam::{MGMT}:root"))
    management.create_role(RoleName="lead", Path="/teams/", AssumeRolePolicyDocument=trust(f"arn:aws:iam::{MGMT}:root"))
    iam = aws.member_client("iam", _new_account(aws))
    if accepted:
        iam.create_role(RoleName="Engineer", AssumeRolePolicyDocument=trust(principal))
        return
    with pytest.raises(ClientError) as refused:
        iam.create_role(RoleName="Engineer", AssumeRolePolicyDocument=trust(f"arn:aws:iam::{MGMT}:root", principal))
    error: dict[str, Any] = refused.value.response["Error"]
    assert (refused.value.response["ResponseMetadata"]["HTTPStatusCode"], error["Code"], error["Message"]) == (
        400, "MalformedPolicyDocument", f'Invalid principal in policy: "AWS":"{principal}"')
    with pytest.raises(ClientError):
        iam.get_role(RoleName="Engineer")  # nothing was created


def test_update_assume_role_policy_refuses_too_and_keeps_the_old_policy(aws: AwsSandbox) -> None:
    iam = aws.member_client("iam", _new_account(aws))
    iam.create_role(RoleName="Engineer", AssumeRolePolicyDocument=trust(f"arn:aws:iam::{MGMT}:root"))
    with pytest.raises(ClientError) as refused:
        iam.update_assume_role_policy(RoleName="Engineer", PolicyDocument=trust(f"arn:aws:iam::{MGMT}:role/gone"))
    assert refused.value.response["Error"]["Code"] == "MalformedPolicyDocument"
    kept = iam.get_role(RoleName="Engineer")["Role"]["AssumeRolePolicyDocument"]
    assert kept["Statement"][0]["Principal"]["AWS"] == [f"arn:aws:iam::{MGMT}:root"]


def test_aws_managed_policies_are_attachable_in_every_account(aws: AwsSandbox) -> None:
    """As in AWS, arn:aws:iam::aws:policy/... exists in every account (moto has them only when told to load them
    all); a policy AWS does not have stays NoSuchEntity."""
    iam = aws.member_client("iam", _new_account(aws))
    iam.create_role(RoleName="Engineer", AssumeRolePolicyDocument=trust(f"arn:aws:iam::{MGMT}:root"))
    iam.attach_role_policy(RoleName="Engineer", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    iam.attach_role_policy(RoleName="Engineer", PolicyArn="arn:aws:iam::aws:policy/job-function/ViewOnlyAccess")
    attached = iam.list_attached_role_policies(RoleName="Engineer")["AttachedPolicies"]
    assert sorted(p["PolicyArn"] for p in attached) == ["arn:aws:iam::aws:policy/ReadOnlyAccess",
                                                       "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"]
    with pytest.raises(ClientError) as refused:
        iam.attach_role_policy(RoleName="Engineer", PolicyArn="arn:aws:iam::aws:policy/NoSuchPolicyAnywhere")
    assert refused.value.response["Error"]["Code"] == "NoSuchEntity"


def _iam_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def test_a_role_takes_ten_managed_policies(aws: AwsSandbox) -> None:
    """IAM user guide, "IAM and AWS STS quotas": managed policies attached to a role, 10 by default."""
    iam = aws.service_client("iam")
    iam.create_role(RoleName="Busy", AssumeRolePolicyDocument=trust(MGMT))
    arns = []
    for n in range(11):
        doc = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket",
                                                                  "Resource": "*"}]})
        arns.append(iam.create_policy(PolicyName=f"p{n}", PolicyDocument=doc)["Policy"]["Arn"])
    for arn in arns[:10]:
        iam.attach_role_policy(RoleName="Busy", PolicyArn=arn)
    iam.attach_role_policy(RoleName="Busy", PolicyArn=arns[0])  # attached already: not one more
    with pytest.raises(ClientError) as refused:
        iam.attach_role_policy(RoleName="Busy", PolicyArn=arns[10])
    assert _iam_code(refused) == "LimitExceeded"
    assert "PoliciesPerRole: 10" in refused.value.response["Error"]["Message"]
    assert len(iam.list_attached_role_policies(RoleName="Busy")["AttachedPolicies"]) == 10


def test_a_trust_policy_takes_2048_characters_white_space_not_counted(aws: AwsSandbox) -> None:
    iam = aws.service_client("iam")
    base = json.loads(trust(MGMT))

    def sized(length: int) -> str:
        doc = dict(base, Id="")
        doc["Id"] = "x" * (length - len(json.dumps(doc, separators=(",", ":"))))
        text = json.dumps(doc, separators=(",", ":"))
        assert len(text) == length
        return text

    iam.create_role(RoleName="Exact", AssumeRolePolicyDocument=sized(2048))
    iam.create_role(RoleName="Spaced", AssumeRolePolicyDocument=json.dumps(json.loads(sized(2048)), indent=8))
    with pytest.raises(ClientError) as refused:
        iam.create_role(RoleName="Long", AssumeRolePolicyDocument=sized(2049))
    assert _iam_code(refused) == "LimitExceeded" and "ACLSizePerRole: 2048" in refused.value.response["Error"][
        "Message"]
    with pytest.raises(ClientError) as refused:
        iam.update_assume_role_policy(RoleName="Exact", PolicyDocument=sized(2049))
    assert _iam_code(refused) == "LimitExceeded"


def test_create_service_linked_role_names_it_as_aws_and_answers_invalid_input_when_it_exists(
        aws: AwsSandbox) -> None:
    iam = aws.service_client("iam")
    role = iam.create_service_linked_role(AWSServiceName="config.amazonaws.com")["Role"]
    assert role["RoleName"] == "AWSServiceRoleForConfig"
    assert role["Path"] == "/aws-service-role/config.amazonaws.com/"
    with pytest.raises(ClientError) as refused:
        iam.create_service_linked_role(AWSServiceName="config.amazonaws.com")
    assert _iam_code(refused) == "InvalidInput"
    assert refused.value.response["Error"]["Message"] == (
        "Service role name AWSServiceRoleForConfig has been taken in this account, please try a different suffix.")


def _unvalidated_iam(aws: AwsSandbox) -> Any:
    """An IAM client that sends what it is given (boto3 refuses a MaxSessionDuration below 3600 itself)."""
    from botocore.config import Config

    from controller.sandbox.aws import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY
    return boto3.session.Session(aws_access_key_id=ACCESS_KEY_ID, aws_secret_access_key=SECRET_ACCESS_KEY,
                                 region_name=REGION).client("iam", endpoint_url=aws.url,
                                                            config=Config(parameter_validation=False))


@pytest.mark.parametrize(("seconds", "accepted"), [(3600, True), (43200, True), (7200, True), (3599, False),
                                                   (43201, False), (900, False)])
def test_max_session_duration_is_3600_to_43200_as_the_api_reference_says(
        aws: AwsSandbox, seconds: int, accepted: bool) -> None:
    """IAM API reference, CreateRole/UpdateRole MaxSessionDuration: "Valid Range: Minimum value of 3600. Maximum
    value of 43200" (ValidationError outside it); what is refused changes nothing."""
    iam = _unvalidated_iam(aws)
    if accepted:
        iam.create_role(RoleName="Engineer", AssumeRolePolicyDocument=trust(MGMT), MaxSessionDuration=seconds)
        assert iam.get_role(RoleName="Engineer")["Role"]["MaxSessionDuration"] == seconds
        iam.update_role(RoleName="Engineer", MaxSessionDuration=3600)
        assert iam.get_role(RoleName="Engineer")["Role"]["MaxSessionDuration"] == 3600
        return
    with pytest.raises(ClientError) as refused:
        iam.create_role(RoleName="Engineer", AssumeRolePolicyDocument=trust(MGMT), MaxSessionDuration=seconds)
    assert (refused.value.response["ResponseMetadata"]["HTTPStatusCode"], _iam_code(refused)) == (400,
                                                                                                   "ValidationError")
    assert f"Value '{seconds}' at 'maxSessionDuration' failed to satisfy constraint" in refused.value.response[
        "Error"]["Message"]
    with pytest.raises(ClientError):
        iam.get_role(RoleName="Engineer")  # nothing was created
    iam.create_role(RoleName="Engineer", AssumeRolePolicyDocument=trust(MGMT), MaxSessionDuration=7200)
    with pytest.raises(ClientError) as refused:
        iam.update_role(RoleName="Engineer", MaxSessionDuration=seconds)
    assert _iam_code(refused) == "ValidationError"
    assert iam.get_role(RoleName="Engineer")["Role"]["MaxSessionDuration"] == 7200  # kept


def test_an_unknown_condition_operator_is_a_malformed_policy_document(aws: AwsSandbox) -> None:
    """IAM knows its condition operators (with IfExists and the set prefixes) and refuses any other."""
    iam = aws.service_client("iam")

    def conditioned(condition: dict[str, Any]) -> str:
        doc = json.loads(trust(MGMT))
        doc["Statement"][0]["Condition"] = condition
        return json.dumps(doc)

    iam.create_role(RoleName="Known", AssumeRolePolicyDocument=conditioned({
        "StringEquals": {"aws:PrincipalOrgID": "o-abc"}, "BoolIfExists": {"aws:MultiFactorAuthPresent": "true"},
        "ForAnyValue:StringLike": {"aws:PrincipalTag/team": ["a*"]}, "Null": {"sts:ExternalId": "false"}}))
    for bad in ("StringEqual", "NullIfExists", "ForSomeValues:StringEquals"):
        with pytest.raises(ClientError) as refused:
            iam.create_role(RoleName="Unknown", AssumeRolePolicyDocument=conditioned({bad: {"aws:x": "y"}}))
        error = refused.value.response["Error"]
        assert (error["Code"], error["Message"]) == ("MalformedPolicyDocument", f"Invalid Condition type : {bad}")
        with pytest.raises(ClientError) as refused:
            iam.update_assume_role_policy(RoleName="Known", PolicyDocument=conditioned({bad: {"aws:x": "y"}}))
        assert _iam_code(refused) == "MalformedPolicyDocument"
    kept = iam.get_role(RoleName="Known")["Role"]["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]
    assert "StringEquals" in kept
