"""The Account Management API (service ``account``, REST-JSON) as the sandbox plays it: PutAccountName and
GetAccountInformation, which moto 5.2.5 does not implement, answered from moto's Organizations state, so a rename
is what ListAccounts, DescribeAccount and ListAccountsForParent return afterwards.  Their errors have the
REST-JSON shape (HTTP status, ``x-amzn-ErrorType: <Code>`` and ``{"message": ...}``): the middleware
(:mod:`controller.sandbox.strict`) renders them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from moto.organizations.models import FakeAccount, organizations_backends

from controller.sandbox.organizations.base import (
    Middleware,
    OrganizationsError,
    _find_account,
)

#: Account Management API (service ``account``, REST-JSON): request path -> operation name.
ACCOUNT_API_PATHS = {"/putAccountName": "PutAccountName", "/getAccountInformation": "GetAccountInformation"}
ACCOUNT_API_OPERATIONS = frozenset(ACCOUNT_API_PATHS.values())
#: The trusted-access service principal of AWS Account Management.
ACCOUNT_SERVICE_PRINCIPAL = "account.amazonaws.com"
ACCOUNT_API_NAME_MAX = 50  # PutAccountName AccountName: "min": 1, "max": 50
ACCOUNT_API_NAME_RE = re.compile(r"[ -;=?-~]+")  # AccountName "pattern" (fullmatch)
ACCOUNT_API_ID_RE = re.compile(r"\d{12}")  # AccountId "pattern" (fullmatch)


# --------------------------------------------------------------------------------------------------
# Account Management API (service ``account``): PutAccountName, GetAccountInformation
#
# From botocore's ``botocore/data/account/2021-02-01/service-2.json``.  Both operations document
# exactly AccessDeniedException (403), ValidationException (400), TooManyRequestsException (429)
# and InternalServerException (500) -- *not* ResourceNotFoundException, which only other
# operations of the service (alternate contacts, primary email, ...) document.  AccountId:
#
#   "If you do not specify this parameter, it defaults to the Amazon Web Services account of the
#   identity used to call the operation.  To use this parameter, the caller must be an identity in
#   the organization's management account or a delegated administrator account, and the specified
#   account ID must be a member account in the same organization.  The organization must have all
#   features enabled, and the organization must have trusted access enabled for the Account
#   Management service [...]  The management account can't specify its own AccountId; it must
#   call the operation in standalone context by not including the AccountId parameter."
#
# A request that breaks one of those conditions is not authorised, so AWS answers
# AccessDeniedException (HTTP 403), e.g. "User: arn:aws:iam::123456789012:user/x is not authorized
# to perform: account:GetContactInformation (The management account can only be managed using the
# standalone context from the management account.)" -- wording observed from AWS and quoted in
# turbot/steampipe-plugin-aws (aws/table_aws_account_contact.go), which also observed the 403 when
# trusted access is not enabled and when a member account passes any AccountId.  moto's delegated
# administrators do not support ``account.amazonaws.com``, so only the management account may pass
# AccountId here.


def _account_validation(message: str, fields: list[dict[str, str]]) -> OrganizationsError:
    """ValidationException: "The operation failed because one of the input parameters was
    invalid." -- with ``reason`` ``fieldValidationFailed`` and the offending ``fieldList``."""
    return OrganizationsError(
        "ValidationException", message, reason="fieldValidationFailed", fields={"fieldList": fields}
    )


def _account_access_denied(
    caller: str, partition: str, operation: str, detail: str | None = None
) -> OrganizationsError:
    message = f"User: arn:{partition}:iam::{caller}:root is not authorized to perform: account:{operation}"
    if detail:
        message += f" ({detail})"
    return OrganizationsError("AccessDeniedException", message, status=403)


