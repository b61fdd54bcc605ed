"""The sandbox serves the Account Management API's PutAccountName and GetAccountInformation.

moto 5.2.5 has no ``account`` service; the strict layer answers both operations itself, from
moto's Organizations state, over real HTTP to a boto3 ``account`` client.  AWS rules followed
(botocore's ``account/2021-02-01/service-2.json``; see ``controller.sandbox.account_api``):

* both operations document AccessDeniedException, ValidationException, TooManyRequestsException
  and InternalServerException only -- an AccountId the caller may not manage (not a member of its
  organization, the management account's own id, no trusted access) is AccessDeniedException 403;
* AccountName: 1..50 characters of ``[ -;=?-~]``, else ValidationException 400;
* errors are REST-JSON: ``x-amzn-ErrorType`` header and ``{"message": ...}`` body.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer

from controller.sandbox.aws import AwsSandbox

TRUSTED_ACCESS = "account.amazonaws.com"


@pytest.fixture
def org(aws: AwsSandbox) -> Any:
    return aws.client(max_attempts=1)


@pytest.fixture
def acct(aws: AwsSandbox) -> Any:
    return aws.account_client(max_attempts=1)


@pytest.fixture
def mgmt_id(aws: AwsSandbox) -> str:
    assert aws.ids is not None
    return aws.ids["management_account_id"]


@pytest.fixture
def member(aws: AwsSandbox, org: Any) -> str:
    """A member account, in an organization with trusted access for Account Management."""
    org.enable_aws_service_access(ServicePrincipal=TRUSTED_ACCESS)
    status = org.create_account(AccountName="before", Email="member@example.com")["CreateAccountStatus"]
    final = org.describe_create_account_status(CreateAccountRequestId=status["Id"])["CreateAccountStatus"]
    assert final["State"] == "SUCCEEDED", final
    aws.reset_calls()
    return str(final["AccountId"])


def refused(call: Any, code: str, status: int) -> ClientError:
    with pytest.raises(ClientError) as info:
        call()
    err = info.value
    assert err.response["Error"]["Code"] == code, err.response
    assert err.response["ResponseMetadata"]["HTTPStatusCode"] == status, err.response
    assert err.response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == code
    assert err.response["Error"]["Message"]
    return err


def test_rename_is_visible_through_organizations(aws: AwsSandbox, org: Any, acct: Any, member: str) -> None:
    acct.put_account_name(AccountId=member, AccountName="renamed")

    assert org.describe_account(AccountId=member)["Account"]["Name"] == "renamed"
    assert {a["Id"]: a["Name"] for a in org.list_accounts()["Accounts"]}[member] == "renamed"
    root_id = org.list_roots()["Roots"][0]["Id"]
    children = org.list_accounts_for_parent(ParentId=root_id)["Accounts"]
    assert {a["Id"]: a["Name"] for a in children}[member] == "renamed"
    assert aws.calls[0] == "PutAccountName"


def test_get_account_information_returns_the_name(aws: AwsSandbox, acct: Any, member: str) -> None:
    acct.put_account_name(AccountId=member, AccountName="Payments prod")
    info = acct.get_account_information(AccountId=member)
    assert info["AccountId"] == member
    assert info["AccountName"] == "Payments prod"
    assert info["AccountState"] == "ACTIVE"
    assert info["AccountCreatedDate"].year >= 2024
    assert aws.calls == ["PutAccountName", "GetAccountInformation"]


def test_management_account_renames_itself_without_account_id(
    org: Any, acct: Any, mgmt_id: str
) -> None:
    acct.put_account_name(AccountName="Management")
    assert org.describe_account(AccountId=mgmt_id)["Account"]["Name"] == "Management"
    info = acct.get_account_information()
    assert (info["AccountId"], info["AccountName"]) == (mgmt_id, "Management")


def test_management_account_may_not_pass_its_own_account_id(acct: Any, member: str, mgmt_id: str) -> None:
    # "The management account can't specify its own AccountId; it must call the operation in
    # standalone context by not including the AccountId parameter."
    err = refused(lambda: acct.put_account_name(AccountId=mgmt_id, AccountName="x"), "AccessDeniedException", 403)
    assert "standalone context" in err.response["Error"]["Message"]


def test_account_not_in_the_organization_is_access_denied(org: Any, acct: Any, member: str) -> None:
    # PutAccountName / GetAccountInformation do not document ResourceNotFoundException: an
    # account id the caller may not manage is an authorisation failure.
    refused(lambda: acct.put_account_name(AccountId="999999999999", AccountName="x"), "AccessDeniedException", 403)
    refused(lambda: acct.get_account_information(AccountId="999999999999"), "AccessDeniedException", 403)
    assert all(a["Name"] != "x" for a in org.list_accounts()["Accounts"])


def test_account_id_needs_trusted_access_for_account_management(org: Any, acct: Any, member: str) -> None:
    org.disable_aws_service_access(ServicePrincipal=TRUSTED_ACCESS)
    refused(lambda: acct.put_account_name(AccountId=member, AccountName="x"), "AccessDeniedException", 403)
    org.enable_aws_service_access(ServicePrincipal=TRUSTED_ACCESS)
    acct.put_account_name(AccountId=member, AccountName="x")
    assert org.describe_account(AccountId=member)["Account"]["Name"] == "x"


def test_account_name_longer_than_50_is_a_validation_exception(
    aws: AwsSandbox, org: Any, acct: Any, member: str
) -> None:
    acct.put_account_name(AccountId=member, AccountName="n" * 50)  # the maximum is allowed
    err = refused(
        lambda: acct.put_account_name(AccountId=member, AccountName="n" * 51), "ValidationException", 400
    )
    assert err.response["reason"] == "fieldValidationFailed"
    assert err.response["fieldList"][0]["name"] == "AccountName"
    assert org.describe_account(AccountId=member)["Account"]["Name"] == "n" * 50


def test_empty_or_malformed_input_is_a_validation_exception(aws: AwsSandbox, acct: Any, member: str) -> None:
    # botocore refuses an empty name client-side; the server refuses it too.
    raw = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    ).client("account", endpoint_url=aws.url, config=Config(parameter_validation=False))
    refused(lambda: raw.put_account_name(AccountId=member, AccountName=""), "ValidationException", 400)
    refused(lambda: acct.put_account_name(AccountId=member, AccountName="a<b>"), "ValidationException", 400)
    refused(lambda: acct.put_account_name(AccountId="12345", AccountName="ok"), "ValidationException", 400)


def test_injected_error_and_call_log(aws: AwsSandbox, acct: Any, member: str) -> None:
    aws.inject_error("PutAccountName", "TooManyRequestsException", status=429)
    refused(lambda: acct.put_account_name(AccountId=member, AccountName="x"), "TooManyRequestsException", 429)
    acct.put_account_name(AccountId=member, AccountName="x")
    assert aws.calls == ["PutAccountName", "PutAccountName"]
    with pytest.raises(ValueError):
        aws.inject_error("GetAlternateContact", "TooManyRequestsException")


def test_endpoint_from_env_reaches_the_account_api(
    aws: AwsSandbox, member: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in aws.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    client = boto3.session.Session().client("account")
    client.put_account_name(AccountId=member, AccountName="via env")
    assert client.get_account_information(AccountId=member)["AccountName"] == "via env"


@pytest.fixture(scope="module")
def plain_account() -> Iterator[Any]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    yield session.client(
        "account", endpoint_url=f"http://{host}:{port}", config=Config(retries={"total_max_attempts": 1})
    )
    server.stop()


def test_plain_moto_does_not_serve_put_account_name(aws: AwsSandbox, plain_account: Any, member: str) -> None:
    # moto's own server sees the same organization but has no Account Management API: its URL
    # map answers an HTML 404, which botocore reports as error code "404".
    with pytest.raises(ClientError) as info:
        plain_account.put_account_name(AccountId=member, AccountName="renamed")
    assert info.value.response["Error"]["Code"] == "404"
    assert aws.client().describe_account(AccountId=member)["Account"]["Name"] == "before"
