"""The sandbox refuses what AWS Organizations refuses (``controller.sandbox.aws_limits``), over boto3 and HTTP, and
its copy of AWS's limits agrees with the operator's (``controller.api.limits``)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from controller.api import limits
from controller.sandbox import aws_limits
from controller.sandbox.aws import AwsSandbox
from controller.sandbox.organizations import accounts, base, management, policies, policy_grammar, settings, units
from tests.sandbox.test_aws_strict import refused

RCP = "RESOURCE_CONTROL_POLICY"
SCP = "SERVICE_CONTROL_POLICY"
DENY_S3 = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]})


def create(org: Any, name: str, email: str | None = None, **kwargs: Any) -> dict[str, Any]:
    status = org.create_account(AccountName=name, Email=email or f"{name.lower()}@example.com", **kwargs)
    return dict(org.describe_create_account_status(
        CreateAccountRequestId=status["CreateAccountStatus"]["Id"])["CreateAccountStatus"])


def rcp(**statement: Any) -> str:
    stmt = {"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": "*", **statement}
    return json.dumps({"Version": "2012-10-17", "Statement": [{k: v for k, v in stmt.items() if v is not None}]})


def test_the_sandbox_copy_of_the_limits_agrees_with_the_operators() -> None:
    """Two copies on purpose (the sandbox plays AWS); this is where a change to one without the other shows."""
    assert (aws_limits.TAG_KEY_MAX, aws_limits.TAG_VALUE_MAX, aws_limits.MAX_TAGS) == (
        limits.TAG_KEY_MAX, limits.TAG_VALUE_MAX, limits.MAX_TAGS)
    assert aws_limits.SYSTEM_TAG_PREFIX == limits.RESERVED_TAG_PREFIX
    assert (aws_limits.CREATE_ACCOUNT_NAME_MAX, aws_limits.EMAIL_MIN, aws_limits.EMAIL_MAX) == (
        limits.ACCOUNT_NAME_MAX, limits.EMAIL_MIN, limits.EMAIL_MAX)
    assert aws_limits.DEFAULT_MAX_ACCOUNTS == limits.DEFAULT_MAX_ACCOUNTS
    assert aws_limits.MIN_DAYS_BEFORE_REMOVAL == limits.MIN_DAYS_BEFORE_REMOVAL
    assert aws_limits.RCP_SERVICES == limits.RCP_SERVICES
    assert set(aws_limits.RCP_UNSUPPORTED_ELEMENTS).isdisjoint(limits.RCP_STATEMENT_ELEMENTS)
    assert units.MAX_OU_DEPTH == limits.MAX_OU_DEPTH
    assert accounts.MAX_CREATE_ACCOUNT_IN_PROGRESS == limits.MAX_CREATIONS_IN_FLIGHT
    assert base.NAME_MAX == limits.NAME_MAX and policies.DESCRIPTION_MAX == limits.POLICY_DESCRIPTION_MAX
    assert aws_limits.POLICIES_PER_TARGET == {t: limits.MAX_POLICIES_PER_TYPE[t] for t in (SCP, RCP)} == {
        SCP: 10, RCP: 5}
    assert aws_limits.POLICY_SIZE == {t: limits.MAX_DOCUMENT_SIZE[t] for t in (SCP, RCP)} == {SCP: 10240, RCP: 5120}
    # The management types: the sandbox's figures (organizations/management.py) are the operator's.
    assert management.MANAGEMENT_POLICY_TYPES == limits.MANAGEMENT_POLICY_TYPES
    assert management.POLICY_TYPES == limits.POLICY_TYPES
    per_target = {t: limits.MAX_POLICIES_PER_TYPE[t] for t in limits.MANAGEMENT_POLICY_TYPES}
    assert per_target == management.ATTACHMENTS_PER_TARGET
    assert {t: limits.MAX_DOCUMENT_SIZE[t] for t in limits.MANAGEMENT_POLICY_TYPES} == management.DOCUMENT_SIZE
    assert {t: policies.MAX_ATTACHMENTS_PER_TYPE[t] for t in (SCP, RCP)} == aws_limits.POLICIES_PER_TARGET
    assert {t: policy_grammar.MAX_POLICY_SIZE[t] for t in (SCP, RCP)} == aws_limits.POLICY_SIZE
    assert settings.DELEGATED_ADMIN_PRINCIPALS == limits.DELEGATED_ADMIN_PRINCIPALS
    from controller.sandbox import iam

    assert (iam.MANAGED_POLICIES_PER_ROLE, iam.TRUST_POLICY_LENGTH) == (
        limits.DEFAULT_ROLE_MANAGED_POLICIES, limits.TRUST_POLICY_LENGTH)  # IAM's quotas on a role
    # The patterns, on the same inputs: the sandbox's own character test against the operator's RE2 pattern.
    from controller.api import patterns

    for text in ["Développement", "bad key!#$%", "日本", "\U0001f680", "a b", "x:y/z=1+2-3@", "a;b", "tab\t"]:
        assert aws_limits.tag_text_ok(text) == patterns.search(limits.TAG_PATTERN, text), text


@pytest.mark.parametrize(("tags", "code", "reason"), [
    ([{"Key": "bad key!#$%", "Value": "x"}], "InvalidInputException", "INVALID_PATTERN"),
    ([{"Key": "team", "Value": "a;b"}], "InvalidInputException", "INVALID_PATTERN"),
    ([{"Key": "k" * 129, "Value": "x"}], "InvalidInputException", "MAX_LENGTH_EXCEEDED"),
    ([{"Key": "team", "Value": "v" * 257}], "InvalidInputException", "MAX_LENGTH_EXCEEDED"),
    ([{"Key": "aws:team", "Value": "x"}], "InvalidInputException", "INVALID_SYSTEM_TAGS_PARAMETER"),
    ([{"Key": f"k{i}", "Value": "v"} for i in range(51)], "ConstraintViolationException", "MAX_TAG_LIMIT_EXCEEDED"),
])
def test_tags_aws_refuses(aws: AwsSandbox, org: Any, tags: list[dict[str, str]], code: str, reason: str) -> None:
    assert aws.ids is not None
    root = aws.ids["root_id"]
    refused(lambda: org.create_organizational_unit(ParentId=root, Name="Team", Tags=tags), code, reason)
    refused(lambda: org.create_policy(Name="p", Description="", Type=SCP, Content=DENY_S3, Tags=tags), code, reason)
    refused(lambda: org.create_account(AccountName="Tagged", Email="t@example.com", Tags=tags), code, reason)
    refused(lambda: org.tag_resource(ResourceId=root, Tags=tags), code, reason)
    assert org.list_organizational_units_for_parent(ParentId=root)["OrganizationalUnits"] == []


def test_tags_aws_accepts_and_the_50_counts_what_is_there(aws: AwsSandbox, org: Any) -> None:
    assert aws.ids is not None
    root = aws.ids["root_id"]
    ou = org.create_organizational_unit(ParentId=root, Name="Team", Tags=[
        {"Key": "cost-center", "Value": "Développement 42"}, {"Key": "a:b/c=d+e-f@g_h.i", "Value": ""}])
    ou_id = ou["OrganizationalUnit"]["Id"]
    org.tag_resource(ResourceId=ou_id, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(48)])
    org.tag_resource(ResourceId=ou_id, Tags=[{"Key": "cost-center", "Value": "again"}])  # replaces: still 50
    refused(lambda: org.tag_resource(ResourceId=ou_id, Tags=[{"Key": "one-more", "Value": "x"}]),
            "ConstraintViolationException", "MAX_TAG_LIMIT_EXCEEDED")
    refused(lambda: org.untag_resource(ResourceId=ou_id, TagKeys=["aws:cloudformation:stack"]),
            "InvalidInputException", "INVALID_SYSTEM_TAGS_PARAMETER")
    assert len(org.list_tags_for_resource(ResourceId=ou_id)["Tags"]) == 50


@pytest.mark.parametrize(("name", "email", "reason"), [
    ("Développement", "dev@example.com", "INVALID_PATTERN"),
    ("Dev \U0001f680", "dev@example.com", "INVALID_PATTERN"),
    ("n" * 51, "dev@example.com", "MAX_LENGTH_EXCEEDED"),
    ("Dev", "aws-dev@localhost", "INVALID_PATTERN"),
    ("Dev", "e" * 53 + "@example.com", "MAX_LENGTH_EXCEEDED"),
    ("Dev", "a b@example.com", "INVALID_PATTERN"),
])
def test_create_account_name_and_email(aws: AwsSandbox, org: Any, name: str, email: str, reason: str) -> None:
    refused(lambda: org.create_account(AccountName=name, Email=email), "InvalidInputException", reason)
    assert org.list_create_account_status()["CreateAccountStatuses"] == []
    assert create(org, "Dev (sandbox) #1 ~", "a.b+c@example.co.uk")["State"] == "SUCCEEDED"


@pytest.mark.parametrize(("statement", "detail"), [
    ({"Action": None, "NotAction": "s3:GetObject"}, "NotAction"),
    ({"Principal": None, "NotPrincipal": {"AWS": "arn:aws:iam::123456789012:root"}}, "NotPrincipal"),
    ({"Principal": {"AWS": "arn:aws:iam::123456789012:root"}}, "Principal"),
    ({"Effect": "Allow"}, "Deny"),
    ({"Action": ["s3:GetObject", "ec2:RunInstances"]}, "ec2:RunInstances"),
])
def test_rcp_elements_and_services(aws: AwsSandbox, org: Any, statement: dict[str, Any], detail: str) -> None:
    err = refused(lambda: org.create_policy(Name="rcp", Description="", Type=RCP, Content=rcp(**statement)),
                  "MalformedPolicyDocumentException")
    assert detail in err.response["Error"]["Message"]
    assert [p["Name"] for p in org.list_policies(Filter=RCP)["Policies"]] == ["RCPFullAWSAccess"]
    policy = org.create_policy(Name="rcp", Description="", Type=RCP,
                               Content=rcp(Action=["sts:AssumeRole", "kms:Decrypt", "secretsmanager:*", "s3:*"]))
    policy_id = policy["Policy"]["PolicySummary"]["Id"]
    refused(lambda: org.update_policy(PolicyId=policy_id, Content=rcp(**statement)), "MalformedPolicyDocumentException")


def test_remove_account_needs_a_standalone_ready_account(aws: AwsSandbox, org: Any) -> None:
    account = create(org, "Fresh")["AccountId"]
    for missing in (aws_limits.STANDALONE_REASONS, aws_limits.STANDALONE_REASONS[1:],
                    aws_limits.STANDALONE_REASONS[2:]):
        aws.make_standalone_ready(account, missing=missing) if missing != aws_limits.STANDALONE_REASONS else None
        err = refused(lambda: org.remove_account_from_organization(AccountId=account),
                      "ConstraintViolationException", missing[0])
        assert err.response["Error"]["Message"]
    assert account in [a["Id"] for a in org.list_accounts()["Accounts"]]
    aws.make_standalone_ready(account)
    org.remove_account_from_organization(AccountId=account)
    assert account not in [a["Id"] for a in org.list_accounts()["Accounts"]]


def test_accounts_per_organization_quota(aws: AwsSandbox, org: Any) -> None:
    aws.quotas.max_accounts = 3  # the management account and two members (the fixture restores AWS's 10)
    assert create(org, "One")["State"] == "SUCCEEDED"
    assert create(org, "Two")["State"] == "SUCCEEDED"
    third = create(org, "Three")
    assert (third["State"], third["FailureReason"]) == ("FAILED", "ACCOUNT_LIMIT_EXCEEDED")
    assert len(org.list_accounts()["Accounts"]) == 3


def test_the_default_quota_is_awss_ten(aws: AwsSandbox, org: Any) -> None:
    aws.traffic.rate = None  # 20 quick calls without retries: the quota is the point here, not the throttle
    states = [create(org, f"Member{i}")["State"] for i in range(10)]
    assert states == ["SUCCEEDED"] * 9 + ["FAILED"]


def test_close_account_quota(aws: AwsSandbox, org: Any) -> None:
    aws.quotas.close_quota = 1
    first, second = create(org, "First")["AccountId"], create(org, "Second")["AccountId"]
    org.close_account(AccountId=first)
    refused(lambda: org.close_account(AccountId=second), "ConstraintViolationException", "CLOSE_ACCOUNT_QUOTA_EXCEEDED")
    assert org.describe_account(AccountId=second)["Account"]["Status"] == "ACTIVE"


def test_enable_policy_type_goes_through_pending_enable(aws: AwsSandbox, org: Any) -> None:
    assert aws.ids is not None
    root = aws.ids["root_id"]
    policy = org.create_policy(Name="deny-s3", Description="", Type=SCP, Content=DENY_S3)["Policy"]["PolicySummary"]
    aws.quotas.enable_policy_type_delay = 0.5
    org.enable_policy_type(RootId=root, PolicyType=SCP)
    assert org.list_roots()["Roots"][0]["PolicyTypes"] == [{"Type": SCP, "Status": "PENDING_ENABLE"}]
    refused(lambda: org.attach_policy(PolicyId=policy["Id"], TargetId=root), "PolicyChangesInProgressException")
    refused(lambda: org.enable_policy_type(RootId=root, PolicyType=SCP), "PolicyChangesInProgressException")
    time.sleep(0.6)
    assert org.list_roots()["Roots"][0]["PolicyTypes"] == [{"Type": SCP, "Status": "ENABLED"}]
    org.attach_policy(PolicyId=policy["Id"], TargetId=root)


def test_finalizing_organization(aws: AwsSandbox, org: Any) -> None:
    aws.finalize_organization(0.3)
    refused(lambda: org.create_account(AccountName="Early", Email="early@example.com"),
            "FinalizingOrganizationException")
    time.sleep(0.35)
    assert create(org, "Early")["State"] == "SUCCEEDED"


def test_list_policies_for_an_unknown_target(aws: AwsSandbox, org: Any) -> None:
    refused(lambda: org.list_policies_for_target(TargetId="999999999999", Filter=SCP), "TargetNotFoundException")
    refused(lambda: org.list_policies_for_target(TargetId="ou-abcd-12345678", Filter=SCP), "TargetNotFoundException")


def test_a_delegated_administrator_cannot_leave(aws: AwsSandbox, org: Any) -> None:
    account = create(org, "Shared")["AccountId"]
    aws.make_standalone_ready(account)
    org.enable_aws_service_access(ServicePrincipal="config.amazonaws.com")
    org.register_delegated_administrator(AccountId=account, ServicePrincipal="config.amazonaws.com")
    refused(lambda: org.remove_account_from_organization(AccountId=account), "ConstraintViolationException",
            "CANNOT_REMOVE_DELEGATED_ADMINISTRATOR_FROM_ORG")
    org.deregister_delegated_administrator(AccountId=account, ServicePrincipal="config.amazonaws.com")
    org.remove_account_from_organization(AccountId=account)


def test_an_invalid_email_by_createaccounts_rules_ends_failed(aws: AwsSandbox, org: Any) -> None:
    """The model's pattern lets john(doe)@exa_mple.com through; CreateAccount's rules do not: FAILED, INVALID_EMAIL
    ("The account could not be created because the email address you provided is not valid."), no account."""
    before = len(org.list_accounts()["Accounts"])
    failed = create(org, "John", email="john(doe)@exa_mple.com")
    assert (failed["State"], failed["FailureReason"]) == ("FAILED", "INVALID_EMAIL")
    assert create(org, "Jane", email="jane.doe+ops@example.com")["State"] == "SUCCEEDED"
    assert len(org.list_accounts()["Accounts"]) == before + 1


def test_ten_scps_on_a_target_and_10240_characters(aws: AwsSandbox, org: Any) -> None:
    """AWS "What's New" 2026-05-15: 10 SCPs per target (FullAWSAccess one of them), 10,240 characters; RCPs 5."""
    assert aws.ids is not None
    aws.traffic.rate = None  # ~25 quick calls without retries: the quota is the point here, not the throttle
    root = aws.ids["root_id"]
    org.enable_policy_type(RootId=root, PolicyType=SCP)
    ou = org.create_organizational_unit(ParentId=root, Name="Ten")["OrganizationalUnit"]["Id"]
    base = {"Version": "2012-10-17", "Statement": [{"Sid": "", "Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}
    ids = []
    for i in range(10):
        base["Statement"][0]["Sid"] = f"S{i}" + "x" * (10240 - len(json.dumps(base)) - 2 if i == 0 else 0)
        content = json.dumps(base)
        ids.append(org.create_policy(Name=f"p{i}", Description="", Type=SCP, Content=content)["Policy"]
                   ["PolicySummary"]["Id"])
        if i == 0:
            assert len(content) == 10240
    for pid in ids[:9]:
        org.attach_policy(PolicyId=pid, TargetId=ou)
    refused(lambda: org.attach_policy(PolicyId=ids[9], TargetId=ou), "ConstraintViolationException",
            "MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED")
    aws.quotas.policies_per_target[SCP] = 3  # an organization below AWS's figure (the fixture restores it)
    other = org.create_organizational_unit(ParentId=root, Name="Small")["OrganizationalUnit"]["Id"]
    org.attach_policy(PolicyId=ids[0], TargetId=other)
    org.attach_policy(PolicyId=ids[1], TargetId=other)
    refused(lambda: org.attach_policy(PolicyId=ids[2], TargetId=other), "ConstraintViolationException",
            "MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED")


@pytest.mark.parametrize(("sid", "accepted"), [("DenyS3Deletes2", True), ("", True), ("deny-s3", False),
                                                ("deny s3", False), ("Déni", False), ("a_b", False)])
def test_statement_sids_are_letters_and_digits(aws: AwsSandbox, org: Any, sid: str, accepted: bool) -> None:
    """IAM, "JSON policy elements: Sid": "The Sid element supports ASCII uppercase letters (A-Z), lowercase letters
    (a-z), and numbers (0-9)." """
    content = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": sid, "Effect": "Deny", "Action": "s3:*", "Resource": "*"}]})
    if accepted:
        org.create_policy(Name="sid", Description="", Type=SCP, Content=content)
    else:
        refused(lambda: org.create_policy(Name="sid", Description="", Type=SCP, Content=content),
                "MalformedPolicyDocumentException")