def _check_account_api_input(operation: str, params: dict[str, Any]) -> None:
    """The input shape's constraints, which botocore does not check client-side (it only checks
    ``min``): AccountId ``pattern`` ``\\d{12}``; AccountName ``min`` 1, ``max`` 50 and ``pattern``
    ``[ -;=?-~]+`` (printable ASCII except ``<`` and ``>``).  Messages in AWS's
    "1 validation error detected: Value at '...' failed to satisfy constraint: ..." form; the
    (sensitive) name itself is not echoed."""
    problems: list[tuple[str, str]] = []
    account_id = params.get("AccountId")
    if account_id is not None and not (isinstance(account_id, str) and ACCOUNT_API_ID_RE.fullmatch(account_id)):
        problems.append(("AccountId", "Member must satisfy regular expression pattern: \\d{12}"))
    if operation == "PutAccountName":
        name = params.get("AccountName")
        if not isinstance(name, str):
            problems.append(("AccountName", "Member must not be null"))
        elif len(name) < 1:
            problems.append(("AccountName", "Member must have length greater than or equal to 1"))
        elif len(name) > ACCOUNT_API_NAME_MAX:
            problems.append(
                ("AccountName", f"Member must have length less than or equal to {ACCOUNT_API_NAME_MAX}")
            )
        elif not ACCOUNT_API_NAME_RE.fullmatch(name):
            problems.append(("AccountName", "Member must satisfy regular expression pattern: [ -;=?-~]+"))
    if problems:
        count = len(problems)
        detail = "; ".join(
            f"Value at '{field[0].lower()}{field[1:]}' failed to satisfy constraint: {text}" for field, text in problems
        )
        raise _account_validation(
            f"{count} validation error{'s' if count > 1 else ''} detected: {detail}",
            [{"name": field, "message": text} for field, text in problems],
        )


def _account_api_target(operation: str, params: dict[str, Any], caller: str, partition: str) -> FakeAccount | None:
    """The account the request is about, or None for a caller in no organization that names no
    AccountId (its own, standalone account, of which moto has no account object).

    Without AccountId: the caller's own account -- the management account (allowed: "it must call
    the operation in standalone context by not including the AccountId parameter") or a member
    account calling for itself.  With AccountId: the caller must be the management account of an
    organization with all features and trusted access for ``account.amazonaws.com``, and the
    account a member of that organization other than the management account itself; otherwise
    AccessDeniedException (403)."""
    backend = organizations_backends[caller][partition]
    account_id = params.get("AccountId")
    if account_id is None:
        if backend.org is not None:
            return _find_account(backend, caller)
        link = organizations_backends.master_accounts.get(caller)
        if link is not None:
            return _find_account(organizations_backends[link[0]][link[1]], caller)
        return None
    if backend.org is None:
        raise _account_access_denied(caller, partition, operation)
    if account_id == caller:
        raise _account_access_denied(
            caller,
            partition,
            operation,
            "The management account can only be managed using the standalone context from the management account.",
        )
    if backend.org.feature_set != "ALL" or not any(
        s.get("ServicePrincipal") == ACCOUNT_SERVICE_PRINCIPAL for s in backend.services
    ):
        raise _account_access_denied(caller, partition, operation)
    account = _find_account(backend, str(account_id))
    if account is None:
        raise _account_access_denied(caller, partition, operation)
    return account


def _put_account_name(mw: Middleware, params: dict[str, Any], caller: str, partition: str) -> None:
    """PutAccountName: "Updates the account name of the specified account."  Renames moto's
    account object, so Organizations' ListAccounts, ListAccountsForParent and DescribeAccount
    return the new name from the next request on.  The AWS Organizations limit of 128 characters
    (CreateAccount) does not apply: this API allows 50."""
    _check_account_api_input("PutAccountName", params)
    account = _account_api_target("PutAccountName", params, caller, partition)
    name = str(params["AccountName"])
    if account is None:
        mw.standalone_account_names[(caller, partition)] = name
    else:
        account.name = name
    return None


def _get_account_information(
    mw: Middleware, params: dict[str, Any], caller: str, partition: str
) -> dict[str, Any]:
    """GetAccountInformation: "Retrieves information about the specified account including its
    account name, account ID, account creation date and time, and account state."  AccountState
    is one of PENDING_ACTIVATION | ACTIVE | SUSPENDED | CLOSED: Organizations' PENDING_CLOSURE
    (not in that list; the account is still usable until it is suspended) is reported as ACTIVE.
    AccountCreatedDate is an ISO 8601 timestamp (the output shape's ``timestampFormat``)."""
    _check_account_api_input("GetAccountInformation", params)
    account = _account_api_target("GetAccountInformation", params, caller, partition)
    if account is None:
        out: dict[str, Any] = {"AccountId": caller, "AccountState": "ACTIVE"}
        name = mw.standalone_account_names.get((caller, partition))
        if name is not None:
            out["AccountName"] = name
        return out
    state = str(account.state or account.status or "ACTIVE")
    return {
        "AccountId": account.id,
        "AccountName": account.name,
        "AccountCreatedDate": account.create_time.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "AccountState": "ACTIVE" if state == "PENDING_CLOSURE" else state,
    }


AccountApiHandler = Callable[[Middleware, "dict[str, Any]", str, str], "dict[str, Any] | None"]

ACCOUNT_API_HANDLERS: dict[str, AccountApiHandler] = {
    "PutAccountName": _put_account_name,
    "GetAccountInformation": _get_account_information,
}
