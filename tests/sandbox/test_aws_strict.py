"""The strict AWS Organizations sandbox refuses what AWS refuses, through boto3 over real HTTP.

Where cheap, each test also shows that plain moto would have accepted the request: ``plain`` is a
boto3 client of moto's own ``ThreadedMotoServer`` running in this process.  moto keeps its state
in process-wide globals, so ``plain`` sees (and changes) the very organization ``aws`` serves, only
without the strict layer in front.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer

from controller.sandbox.aws import AwsSandbox

SCP = "SERVICE_CONTROL_POLICY"
RCP = "RESOURCE_CONTROL_POLICY"
DENY_S3 = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]})


@pytest.fixture(scope="module")
def plain() -> Iterator[Any]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    yield session.client(
        "organizations",
        endpoint_url=f"http://{host}:{port}",
        config=Config(retries={"total_max_attempts": 1}),
    )
    server.stop()


@pytest.fixture
def org(aws: AwsSandbox) -> Any:
    return aws.client(max_attempts=1)


@pytest.fixture
def root_id(aws: AwsSandbox) -> str:
    assert aws.ids is not None
    return aws.ids["root_id"]


@pytest.fixture
def mgmt_id(aws: AwsSandbox) -> str:
    assert aws.ids is not None
    return aws.ids["management_account_id"]


def refused(call: Any, code: str, reason: str | None = None) -> ClientError:
    with pytest.raises(ClientError) as info:
        call()
    err = info.value
    assert err.response["Error"]["Code"] == code, err.response
    assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    if reason is not None:
        assert err.response.get("Reason") == reason, err.response
    return err


def new_ou(org: Any, parent: str, name: str) -> str:
    return str(org.create_organizational_unit(ParentId=parent, Name=name)["OrganizationalUnit"]["Id"])


def new_account(org: Any, name: str = "acct", email: str | None = None) -> str:
    status = org.create_account(AccountName=name, Email=email or f"{name}@example.com")["CreateAccountStatus"]
    final = org.describe_create_account_status(CreateAccountRequestId=status["Id"])["CreateAccountStatus"]
    assert final["State"] == "SUCCEEDED", final
    return str(final["AccountId"])


def new_scp(org: Any, name: str, content: str = DENY_S3) -> str:
    return str(org.create_policy(Name=name, Description="", Type=SCP, Content=content)["Policy"]["PolicySummary"]["Id"])


def attached(org: Any, target: str, policy_type: str = SCP) -> list[str]:
    return [p["Id"] for p in org.list_policies_for_target(TargetId=target, Filter=policy_type)["Policies"]]


# --------------------------------------------------------------------------------------------------
# Transport, fixtures, call log


def test_sandbox_serves_over_http_and_bootstrap_returns_ids(aws: AwsSandbox, org: Any) -> None:
    assert aws.url.startswith("http://127.0.0.1:")
    assert aws.ids is not None
    described = org.describe_organization()["Organization"]
    assert described["Id"] == aws.ids["organization_id"]
    assert described["FeatureSet"] == "ALL"
    assert described["MasterAccountId"] == aws.ids["management_account_id"] == "123456789012"
    assert org.list_roots()["Roots"][0]["Id"] == aws.ids["root_id"]


def test_another_process_with_only_the_env_reaches_the_same_organization(aws: AwsSandbox) -> None:
    code = "import boto3; print(boto3.client('organizations').list_roots()['Roots'][0]['Id'])"
    out = subprocess.run(
        [sys.executable, "-c", code], env={**aws.env(), "PATH": ""}, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert aws.ids is not None
    assert out.stdout.strip() == aws.ids["root_id"]
    assert aws.calls == ["ListRoots"]


def test_reset_wipes_the_organization(aws: AwsSandbox, org: Any) -> None:
    aws.reset()
    assert aws.ids is None
    refused(org.describe_organization, "AWSOrganizationsNotInUseException")
    ids = aws.bootstrap()
    assert org.list_roots()["Roots"][0]["Id"] == ids["root_id"]


def test_calls_log_records_every_operation_and_can_be_reset(aws: AwsSandbox, org: Any, root_id: str) -> None:
    assert aws.calls == []  # bootstrap() does not count
    org.list_roots()
    new_ou(org, root_id, "a")
    refused(lambda: new_ou(org, root_id, "a"), "DuplicateOrganizationalUnitException")
    assert aws.calls == ["ListRoots", "CreateOrganizationalUnit", "CreateOrganizationalUnit"]
    aws.reset_calls()
    assert aws.calls == []


def test_calls_log_is_thread_safe(aws: AwsSandbox) -> None:
    def worker() -> None:
        client = aws.client()
        for _ in range(10):
            client.list_roots()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Every attempt is logged: the 40 answered and those throttled on the way (botocore retried them).
    assert aws.calls == ["ListRoots"] * (40 + aws.traffic.throttled["ListRoots"])


# --------------------------------------------------------------------------------------------------
# D. Fault injection


def test_injected_throttling_fails_the_next_calls_then_clears(aws: AwsSandbox, org: Any) -> None:
    aws.inject_error("ListRoots", "TooManyRequestsException", times=2, fields={"Type": "Throttling"})
    for _ in range(2):
        err = refused(org.list_roots, "TooManyRequestsException")
        assert err.response["Error"]["Message"]
    assert org.list_roots()["Roots"]
    assert aws.calls == ["ListRoots"] * 3


def test_injected_error_is_retried_by_botocore_default_retries(aws: AwsSandbox) -> None:
    aws.inject_error("ListAccounts", "TooManyRequestsException")
    assert aws.client().list_accounts()["Accounts"]
    assert aws.calls == ["ListAccounts", "ListAccounts"]


def test_injected_concurrent_modification_has_no_side_effect(aws: AwsSandbox, org: Any, root_id: str) -> None:
    aws.inject_error("CreateOrganizationalUnit", "ConcurrentModificationException", message="busy")
    err = refused(lambda: new_ou(org, root_id, "x"), "ConcurrentModificationException")
    assert err.response["Error"]["Message"] == "busy"
    assert org.list_organizational_units_for_parent(ParentId=root_id)["OrganizationalUnits"] == []
    new_ou(org, root_id, "x")


def test_inject_error_rejects_unknown_operations(aws: AwsSandbox) -> None:
    with pytest.raises(ValueError):
        aws.inject_error("CreateOU", "TooManyRequestsException")


# --------------------------------------------------------------------------------------------------
# A. Organizational units


def test_duplicate_ou_name_under_same_parent_is_refused(org: Any, plain: Any, root_id: str) -> None:
    new_ou(org, root_id, "Workloads")
    refused(lambda: new_ou(org, root_id, "Workloads"), "DuplicateOrganizationalUnitException")
    new_ou(plain, root_id, "Workloads")  # plain moto accepts a second "Workloads"


def test_same_ou_name_under_different_parents_is_allowed(org: Any, root_id: str) -> None:
    a = new_ou(org, root_id, "A")
    b = new_ou(org, root_id, "B")
    new_ou(org, a, "Prod")
    new_ou(org, b, "Prod")


def test_rename_ou_to_a_sibling_name_is_refused(org: Any, root_id: str) -> None:
    new_ou(org, root_id, "A")
    b = new_ou(org, root_id, "B")
    refused(
        lambda: org.update_organizational_unit(OrganizationalUnitId=b, Name="A"),
        "DuplicateOrganizationalUnitException",
    )
    assert org.update_organizational_unit(OrganizationalUnitId=b, Name="C")["OrganizationalUnit"]["Name"] == "C"


def test_rename_ou_to_a_name_used_under_another_parent_is_allowed(org: Any, plain: Any, root_id: str) -> None:
    a = new_ou(org, root_id, "A")
    new_ou(org, a, "Prod")
    b = new_ou(org, root_id, "B")
    dev = new_ou(org, b, "Dev")
    with pytest.raises(ClientError):  # plain moto refuses any name used anywhere
        plain.update_organizational_unit(OrganizationalUnitId=dev, Name="Prod")
    renamed = org.update_organizational_unit(OrganizationalUnitId=dev, Name="Prod")["OrganizationalUnit"]
    assert renamed == {**renamed, "Id": dev, "Name": "Prod"}


def test_update_unknown_ou_is_refused(org: Any, root_id: str) -> None:
    refused(
        lambda: org.update_organizational_unit(OrganizationalUnitId=f"ou-{root_id[2:]}-abcdefgh", Name="x"),
        "OrganizationalUnitNotFoundException",
    )


def test_delete_ou_with_child_ou_is_refused(org: Any, plain: Any, root_id: str) -> None:
    parent = new_ou(org, root_id, "Parent")
    child = new_ou(org, parent, "Child")
    refused(lambda: org.delete_organizational_unit(OrganizationalUnitId=parent), "OrganizationalUnitNotEmptyException")
    org.delete_organizational_unit(OrganizationalUnitId=child)
    org.delete_organizational_unit(OrganizationalUnitId=parent)
    assert org.list_organizational_units_for_parent(ParentId=root_id)["OrganizationalUnits"] == []
    other = new_ou(org, root_id, "Other")
    new_ou(org, other, "Child")
    plain.delete_organizational_unit(OrganizationalUnitId=other)  # plain moto orphans the child


def test_delete_ou_with_account_is_refused(org: Any, plain: Any, root_id: str) -> None:
    ou = new_ou(org, root_id, "Holder")
    account = new_account(org)
    org.move_account(AccountId=account, SourceParentId=root_id, DestinationParentId=ou)
    refused(lambda: org.delete_organizational_unit(OrganizationalUnitId=ou), "OrganizationalUnitNotEmptyException")
    plain.delete_organizational_unit(OrganizationalUnitId=ou)  # plain moto strands the account


def test_ou_name_longer_than_128_is_refused(org: Any, plain: Any, root_id: str) -> None:
    refused(lambda: new_ou(org, root_id, "x" * 129), "InvalidInputException", "MAX_LENGTH_EXCEEDED")
    new_ou(org, root_id, "x" * 128)
    new_ou(plain, root_id, "y" * 129)


def test_ou_nesting_deeper_than_five_levels_is_refused(org: Any, plain: Any, root_id: str) -> None:
    parent = root_id
    for level in range(1, 6):
        parent = new_ou(org, parent, f"L{level}")
    refused(lambda: new_ou(org, parent, "L6"), "ConstraintViolationException", "OU_DEPTH_LIMIT_EXCEEDED")
    new_ou(plain, parent, "L6")


def test_create_ou_under_missing_parent_is_refused(org: Any, plain: Any, root_id: str) -> None:
    missing = f"ou-{root_id[2:]}-zzzzzzzz"
    refused(lambda: new_ou(org, missing, "x"), "ParentNotFoundException")
    refused(lambda: new_ou(org, "r-zzzz", "x"), "ParentNotFoundException")
    new_ou(plain, missing, "x")  # plain moto creates an OU under nothing


def test_move_account_checks_source_and_destination(org: Any, plain: Any, root_id: str) -> None:
    account = new_account(org)
    ou = new_ou(org, root_id, "Dest")
    missing = f"ou-{root_id[2:]}-zzzzzzzz"
    move = org.move_account
    refused(
        lambda: move(AccountId=account, SourceParentId=root_id, DestinationParentId=missing),
        "DestinationParentNotFoundException",
    )
    refused(
        lambda: move(AccountId=account, SourceParentId=missing, DestinationParentId=ou), "SourceParentNotFoundException"
    )
    refused(
        lambda: move(AccountId=account, SourceParentId=ou, DestinationParentId=root_id), "DuplicateAccountException"
    )
    refused(
        lambda: move(AccountId="999999999999", SourceParentId=root_id, DestinationParentId=ou),
        "AccountNotFoundException",
    )
    other = new_ou(org, root_id, "Other")
    refused(
        lambda: move(AccountId=account, SourceParentId=other, DestinationParentId=ou), "SourceParentNotFoundException"
    )
    plain.move_account(AccountId=account, SourceParentId=other, DestinationParentId=ou)  # wrong source: fine
    move(AccountId=account, SourceParentId=ou, DestinationParentId=root_id)
    assert [a["Id"] for a in org.list_accounts_for_parent(ParentId=root_id)["Accounts"]].count(account) == 1


# --------------------------------------------------------------------------------------------------
# B. Accounts


def test_create_account_stays_in_progress_until_the_delay_passes(aws: AwsSandbox, org: Any, root_id: str) -> None:
    aws.create_account_delay = 0.3
    status = org.create_account(AccountName="dev", Email="dev@example.com")["CreateAccountStatus"]
    assert status["State"] == "IN_PROGRESS"
    assert status["Id"].startswith("car-")
    assert "AccountId" not in status
    described = org.describe_create_account_status(CreateAccountRequestId=status["Id"])["CreateAccountStatus"]
    assert described["State"] == "IN_PROGRESS"
    in_progress = org.list_create_account_status(States=["IN_PROGRESS"])["CreateAccountStatuses"]
    assert [s["Id"] for s in in_progress] == [status["Id"]]
    assert org.list_create_account_status(States=["SUCCEEDED"])["CreateAccountStatuses"] == []
    emails = [a["Email"] for a in org.list_accounts()["Accounts"]]
    assert "dev@example.com" not in emails
    assert org.list_accounts_for_parent(ParentId=root_id)["Accounts"] == [
        a for a in org.list_accounts_for_parent(ParentId=root_id)["Accounts"] if a["Email"] != "dev@example.com"
    ]
    time.sleep(0.35)
    done = org.describe_create_account_status(CreateAccountRequestId=status["Id"])["CreateAccountStatus"]
    assert done["State"] == "SUCCEEDED"
    assert "CompletedTimestamp" in done
    account = org.describe_account(AccountId=done["AccountId"])["Account"]
    assert (account["Email"], account["Status"], account["Name"]) == ("dev@example.com", "ACTIVE", "dev")
    assert done["AccountId"] in [a["Id"] for a in org.list_accounts_for_parent(ParentId=root_id)["Accounts"]]
    succeeded = org.list_create_account_status(States=["SUCCEEDED"])["CreateAccountStatuses"]
    assert [s["Id"] for s in succeeded] == [status["Id"]]


def test_plain_moto_creates_accounts_synchronously(plain: Any) -> None:
    status = plain.create_account(AccountName="dev", Email="dev@example.com")["CreateAccountStatus"]
    assert status["State"] == "SUCCEEDED"


def test_create_account_with_a_used_email_fails(org: Any, plain: Any) -> None:
    new_account(org, "first", "shared@example.com")
    status = org.create_account(AccountName="second", Email="shared@example.com")["CreateAccountStatus"]
    assert status["State"] == "IN_PROGRESS"
    final = org.describe_create_account_status(CreateAccountRequestId=status["Id"])["CreateAccountStatus"]
    assert final["State"] == "FAILED"
    assert final["FailureReason"] == "EMAIL_ALREADY_EXISTS"
    assert "AccountId" not in final
    assert [a["Email"] for a in org.list_accounts()["Accounts"]].count("shared@example.com") == 1
    failed = org.list_create_account_status(States=["FAILED"])["CreateAccountStatuses"]
    assert [s["Id"] for s in failed] == [status["Id"]]
    plain_status = plain.create_account(AccountName="third", Email="shared@example.com")["CreateAccountStatus"]
    assert plain_status["State"] == "SUCCEEDED"  # plain moto creates a second account with that email


def test_two_in_progress_requests_with_one_email_create_one_account(aws: AwsSandbox, org: Any) -> None:
    aws.create_account_delay = 0.2
    first = org.create_account(AccountName="a", Email="same@example.com")["CreateAccountStatus"]["Id"]
    second = org.create_account(AccountName="b", Email="same@example.com")["CreateAccountStatus"]["Id"]
    time.sleep(0.25)
    states = [
        org.describe_create_account_status(CreateAccountRequestId=i)["CreateAccountStatus"]["State"]
        for i in (first, second)
    ]
    assert states == ["SUCCEEDED", "FAILED"]


def test_a_sixth_concurrent_account_creation_is_refused(aws: AwsSandbox, org: Any) -> None:
    aws.create_account_delay = 0.3
    for i in range(5):
        org.create_account(AccountName=f"a{i}", Email=f"a{i}@example.com")
    refused(
        lambda: org.create_account(AccountName="a5", Email="a5@example.com"),
        "ConstraintViolationException",
        "ACCOUNT_CREATION_RATE_LIMIT_EXCEEDED",
    )
    time.sleep(0.35)
    org.create_account(AccountName="a5", Email="a5@example.com")


def test_describe_unknown_create_account_request_is_refused(org: Any) -> None:
    refused(
        lambda: org.describe_create_account_status(CreateAccountRequestId="car-0123456789abcdef"),
        "CreateAccountStatusNotFoundException",
    )


def test_list_create_account_status_paginates(org: Any) -> None:
    ids = [new_account(org, f"p{i}") for i in range(3)]
    first = org.list_create_account_status(MaxResults=2)
    assert len(first["CreateAccountStatuses"]) == 2
    rest = org.list_create_account_status(MaxResults=2, NextToken=first["NextToken"])
    assert "NextToken" not in rest
    got = [s["AccountId"] for s in first["CreateAccountStatuses"] + rest["CreateAccountStatuses"]]
    assert got == ids


def test_close_account_is_pending_closure_then_suspended(aws: AwsSandbox, org: Any, plain: Any) -> None:
    account = new_account(org)
    aws.close_account_delay = 0.3
    org.close_account(AccountId=account)
    described = org.describe_account(AccountId=account)["Account"]
    assert (described["Status"], described["State"]) == ("PENDING_CLOSURE", "PENDING_CLOSURE")
    refused(lambda: org.close_account(AccountId=account), "AccountAlreadyClosedException")
    time.sleep(0.35)
    described = org.describe_account(AccountId=account)["Account"]
    assert (described["Status"], described["State"]) == ("SUSPENDED", "SUSPENDED")
    refused(lambda: org.close_account(AccountId=account), "AccountAlreadyClosedException")
    other = new_account(org, "other")
    plain.close_account(AccountId=other)
    assert plain.describe_account(AccountId=other)["Account"]["Status"] == "SUSPENDED"  # moto: immediately


def test_closing_the_management_account_is_refused(org: Any, plain: Any, mgmt_id: str) -> None:
    refused(
        lambda: org.close_account(AccountId=mgmt_id), "ConstraintViolationException", "CANNOT_CLOSE_MANAGEMENT_ACCOUNT"
    )
    assert org.describe_account(AccountId=mgmt_id)["Account"]["Status"] == "ACTIVE"
    plain.close_account(AccountId=mgmt_id)  # plain moto closes the management account


def test_close_unknown_account_is_refused(org: Any) -> None:
    refused(lambda: org.close_account(AccountId="999999999999"), "AccountNotFoundException")


def test_removing_the_management_account_is_refused(org: Any, plain: Any, mgmt_id: str) -> None:
    refused(lambda: org.remove_account_from_organization(AccountId=mgmt_id), "MasterCannotLeaveOrganizationException")
    with pytest.raises(ClientError) as info:
        plain.remove_account_from_organization(AccountId=mgmt_id)
    assert info.value.response["Error"]["Code"] == "AWSOrganizationsNotInUseException"  # moto's answer


def test_remove_member_account(aws: AwsSandbox, org: Any) -> None:
    account = new_account(org)
    refused(lambda: org.remove_account_from_organization(AccountId="999999999999"), "AccountNotFoundException")
    aws.make_standalone_ready(account)  # a created account cannot leave before (tests/sandbox/test_aws_limits.py)
    org.remove_account_from_organization(AccountId=account)
    assert account not in [a["Id"] for a in org.list_accounts()["Accounts"]]


# --------------------------------------------------------------------------------------------------
# C. Policies


def test_new_organization_has_no_policy_type_enabled_and_nothing_attached(
    org: Any, plain: Any, root_id: str, mgmt_id: str
) -> None:
    assert org.list_roots()["Roots"][0]["PolicyTypes"] == []
    assert attached(org, root_id) == []
    assert attached(org, mgmt_id) == []
    assert attached(org, root_id, RCP) == []
    ou = new_ou(org, root_id, "ou")
    account = new_account(org)
    assert attached(org, ou) == attached(org, account) == []
    assert "p-FullAWSAccess" in [p["Id"] for p in org.list_policies(Filter=SCP)["Policies"]]
    plain_ou = new_ou(plain, root_id, "plain")
    assert "p-FullAWSAccess" in attached(plain, plain_ou)  # moto attaches SCPs while SCPs are disabled


def test_attaching_a_policy_of_a_type_not_enabled_is_refused(org: Any, plain: Any, root_id: str) -> None:
    policy = new_scp(org, "deny-s3")  # CreatePolicy does not need the type enabled
    refused(lambda: org.attach_policy(PolicyId=policy, TargetId=root_id), "PolicyTypeNotEnabledException")
    plain.attach_policy(PolicyId=policy, TargetId=root_id)


def test_enabling_scp_attaches_full_aws_access_everywhere(org: Any, root_id: str, mgmt_id: str) -> None:
    ou = new_ou(org, root_id, "ou")
    account = new_account(org)
    org.enable_policy_type(RootId=root_id, PolicyType=SCP)
    assert org.list_roots()["Roots"][0]["PolicyTypes"] == [{"Type": SCP, "Status": "ENABLED"}]
    for target in (root_id, ou, account, mgmt_id):
        assert attached(org, target) == ["p-FullAWSAccess"], target
    assert attached(org, root_id, RCP) == []
    later_ou, later_account = new_ou(org, root_id, "later"), new_account(org, "later")
    assert attached(org, later_ou) == attached(org, later_account) == ["p-FullAWSAccess"]


def test_enabling_rcp_attaches_rcp_full_aws_access(org: Any, root_id: str) -> None:
    ou = new_ou(org, root_id, "ou")
    org.enable_policy_type(RootId=root_id, PolicyType=RCP)
    assert attached(org, ou, RCP) == ["p-RCPFullAWSAccess"]
    assert attached(org, ou, SCP) == []


def test_disabling_a_policy_type_detaches_its_policies(org: Any, root_id: str) -> None:
    org.enable_policy_type(RootId=root_id, PolicyType=SCP)
    ou = new_ou(org, root_id, "ou")
    policy = new_scp(org, "deny-s3")
    org.attach_policy(PolicyId=policy, TargetId=ou)
    org.disable_policy_type(RootId=root_id, PolicyType=SCP)
    assert attached(org, ou) == []
    assert org.list_targets_for_policy(PolicyId=policy)["Targets"] == []
    org.delete_policy(PolicyId=policy)


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        "[]",
        json.dumps({"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}),
        json.dumps({"Version": "2012-10-17"}),
        json.dumps({"Version": "2012-10-17", "Statement": []}),
        json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Maybe", "Action": "*", "Resource": "*"}]}),
        json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Resource": "*"}]}),
        json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": 3, "Resource": "*"}]}),
        json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Bogus": 1}]}),
        json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Principal": "*"}]}),
    ],
    ids=[
        "not-json",
        "not-object",
        "no-version",
        "no-statement",
        "empty-statement",
        "bad-effect",
        "no-action",
        "bad-action",
        "unknown-key",
        "principal-in-scp",
    ],
)
def test_malformed_scp_is_refused(org: Any, plain: Any, content: str) -> None:
    refused(
        lambda: org.create_policy(Name="p", Description="", Type=SCP, Content=content),
        "MalformedPolicyDocumentException",
    )
    policy = new_scp(org, "good")
    refused(lambda: org.update_policy(PolicyId=policy, Content=content), "MalformedPolicyDocumentException")
    plain.create_policy(Name="p", Description="", Type=SCP, Content=content)


def test_malformed_rcp_is_refused(org: Any) -> None:
    no_principal = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}
    )
    allow = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}],
        }
    )
    for content in (no_principal, allow):
        refused(
            lambda c=content: org.create_policy(Name="r", Description="", Type=RCP, Content=c),
            "MalformedPolicyDocumentException",
        )
    good = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": "*",
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        }
    )
    org.create_policy(Name="r", Description="", Type=RCP, Content=good)


def test_policy_larger_than_10240_characters_is_refused(org: Any, plain: Any) -> None:
    """AWS "What's New" 2026-05-15: 10,240 characters per SCP (was 5,120)."""
    statement = {"Effect": "Deny", "Action": "s3:*", "Resource": "*"}
    base = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    exactly = base[:-2] + " " * (10240 - len(base)) + base[-2:]  # whitespace counts, as submitted
    assert len(exactly) == 10240
    new_scp(org, "at-limit", exactly)
    too_big = base[:-2] + " " * (10241 - len(base)) + base[-2:]
    refused(
        lambda: org.create_policy(Name="big", Description="", Type=SCP, Content=too_big),
        "ConstraintViolationException",
        "POLICY_CONTENT_LIMIT_EXCEEDED",
    )
    policy = new_scp(org, "small")
    refused(
        lambda: org.update_policy(PolicyId=policy, Content=too_big),
        "ConstraintViolationException",
        "POLICY_CONTENT_LIMIT_EXCEEDED",
    )
    plain.create_policy(Name="big", Description="", Type=SCP, Content=too_big)


def test_an_eleventh_scp_on_a_target_is_refused(aws: AwsSandbox, plain: Any, root_id: str) -> None:
    """AWS "What's New" 2026-05-15: 10 SCPs per root, OU or account (was 5)."""
    org = aws.client()  # retries throttling: 22 calls exceed the sandbox's burst of 15 on an idle machine
    org.enable_policy_type(RootId=root_id, PolicyType=SCP)
    ou = new_ou(org, root_id, "ou")
    for i in range(9):  # FullAWSAccess + 9 = 10
        org.attach_policy(PolicyId=new_scp(org, f"p{i}"), TargetId=ou)
    eleventh = new_scp(org, "p10")
    refused(
        lambda: org.attach_policy(PolicyId=eleventh, TargetId=ou),
        "ConstraintViolationException",
        "MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED",
    )
    plain.attach_policy(PolicyId=eleventh, TargetId=ou)
    assert len(attached(org, ou)) == 11


def test_detaching_the_last_scp_is_refused(org: Any, plain: Any, root_id: str) -> None:
    org.enable_policy_type(RootId=root_id, PolicyType=SCP)
    ou = new_ou(org, root_id, "ou")
    detach = org.detach_policy
    refused(
        lambda: detach(PolicyId="p-FullAWSAccess", TargetId=ou),
        "ConstraintViolationException",
        "MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED",
    )
    replacement = new_scp(org, "replacement")
    org.attach_policy(PolicyId=replacement, TargetId=ou)
    detach(PolicyId="p-FullAWSAccess", TargetId=ou)  # allowed: the replacement stays
    refused(
        lambda: detach(PolicyId=replacement, TargetId=ou),
        "ConstraintViolationException",
        "MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED",
    )
    plain.detach_policy(PolicyId=replacement, TargetId=ou)
    assert attached(org, ou) == []


def test_duplicate_and_missing_attachments_are_refused(org: Any, plain: Any, root_id: str) -> None:
    org.enable_policy_type(RootId=root_id, PolicyType=SCP)
    ou = new_ou(org, root_id, "ou")
    policy = new_scp(org, "p")
    refused(lambda: org.detach_policy(PolicyId=policy, TargetId=ou), "PolicyNotAttachedException")
    plain.detach_policy(PolicyId=policy, TargetId=ou)
    org.attach_policy(PolicyId=policy, TargetId=ou)
    refused(lambda: org.attach_policy(PolicyId=policy, TargetId=ou), "DuplicatePolicyAttachmentException")
    plain.attach_policy(PolicyId=policy, TargetId=ou)
    missing = f"ou-{root_id[2:]}-zzzzzzzz"
    refused(lambda: org.attach_policy(PolicyId=policy, TargetId=missing), "TargetNotFoundException")
    refused(lambda: org.attach_policy(PolicyId="p-zzzzzzzz", TargetId=ou), "PolicyNotFoundException")


def test_rcp_full_aws_access_cannot_be_detached(org: Any, root_id: str) -> None:
    org.enable_policy_type(RootId=root_id, PolicyType=RCP)
    refused(
        lambda: org.detach_policy(PolicyId="p-RCPFullAWSAccess", TargetId=root_id),
        "InvalidInputException",
        "NON_DETACHABLE_POLICY",
    )


def test_aws_managed_policies_are_immutable(org: Any, plain: Any) -> None:
    refused(
        lambda: org.update_policy(PolicyId="p-FullAWSAccess", Name="x"), "InvalidInputException", "IMMUTABLE_POLICY"
    )
    refused(lambda: org.delete_policy(PolicyId="p-FullAWSAccess"), "InvalidInputException", "IMMUTABLE_POLICY")
    plain.update_policy(PolicyId="p-FullAWSAccess", Description="edited by plain moto")


def test_policy_names_are_unique_per_type(org: Any, plain: Any) -> None:
    new_scp(org, "guardrail")
    refused(lambda: new_scp(org, "guardrail"), "DuplicatePolicyException")
    other = new_scp(org, "other")
    refused(lambda: org.update_policy(PolicyId=other, Name="guardrail"), "DuplicatePolicyException")
    plain.update_policy(PolicyId=other, Name="guardrail")  # plain moto renames onto an existing name
    rcp = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"}],
        }
    )
    with pytest.raises(ClientError):  # plain moto refuses the same name across types
        plain.create_policy(Name="guardrail", Description="", Type=RCP, Content=rcp)
    org.create_policy(Name="guardrail", Description="", Type=RCP, Content=rcp)


def test_policy_name_longer_than_128_is_refused(org: Any) -> None:
    refused(lambda: new_scp(org, "n" * 129), "InvalidInputException", "MAX_LENGTH_EXCEEDED")
