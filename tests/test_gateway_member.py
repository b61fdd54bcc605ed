"""Member accounts through the assumed role, against the sandbox over HTTP: reads, writes, the credential cache,
call counting and the AccessDenied-on-AssumeRole wait."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from controller import metrics
from controller.aws.member import REFRESH_BEFORE_SECONDS, MemberAccounts
from controller.aws.retry import RetryPolicy
from controller.aws.session import iam_client, sts_client
from controller.sandbox.aws import AwsSandbox

FAST = RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.02)


@pytest.fixture
def env(aws: AwsSandbox, monkeypatch: pytest.MonkeyPatch) -> AwsSandbox:
    for key, value in aws.env().items():
        monkeypatch.setenv(key, value)
    return aws


def new_account(aws: AwsSandbox, name: str = "Dev") -> str:
    org = aws.client()
    request = org.create_account(AccountName=name, Email=f"{name.lower()}@example.com")["CreateAccountStatus"]
    status = org.describe_create_account_status(CreateAccountRequestId=request["Id"])["CreateAccountStatus"]
    assert status["State"] == "SUCCEEDED"
    return str(status["AccountId"])


def trust(*principals: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": list(principals)}, "Action": "sts:AssumeRole"}]})


def iam_in(aws: AwsSandbox, account_id: str) -> Any:
    return aws.member_client("iam", account_id)


def _count(operation: str, outcome: str = "ok") -> float:
    return metrics.REGISTRY.get_sample_value("awsorg_aws_api_calls_total",
                                             {"operation": operation, "outcome": outcome}) or 0.0


def test_reads_the_role_that_create_account_made(env: AwsSandbox) -> None:
    account_id = new_account(env)
    members = MemberAccounts(sts_client(), iam_client, retry=FAST)
    found = members.read_role(account_id, "OrganizationAccountAccessRole")
    assert found.reached and found.role is not None
    assert found.role.arn == f"arn:aws:iam::{account_id}:role/OrganizationAccountAccessRole"
    assert members.read_role(account_id, "Engineer").role is None  # NoSuchEntity: no role, not an error


def test_writes_land_in_the_member_account_and_are_counted(env: AwsSandbox) -> None:
    account_id = new_account(env)
    iam = iam_in(env, account_id)
    policy = iam.create_policy(PolicyName="ReadOnly", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}]}))
    read_only = policy["Policy"]["Arn"]
    members = MemberAccounts(sts_client(), iam_client, retry=FAST)
    before = _count("CreateRole"), _count("AssumeRole")
    members.create_role(account_id, "Engineer", trust("arn:aws:iam::123456789012:root"))
    members.attach_policy(account_id, "Engineer", read_only)
    members.update_trust_policy(account_id, "Engineer", trust("arn:aws:iam::123456789012:root",
                                                              f"arn:aws:iam::{account_id}:root"))
    role = iam.get_role(RoleName="Engineer")["Role"]
    assert len(role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["AWS"]) == 2
    attached = iam.list_attached_role_policies(RoleName="Engineer")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [read_only]
    # The management account's own IAM has no such role: the work happened in the member account.
    with pytest.raises(ClientError):
        boto3.client("iam", endpoint_url=env.url, region_name="us-east-1", aws_access_key_id="testing",
                     aws_secret_access_key="testing").get_role(RoleName="Engineer")
    known = members.known(account_id)
    assert known is not None and known.role is not None and known.role.attached == {read_only}
    members.detach_policy(account_id, "Engineer", read_only)
    members.detach_policy(account_id, "Engineer", read_only)  # not attached any more: fine
    assert iam.list_attached_role_policies(RoleName="Engineer")["AttachedPolicies"] == []
    assert (_count("CreateRole"), _count("AssumeRole")) == (before[0] + 1, before[1] + 1)


def test_the_maximum_session_duration_is_created_read_and_updated(env: AwsSandbox) -> None:
    account_id = new_account(env)
    iam = iam_in(env, account_id)
    members = MemberAccounts(sts_client(), iam_client, retry=FAST)
    members.create_role(account_id, "Engineer", trust("arn:aws:iam::123456789012:root"), 7200)
    assert iam.get_role(RoleName="Engineer")["Role"]["MaxSessionDuration"] == 7200
    known = members.known(account_id)
    assert known is not None and known.role is not None and known.role.max_session_duration == 7200
    before = _count("UpdateRole")
    members.update_max_session(account_id, "Engineer", 3600)
    assert iam.get_role(RoleName="Engineer")["Role"]["MaxSessionDuration"] == 3600
    assert _count("UpdateRole") == before + 1
    known = members.known(account_id)  # what the write left, before any read
    assert known is not None and known.role is not None and known.role.max_session_duration == 3600
    read = members.read_role(account_id, "Engineer").role
    assert read is not None and read.max_session_duration == 3600


def test_credentials_are_cached_per_account_until_near_expiry(env: AwsSandbox) -> None:
    first, second = new_account(env, "One"), new_account(env, "Two")
    now = [1_000.0]
    members = MemberAccounts(sts_client(), iam_client, retry=FAST, clock=lambda: now[0])
    env.reset_calls()
    for _ in range(3):
        members.read_role(first, "OrganizationAccountAccessRole")
    members.read_role(second, "OrganizationAccountAccessRole")
    assert env.calls.count("AssumeRole") == 2  # one per account
    now[0] = 10**10  # long past any expiry (moto's credentials last an hour)
    members.read_role(first, "OrganizationAccountAccessRole")
    assert env.calls.count("AssumeRole") == 3
    assert REFRESH_BEFORE_SECONDS > 0


class RefusingSts:
    def __init__(self, code: str) -> None:
        self.code = code
        self.calls = 0

    def assume_role(self, **_: Any) -> Any:
        self.calls += 1
        raise ClientError({"Error": {"Code": self.code, "Message": "User: arn:aws:iam::123456789012:root is not "
                                     "authorized to perform: sts:AssumeRole"}}, "AssumeRole")


def test_access_denied_on_assume_role_is_a_wait_not_a_failure() -> None:
    members = MemberAccounts(RefusingSts("AccessDenied"), iam_client, retry=FAST)
    found = members.read_role("210987654321", "Engineer")
    assert found.waiting and not found.reached
    assert "arn:aws:iam::210987654321:role/OrganizationAccountAccessRole" in (found.error or "")
    assert members.known("210987654321") == found


def test_another_error_is_the_account_s_failure_and_the_member_role_is_configurable() -> None:
    members = MemberAccounts(RefusingSts("RegionDisabledException"), iam_client, role_name="Admin", retry=FAST)
    found = members.read_role("210987654321", "Engineer")
    assert not found.waiting and "RegionDisabledException" in (found.error or "")
    assert members.role_arn("210987654321") == "arn:aws:iam::210987654321:role/Admin"


def test_the_member_role_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from controller.settings import Settings, SettingsError

    assert Settings.from_env().member_role_name == "OrganizationAccountAccessRole"
    monkeypatch.setenv("AWSORG_MEMBER_ROLE_NAME", "OrgAdmin")
    assert Settings.from_env().member_role_name == "OrgAdmin"
    monkeypatch.setenv("AWSORG_MEMBER_ROLE_NAME", "not a role/name")
    with pytest.raises(SettingsError, match="AWSORG_MEMBER_ROLE_NAME"):
        Settings.from_env()


def test_many_accounts_at_once_each_call_signed_as_its_own_account(env: AwsSandbox) -> None:
    """One shared IAM client serves every account (controller.aws.session); calls made for eight accounts on four
    threads at once land each in its own account, never in another's."""
    from controller.aws.fanout import MemberWork

    env.quotas.max_accounts = 20
    accounts = [new_account(env, f"Many{i}") for i in range(8)]
    members = MemberAccounts(sts_client(), iam_client, retry=FAST, work=MemberWork(4))
    members.each(accounts, lambda a: members.create_role(a, f"Only-{a}", trust("arn:aws:iam::123456789012:root")))
    found = members.read_roles(accounts, "OrganizationAccountAccessRole")
    assert all(access.role is not None and access.role.account_id == a for a, access in found.items())
    for account_id in accounts:
        names = {r["RoleName"] for r in iam_in(env, account_id).list_roles()["Roles"]}
        assert f"Only-{account_id}" in names
        assert not {n for n in names if n.startswith("Only-")} - {f"Only-{account_id}"}, (account_id, names)


def test_a_shared_member_client_refuses_a_call_not_bound_to_an_account(env: AwsSandbox) -> None:
    from controller.aws.session import shared_member_client

    with pytest.raises(RuntimeError, match="outside a MemberClient binding"):
        shared_member_client("iam", "us-east-1").list_roles()


def test_concurrency_is_a_bounded_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from controller.settings import Settings, SettingsError

    assert (Settings.from_env().member_concurrency, Settings.from_env().sts_rate) == (16, 20.0)
    monkeypatch.setenv("AWSORG_MEMBER_CONCURRENCY", "4")
    assert Settings.from_env().member_concurrency == 4
    for bad in ("0", "65", "many"):
        monkeypatch.setenv("AWSORG_MEMBER_CONCURRENCY", bad)
        with pytest.raises(SettingsError, match=r"AWSORG_MEMBER_CONCURRENCY.*1 to 64"):
            Settings.from_env()
