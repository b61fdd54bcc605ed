"""The sandbox's STS decides AssumeRole as AWS does: the role must exist in the account and its trust policy
admit the caller (moto hands out credentials for any RoleArn)."""

from __future__ import annotations

import json
import time

import pytest
from botocore.exceptions import ClientError

from controller.sandbox.aws import AwsSandbox


def _new_account(aws: AwsSandbox) -> str:
    org = aws.client()
    request = org.create_account(AccountName="Member", Email="member@example.com")["CreateAccountStatus"]
    return str(org.describe_create_account_status(CreateAccountRequestId=request["Id"])["CreateAccountStatus"][
        "AccountId"])


def _assume(aws: AwsSandbox, arn: str) -> dict[str, str]:
    return dict(aws.service_client("sts").assume_role(RoleArn=arn, RoleSessionName="test")["Credentials"])


def test_the_role_createaccount_makes_trusts_the_management_account(aws: AwsSandbox) -> None:
    account = _new_account(aws)
    assert _assume(aws, f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole")["AccessKeyId"]


def test_a_role_that_does_not_exist_is_access_denied(aws: AwsSandbox) -> None:
    account = _new_account(aws)
    with pytest.raises(ClientError) as refused:
        _assume(aws, f"arn:aws:iam::{account}:role/NoSuchRole")
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    assert "is not authorized to perform: sts:AssumeRole" in refused.value.response["Error"]["Message"]


@pytest.mark.parametrize(("principal", "admitted"), [
    ({"AWS": "arn:aws:iam::111122223333:root"}, False),  # another account only
    ({"AWS": ["arn:aws:iam::111122223333:root", "arn:aws:iam::123456789012:root"]}, True),
    ({"AWS": "123456789012"}, True),
    ({"Service": "ec2.amazonaws.com"}, False),
])
def test_the_trust_policy_decides(aws: AwsSandbox, principal: dict[str, object], admitted: bool) -> None:
    account = _new_account(aws)
    iam = aws.member_client("iam", account)
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": principal,
                                                     "Action": "sts:AssumeRole"}]}
    iam.create_role(RoleName="Engineer", AssumeRolePolicyDocument=json.dumps(trust))
    arn = f"arn:aws:iam::{account}:role/Engineer"
    if admitted:
        assert _assume(aws, arn)["AccessKeyId"]
    else:
        with pytest.raises(ClientError) as refused:
            _assume(aws, arn)
        assert refused.value.response["Error"]["Code"] == "AccessDenied"


def test_a_new_accounts_role_is_assumable_only_after_the_delay(aws: AwsSandbox) -> None:
    """AWS: "You might need to wait a few minutes before you can successfully access the account" after
    CreateAccount; the sandbox's member_role_delay plays it (an adopted account's role is not delayed)."""
    aws.member_role_delay = 0.6
    account = _new_account(aws)
    arn = f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole"
    with pytest.raises(ClientError) as refused:
        _assume(aws, arn)
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    time.sleep(0.7)
    assert _assume(aws, arn)["AccessKeyId"]
