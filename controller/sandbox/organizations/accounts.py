"""AWS Organizations' accounts as the sandbox plays them: MoveAccount, CreateAccount and its status (asynchronous,
as in AWS), CloseAccount (PENDING_CLOSURE, then SUSPENDED) and RemoveAccountFromOrganization.  The middleware
(:mod:`controller.sandbox.strict`) completes the asynchronous requests when their time has come.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from controller.sandbox.organizations.base import (
    NAME_MAX,
    PARENT_ID_RE,
    CreateAccountRequest,
    Ctx,
    Middleware,
    OrganizationsError,
    _check_max_length,
    _constraint,
    _find_account,
    _find_container,
    _invalid,
    _require_org,
    rule,
)

#: AWS quota "Number of concurrent account creations": 5.  AWS documents the refusal as
#: ConstraintViolationException reason ACCOUNT_CREATION_RATE_LIMIT_EXCEEDED: "You attempted to
#: exceed the number of accounts that can be in progress at a time."
MAX_CREATE_ACCOUNT_IN_PROGRESS = 5
EMAIL_MAX = 64  # Email: "max": 64


@rule("MoveAccount")
def _move_account(mw: Middleware, ctx: Ctx) -> dict[str, Any] | None:
    """MoveAccount ("Moves an account from its current source parent root or organizational unit
    (OU) to the specified destination parent root or OU").

    * unknown account -> AccountNotFoundException;
    * unknown source -> SourceParentNotFoundException ("We can't find a source root or OU with the
      ParentId that you specified."), also when the account is not in that source (moto ignores
      SourceParentId entirely);
    * unknown destination -> DestinationParentNotFoundException ("We can't find the destination
      container (a root or OU) with the ParentId that you specified."); moto answers
      ParentNotFoundException for both;
    * already in the destination -> DuplicateAccountException ("That account is already present in
      the specified destination.").
    """
    backend, params = ctx.backend, ctx.params
    _require_org(backend)
    account = _find_account(backend, str(params.get("AccountId", "")))
    if account is None:
        raise OrganizationsError("AccountNotFoundException", "You specified an account that doesn't exist.")
    source_id = str(params.get("SourceParentId", ""))
    dest_id = str(params.get("DestinationParentId", ""))
    for value in (source_id, dest_id):
        if not PARENT_ID_RE.match(value):
            raise _invalid("INVALID_PATTERN", "You provided a value that doesn't match the required pattern.")
    if _find_container(backend, source_id) is None:
        raise OrganizationsError(
            "SourceParentNotFoundException",
            "We can't find a source root or OU with the ParentId that you specified.",
        )
    if _find_container(backend, dest_id) is None:
        raise OrganizationsError(
            "DestinationParentNotFoundException",
            "We can't find the destination container (a root or OU) with the ParentId that you specified.",
        )
    if account.parent_id == dest_id:
        raise OrganizationsError(
            "DuplicateAccountException", "That account is already present in the specified destination."
        )
    if account.parent_id != source_id:
        raise OrganizationsError(
            "SourceParentNotFoundException",
            "We can't find a source root or OU with the ParentId that you specified.",
        )
    account.parent_id = dest_id
    return {}


@rule("CreateAccount")
def _create_account(mw: Middleware, ctx: Ctx) -> dict[str, Any] | None:
    """CreateAccount: "This is an asynchronous request that Amazon Web Services performs in the
    background. [...] To check the status of the request, [...] Use the Id value of the
    CreateAccountStatus response element from this operation to provide as a parameter to the
    DescribeCreateAccountStatus operation."

    Answered here (moto creates the account synchronously and answers SUCCEEDED): the answer is
    always ``State: IN_PROGRESS``; the account appears (in ListAccounts, ListAccountsForParent,
    DescribeAccount) only ``create_account_delay`` seconds later, when the request becomes
    SUCCEEDED -- or FAILED with ``FailureReason: EMAIL_ALREADY_EXISTS`` if an account of the
    organization already uses that email ("another Amazon Web Services account with that email
    address already exists"), in which case no account is created.  With a delay of 0 the very
    next request already sees the outcome.

    Too many requests in progress: AWS documents ConstraintViolationException reason
    ACCOUNT_CREATION_RATE_LIMIT_EXCEEDED -- "You attempted to exceed the number of accounts that
    can be in progress at a time." -- and the quota "Number of concurrent account creations" is 5,
    so a 6th request while 5 are IN_PROGRESS is refused that way (not TooManyRequestsException,
    which is AWS's generic API throttling, nor ConcurrentModificationException, which is about one
    target being modified by two requests).
    """
    backend, params = ctx.backend, ctx.params
    _require_org(backend)
    _check_max_length(params.get("AccountName"), NAME_MAX)
    _check_max_length(params.get("Email"), EMAIL_MAX)
    in_progress = [
        r for r in mw.create_requests.values() if r.backend_key == ctx.backend_key and r.state == "IN_PROGRESS"
    ]
    if len(in_progress) >= MAX_CREATE_ACCOUNT_IN_PROGRESS:
        raise _constraint(
            "ACCOUNT_CREATION_RATE_LIMIT_EXCEEDED",
            "You attempted to exceed the number of accounts that can be in progress at a time.",
        )
    now = time.time()
    req = CreateAccountRequest(
        id=f"car-{uuid.uuid4().hex}",
        backend_key=ctx.backend_key,
        params=dict(params),
        requested=now,
        ready_at=now + mw.create_account_delay,
    )
    mw.create_requests[req.id] = req
    return {"CreateAccountStatus": req.describe()}  # always IN_PROGRESS, even with a delay of 0


@rule("DescribeCreateAccountStatus")
def _describe_create_account_status(mw: Middleware, ctx: Ctx) -> dict[str, Any] | None:
    """DescribeCreateAccountStatus: "Retrieves the current status of an asynchronous request to
    create an account."  Unknown id -> CreateAccountStatusNotFoundException ("We can't find an
    create account request with the CreateAccountRequestId that you specified."); moto answers
    AccountNotFoundException and knows nothing of IN_PROGRESS or FAILED requests.
    """
    _require_org(ctx.backend)
    req = mw.create_requests.get(str(ctx.params.get("CreateAccountRequestId", "")))
    if req is None or req.backend_key != ctx.backend_key:
        raise OrganizationsError(
            "CreateAccountStatusNotFoundException",
            "We can't find an create account request with the CreateAccountRequestId that you specified.",
        )
    return {"CreateAccountStatus": req.describe()}


@rule("ListCreateAccountStatus")
def _list_create_account_status(mw: Middleware, ctx: Ctx) -> dict[str, Any] | None:
    """ListCreateAccountStatus: "Lists the account creation requests that match the specified
    status" -- States: "A list of one or more states that you want included in the response. If
    this parameter isn't present, all requests are included in the response."  Answered from the
    middleware's own request records (moto lists the management account, which was never a
    CreateAccount request, and only SUCCEEDED states)."""
    _require_org(ctx.backend)
    states = ctx.params.get("States") or ["IN_PROGRESS", "SUCCEEDED", "FAILED"]
    matching = [
        r.describe() for r in mw.create_requests.values() if r.backend_key == ctx.backend_key and r.state in states
    ]
    try:
        start = int(ctx.params.get("NextToken") or 0)
        max_results = int(ctx.params.get("MaxResults") or 20)
    except ValueError:
        raise _invalid("INVALID_NEXT_TOKEN", "You specified an invalid value for nextToken.") from None
    page = matching[start : start + max_results]
    out: dict[str, Any] = {"CreateAccountStatuses": page}
    if start + max_results < len(matching):
        out["NextToken"] = str(start + max_results)
    return out


@rule("CloseAccount")
def _close_account(mw: Middleware, ctx: Ctx) -> dict[str, Any] | None:
    """CloseAccount: "This is an asynchronous request [...] While the close account request is in
    progress, Account status will indicate PENDING_CLOSURE. When the close account request
    completes, the status will change to SUSPENDED."  (moto suspends immediately.)  The account's
    Status and State are PENDING_CLOSURE for ``close_account_delay`` seconds, then SUSPENDED.

    * already closed (PENDING_CLOSURE or SUSPENDED) -> AccountAlreadyClosedException ("You
      attempted to close an account that is already closed.");
    * the management account -> ConstraintViolationException CANNOT_CLOSE_MANAGEMENT_ACCOUNT ("You
      attempted to close the management account."; "You can't close the management account with
      this API."); moto closes it;
    * unknown account -> AccountNotFoundException.
    """
    backend = ctx.backend
    _require_org(backend)
    account_id = str(ctx.params.get("AccountId", ""))
    account = _find_account(backend, account_id)
    if account is None:
        raise OrganizationsError(
            "AccountNotFoundException",
            "We can't find an Amazon Web Services account with the AccountId that you specified.",
        )
    if account_id == backend.org.master_account_id:
        raise _constraint(
            "CANNOT_CLOSE_MANAGEMENT_ACCOUNT",
            "You attempted to close the management account. To close the management account for the "
            "organization, you must first either remove or close all member accounts in the organization.",
        )
    if account.status in ("PENDING_CLOSURE", "SUSPENDED"):
        raise OrganizationsError(
            "AccountAlreadyClosedException", "You attempted to close an account that is already closed."
        )
    account.status = "PENDING_CLOSURE"
    account.state = "PENDING_CLOSURE"
    mw.pending_closures[(ctx.backend_key, account_id)] = time.time() + mw.close_account_delay
    return {}


@rule("RemoveAccountFromOrganization")
def _remove_account(mw: Middleware, ctx: Ctx) -> dict[str, Any] | None:
    """RemoveAccountFromOrganization of the management account -> MasterCannotLeaveOrganization-
    Exception: "You can't remove a management account from an organization. If you want the
    management account to become a member account in another organization, you must first delete
    the current organization of the management account."  This is the dedicated exception the
    operation documents for exactly that case (the generic ConstraintViolationException reason
    ACCOUNT_CANNOT_LEAVE_ORGANIZATION is shared with LeaveOrganization); moto answers
    AWSOrganizationsNotInUseException.  Unknown account -> AccountNotFoundException (moto:
    AWSOrganizationsNotInUseException).
    """
    backend = ctx.backend
    _require_org(backend)
    account_id = str(ctx.params.get("AccountId", ""))
    if account_id == backend.org.master_account_id:
        raise OrganizationsError(
            "MasterCannotLeaveOrganizationException",
            "You can't remove a management account from an organization. If you want the management "
            "account to become a member account in another organization, you must first delete the "
            "current organization of the management account.",
        )
    if _find_account(backend, account_id) is None:
        raise OrganizationsError(
            "AccountNotFoundException",
            "We can't find an Amazon Web Services account with the AccountId that you specified.",
        )
    for key in [k for k in mw.pending_closures if k == (ctx.backend_key, account_id)]:
        del mw.pending_closures[key]
    return None

