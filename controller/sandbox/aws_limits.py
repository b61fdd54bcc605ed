"""AWS's limits and quotas in the sandbox: what AWS Organizations refuses and moto lets through.

Registered as *checks* on :mod:`controller.sandbox.strict` (they run before the operation's rule, and refuse with
AWS's error shape), plus one CreateAccount outcome (the accounts-per-organization quota).  Importing this module
registers them; :mod:`controller.sandbox.aws` does.

This is the sandbox's OWN copy of AWS's limits, written from the same AWS sources as
:mod:`controller.api.limits` but not read from it: the sandbox plays AWS, and a mistake in the operator's copy
must not cancel itself out here.  ``tests/sandbox/test_aws_limits.py`` compares the two.

Sources (quoted beside each rule): botocore's ``organizations/2016-11-28/service-2.json`` (botocore 1.44.8),
the Organizations User Guide's "Quotas and service limits" and "RCP syntax" pages (read 2026-12-07), AWS "What's
New" 2026-05-15 "AWS Organizations increased SCP quotas", IAM's "JSON policy elements: Sid".

The SCP/RCP attachment and size quotas are :class:`Quotas` settings (AWS's current figures by default; a test
lowers one to play an organization whose quota is below what the operator was told): the AttachPolicy rule
(organizations/policies.py) and the document check (organizations/policy_grammar.py) keep their own tables, which
this module sets to the same current figures at import and refuses beyond the settings first.
"""

from __future__ import annotations

import copy
import json
import time
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from controller.sandbox.organizations import policies, policy_grammar
from controller.sandbox.organizations.base import (
    CreateAccountRequest,
    Ctx,
    OrganizationsError,
    _constraint,
    _find_account,
    _find_policy,
    _find_target,
    _invalid,
    _require_org,
    _require_target,
    _root,
    check,
    create_account_outcome,
)
from controller.sandbox.strict import StrictOrganizations

# --------------------------------------------------------------------------------------------------
# The sandbox's copy of the limits

#: TagKey ``"max": 128, "min": 1``; TagValue ``"max": 256, "min": 0``; both ``"pattern":
#: "^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$"`` (Unicode letters, separators, numbers and ``_.:/=+-@``).
TAG_KEY_MAX = 128
TAG_VALUE_MAX = 256
TAG_EXTRA_CHARACTERS = frozenset("_.:/=+-@")
#: Tagging resources, "Maximum number of tags per resource: 50"; ConstraintViolationException
#: MAX_TAG_LIMIT_EXCEEDED: "You have exceeded the number of tags allowed on this resource."
MAX_TAGS = 50
#: InvalidInputException INVALID_SYSTEM_TAGS_PARAMETER: "You specified a tag key that is a system tag. You can't
#: add, edit, or delete system tag keys because they're reserved for Amazon Web Services use."
SYSTEM_TAG_PREFIX = "aws:"
#: CreateAccountName ``"max": 50, "min": 1, "pattern": "[\\u0020-\\u007E]+"``
CREATE_ACCOUNT_NAME_MAX = 50
#: Email ``"max": 64, "min": 6, "pattern": "[^\\s@]+@[^\\s@]+\\.[^\\s@]+"``
EMAIL_MIN = 6
EMAIL_MAX = 64
#: CreateAccount, Email: "The rules for a valid email address: ... All characters must be 7-bit ASCII characters.
#: There must be one and only one @ symbol ... The local name can't contain any of the following characters:
#: whitespace, " ' ( ) < > [ ] : ; , \\ | % & - The local name can't begin with a dot (.) - The domain name can
#: consist of only the characters [a-z],[A-Z],[0-9], hyphen (-), or dot (.) - The domain name can't begin or end
#: with a hyphen (-) or dot (.) - The domain name must contain at least one dot".  The model's pattern lets such
#: addresses through; the request then ends FAILED with FailureReason INVALID_EMAIL: "The account could not be
#: created because the email address you provided is not valid."
EMAIL_LOCAL_REFUSED = frozenset(' \t\n\r\f\v"\'()<>[]:;,\\|%&')
EMAIL_DOMAIN_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.")
#: AWS "What's New", 2026-05-15, "AWS Organizations increased SCP quotas": 10 SCPs per root, OU or account and
#: 10,240 characters per SCP, automatically in every partition.  RCPs: quotas page, 5 per target, 5,120 characters.
#: ConstraintViolationException MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED / POLICY_CONTENT_LIMIT_EXCEEDED beyond.
POLICIES_PER_TARGET = {"SERVICE_CONTROL_POLICY": 10, "RESOURCE_CONTROL_POLICY": 5}
POLICY_SIZE = {"SERVICE_CONTROL_POLICY": 10240, "RESOURCE_CONTROL_POLICY": 5120}
policies.MAX_ATTACHMENTS_PER_TYPE.update(POLICIES_PER_TARGET)
policy_grammar.MAX_POLICY_SIZE.update(POLICY_SIZE)
#: IAM, "JSON policy elements: Sid": "The Sid element supports ASCII uppercase letters (A-Z), lowercase letters
#: (a-z), and numbers (0-9)."
SID_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
#: Quotas: "Default maximum number of accounts: 10" (adjustable); the CreateAccount request ends FAILED with
#: FailureReason ACCOUNT_LIMIT_EXCEEDED: "The account couldn't be created because you reached the limit on the
#: number of accounts in your organization."  Closed accounts count until closed for good.
DEFAULT_MAX_ACCOUNTS = 10
#: Quotas: "Minimum age of a created account to remove it: 7 days".
MIN_DAYS_BEFORE_REMOVAL = 7
#: CloseAccount: "Within a rolling 30 day period you can close the higher of either 250 or 20% of the member
#: accounts in your organization, up to a maximum of 1,000."  ConstraintViolationException
#: CLOSE_ACCOUNT_QUOTA_EXCEEDED: "You have exceeded close account quota for the past 30 days."
CLOSE_QUOTA_WINDOW = 30 * 86400
CLOSE_QUOTA_FLOOR, CLOSE_QUOTA_SHARE, CLOSE_QUOTA_CEILING = 250, 0.20, 1000
#: RCP syntax, elements summary: NotAction and NotPrincipal are not supported; "Principal: Only "*" is supported";
#: "The effect of Allow is only supported for the RCPFullAWSAccess policy".
RCP_UNSUPPORTED_ELEMENTS = ("NotAction", "NotPrincipal")
#: "List of AWS services that support RCPs" (IAM service prefixes).
RCP_SERVICES = frozenset({"s3", "sts", "kms", "sqs", "secretsmanager", "ecr", "aoss", "cognito-idp", "logs",
                          "dynamodb"})

#: The reasons AWS gives for RemoveAccountFromOrganization of an account not ready to stand alone, in the order
#: the sandbox reports them (ConstraintViolationException reasons):
#: WAIT_PERIOD_ACTIVE: "After you create an Amazon Web Services account, you must wait until at least four days
#: after the account was created. Invited accounts aren't subject to this waiting period." (quotas: 7 days);
#: ACCOUNT_CANNOT_LEAVE_WITHOUT_PHONE_VERIFICATION: "You attempted to remove an account from the organization that
#: doesn't yet have enough information to exist as a standalone account. This account requires you to first
#: complete phone verification.";
#: MEMBER_ACCOUNT_PAYMENT_INSTRUMENT_REQUIRED: "To complete this operation with this member account, you first must
#: associate a valid payment instrument, such as a credit card, with the account."
STANDALONE_REASONS = ("WAIT_PERIOD_ACTIVE", "ACCOUNT_CANNOT_LEAVE_WITHOUT_PHONE_VERIFICATION",
                      "MEMBER_ACCOUNT_PAYMENT_INSTRUMENT_REQUIRED")
_STANDALONE_MESSAGES = {
    "WAIT_PERIOD_ACTIVE": "After you create an Amazon Web Services account, you must wait until at least "
                          f"{MIN_DAYS_BEFORE_REMOVAL} days after the account was created.",
    "ACCOUNT_CANNOT_LEAVE_WITHOUT_PHONE_VERIFICATION": "You attempted to remove an account from the organization "
    "that doesn't yet have enough information to exist as a standalone account. This account requires you to "
    "first complete phone verification.",
    "MEMBER_ACCOUNT_PAYMENT_INSTRUMENT_REQUIRED": "To complete this operation with this member account, you first "
    "must associate a valid payment instrument, such as a credit card, with the account.",
}


# --------------------------------------------------------------------------------------------------
# Settings and state


@dataclass
class Quotas:
    """The sandbox's settings for these rules (kept across :meth:`reset`) and what they count (cleared by it)."""

    max_accounts: int = DEFAULT_MAX_ACCOUNTS
    close_quota: int | None = None  # None: AWS's figure (see CLOSE_QUOTA_*)
    policies_per_target: dict[str, int] = field(default_factory=lambda: dict(POLICIES_PER_TARGET))
    policy_size: dict[str, int] = field(default_factory=lambda: dict(POLICY_SIZE))
    enable_policy_type_delay: float = 0.0  # seconds a type stays PENDING_ENABLE
    #: created accounts are ready to stand alone unless listed in ``standalone`` (what a person did for each)
    standalone_by_default: bool = False
    finalizing_until: float = 0.0  # time until which the organization "hasn't finished initializing"
    #: account id -> the reasons it cannot leave yet; created accounts not listed have all STANDALONE_REASONS
    standalone: dict[str, tuple[str, ...]] = field(default_factory=dict)
    closures: list[tuple[tuple[str, str], float]] = field(default_factory=list)
    pending_types: dict[tuple[tuple[str, str], str], float] = field(default_factory=dict)

    def defaults(self) -> None:
        """The settings as AWS has them for a new organization (kept across :meth:`reset` otherwise)."""
        self.max_accounts, self.close_quota, self.enable_policy_type_delay = DEFAULT_MAX_ACCOUNTS, None, 0.0
        self.standalone_by_default = False
        self.policies_per_target, self.policy_size = dict(POLICIES_PER_TARGET), dict(POLICY_SIZE)

    def reset(self) -> None:
        self.standalone.clear()
        self.closures.clear()
        self.pending_types.clear()
        self.finalizing_until = 0.0

    def remaining(self, account: Any) -> tuple[str, ...]:
        """The reasons the account cannot leave the organization yet (none for an account that was invited)."""
        if getattr(account, "create_account_status_id", None) is None:
            return ()
        return self.standalone.get(account.id, () if self.standalone_by_default else STANDALONE_REASONS)


_QUOTAS: dict[int, Quotas] = {}


def quotas(mw: StrictOrganizations) -> Quotas:
    return _QUOTAS.setdefault(id(mw), Quotas())


# --------------------------------------------------------------------------------------------------
# Tags


def tag_text_ok(text: str) -> bool:
    """TagKey/TagValue pattern: every character a Unicode letter (L*), separator (Z*) or number (N*), or _.:/=+-@."""
    return all(unicodedata.category(c)[0] in "LZN" or c in TAG_EXTRA_CHARACTERS for c in text)


def check_tags(tags: Any, existing: Iterable[str] = ()) -> None:
    """The Tags of CreateAccount, CreateOrganizationalUnit, CreatePolicy and TagResource."""
    if not isinstance(tags, list):
        return
    keys = [str(t.get("Key", "")) for t in tags if isinstance(t, dict)]
    for tag in tags:
        if not isinstance(tag, dict):
            continue
        key, value = str(tag.get("Key", "")), str(tag.get("Value", ""))
        if len(key) > TAG_KEY_MAX or len(value) > TAG_VALUE_MAX:
            raise _invalid("MAX_LENGTH_EXCEEDED", "You provided a string parameter that is longer than allowed.")
        if not tag_text_ok(key) or not tag_text_ok(value):
            raise _invalid("INVALID_PATTERN", "You provided a value that doesn't match the required pattern.")
        if key.lower().startswith(SYSTEM_TAG_PREFIX):
            raise _invalid("INVALID_SYSTEM_TAGS_PARAMETER", "You specified a tag key that is a system tag. You can't "
                           "add, edit, or delete system tag keys because they're reserved for Amazon Web Services use.")
    if len(set(keys)) != len(keys):
        raise _invalid("DUPLICATE_TAG_KEY", "Tag keys must be unique among the tags attached to the same entity.")
    if len(set(keys) | set(existing)) > MAX_TAGS:
        raise _constraint("MAX_TAG_LIMIT_EXCEEDED", "You have exceeded the number of tags allowed on this resource.")


@check("CreateOrganizationalUnit")
@check("CreatePolicy")
def _tags_on_create(mw: StrictOrganizations, ctx: Ctx) -> None:
    check_tags(ctx.params.get("Tags"))


def _tagged(backend: Any, resource_id: str) -> Any:
    return _find_target(backend, resource_id) or _find_policy(backend, resource_id)


@check("TagResource")
def _tag_resource(mw: StrictOrganizations, ctx: Ctx) -> None:
    resource = _tagged(ctx.backend, str(ctx.params.get("ResourceId", "")))
    tags = ctx.params.get("Tags")
    new = {str(t.get("Key")) for t in tags if isinstance(t, dict)} if isinstance(tags, list) else set()
    check_tags(tags, set(getattr(resource, "tags", {}) or {}) - new)


@check("UntagResource")
def _untag_resource(mw: StrictOrganizations, ctx: Ctx) -> None:
    keys = ctx.params.get("TagKeys")
    if isinstance(keys, list) and any(str(k).lower().startswith(SYSTEM_TAG_PREFIX) for k in keys):
        raise _invalid("INVALID_SYSTEM_TAGS_PARAMETER", "You specified a tag key that is a system tag. You can't "
                       "add, edit, or delete system tag keys because they're reserved for Amazon Web Services use.")


# --------------------------------------------------------------------------------------------------
# Accounts


@check("CreateAccount")
def _create_account(mw: StrictOrganizations, ctx: Ctx) -> None:
    """AccountName (CreateAccountName) and Email, as the model constrains them (botocore checks only ``min``
    client-side); FinalizingOrganizationException: "Organizations couldn't perform the operation because your
    organization hasn't finished initializing. This can take up to an hour. Try again later."."""
    _require_org(ctx.backend)
    if time.time() < quotas(mw).finalizing_until:
        raise OrganizationsError("FinalizingOrganizationException", "Organizations couldn't perform the operation "
                                 "because your organization hasn't finished initializing. This can take up to an "
                                 "hour. Try again later.")
    name, email = ctx.params.get("AccountName"), ctx.params.get("Email")
    if isinstance(name, str):
        if len(name) > CREATE_ACCOUNT_NAME_MAX:
            raise _invalid("MAX_LENGTH_EXCEEDED", "You provided a string parameter that is longer than allowed.")
        if not name or not all("\u0020" <= c <= "\u007e" for c in name):
            raise _invalid("INVALID_PATTERN", "You provided a value that doesn't match the required pattern.")
    if isinstance(email, str):
        if len(email) > EMAIL_MAX:
            raise _invalid("MAX_LENGTH_EXCEEDED", "You provided a string parameter that is longer than allowed.")
        local, at, domain = email.partition("@")
        host, dot, tld = domain.rpartition(".")
        if (len(email) < EMAIL_MIN or not (at and dot and local and host and tld)
                or any(c.isspace() or c == "@" for c in local + host + tld)):
            raise _invalid("INVALID_PATTERN", "You provided a value that doesn't match the required pattern.")
    check_tags(ctx.params.get("Tags"))


def email_valid(email: str) -> bool:
    """CreateAccount's rules for a valid email address (EMAIL_* above); the length is the model's, checked first."""
    if not EMAIL_MIN <= len(email) <= EMAIL_MAX or not email.isascii() or email.count("@") != 1:
        return False
    local, _, domain = email.partition("@")
    return (bool(local) and not local.startswith(".") and not any(c in EMAIL_LOCAL_REFUSED or ord(c) < 32
                                                                  or ord(c) == 127 for c in local)
            and bool(domain) and all(c in EMAIL_DOMAIN_CHARACTERS for c in domain)
            and domain[0] not in "-." and domain[-1] not in "-." and "." in domain)


@create_account_outcome
def _invalid_email(mw: StrictOrganizations, backend: Any, req: CreateAccountRequest) -> str | None:
    email = req.params.get("Email")
    return "INVALID_EMAIL" if isinstance(email, str) and not email_valid(email) else None


def _accounts_counted(mw: StrictOrganizations, backend: Any, backend_key: tuple[str, str]) -> int:
    """What the accounts quota counts: the accounts (management, closed ones included) and the open invitations
    (quotas page: "Invitations sent to accounts count against this quota", returned when the invitation ends)."""
    from controller.sandbox.organizations.invitations import open_invitations

    return len(backend.accounts) + len(open_invitations(mw, backend_key))


@create_account_outcome
def _account_quota(mw: StrictOrganizations, backend: Any, req: CreateAccountRequest) -> str | None:
    """The accounts-per-organization quota, counted when the request completes (management account included)."""
    return ("ACCOUNT_LIMIT_EXCEEDED" if _accounts_counted(mw, backend, req.backend_key) >= quotas(mw).max_accounts
            else None)


@check("InviteAccountToOrganization")
def _invite_quota(mw: StrictOrganizations, ctx: Ctx) -> None:
    """HandshakeConstraintViolationException ACCOUNT_NUMBER_LIMIT_EXCEEDED: "You attempted to exceed the limit on
    the number of accounts in an organization. Note that deleted and closed accounts still count toward your
    limit."  Open invitations count (see :func:`_accounts_counted`)."""
    _require_org(ctx.backend)
    if _accounts_counted(mw, ctx.backend, ctx.backend_key) >= quotas(mw).max_accounts:
        raise OrganizationsError("HandshakeConstraintViolationException", "You attempted to exceed the limit on the "
                                 "number of accounts in an organization. Note that deleted and closed accounts still "
                                 "count toward your limit.", reason="ACCOUNT_NUMBER_LIMIT_EXCEEDED")


@check("RemoveAccountFromOrganization")
def _remove_account(mw: StrictOrganizations, ctx: Ctx) -> None:
    """"You can remove an account from your organization only if the account is configured with the information
    required to operate as a standalone account. When you create an account in an organization using the
    Organizations console, API, or CLI commands, the information required of standalone accounts is not
    automatically collected." (RemoveAccountFromOrganization).  The first missing piece is the Reason."""
    account = _find_account(ctx.backend, str(ctx.params.get("AccountId", "")))
    if account is None or ctx.backend.org is None or account.id == ctx.backend.org.master_account_id:
        return  # the rule answers those
    remaining = quotas(mw).remaining(account)
    if remaining:
        raise _constraint(remaining[0], _STANDALONE_MESSAGES[remaining[0]])
    # "The account that you want to leave must not be a delegated administrator account for any Amazon Web
    # Services service enabled for your organization." -> CANNOT_REMOVE_DELEGATED_ADMINISTRATOR_FROM_ORG: "You
    # attempted to remove an account that is registered as a delegated administrator for a service integrated with
    # your organization. To complete this operation, you must first deregister this account as a delegated
    # administrator."
    if any(admin.account.id == account.id and admin.services for admin in ctx.backend.admins):
        raise _constraint("CANNOT_REMOVE_DELEGATED_ADMINISTRATOR_FROM_ORG", "You attempted to remove an account that "
                          "is registered as a delegated administrator for a service integrated with your "
                          "organization. To complete this operation, you must first deregister this account as a "
                          "delegated administrator.")


@check("CloseAccount")
def _close_account(mw: StrictOrganizations, ctx: Ctx) -> None:
    """The closure quota over a rolling 30 days (see CLOSE_QUOTA_*); a refused request does not count."""
    backend = ctx.backend
    _require_org(backend)
    account = _find_account(backend, str(ctx.params.get("AccountId", "")))
    if account is None or account.id == backend.org.master_account_id or account.status != "ACTIVE":
        return  # the rule answers those
    q = quotas(mw)
    now = time.time()
    q.closures[:] = [(k, t) for k, t in q.closures if t > now - CLOSE_QUOTA_WINDOW]
    members = len(backend.accounts) - 1
    limit = q.close_quota if q.close_quota is not None else min(
        CLOSE_QUOTA_CEILING, max(CLOSE_QUOTA_FLOOR, int(members * CLOSE_QUOTA_SHARE)))
    if sum(k == ctx.backend_key for k, _ in q.closures) >= limit:
        raise _constraint("CLOSE_ACCOUNT_QUOTA_EXCEEDED", "You have exceeded close account quota for the past 30 "
                          "days.")
    q.closures.append((ctx.backend_key, now))


# --------------------------------------------------------------------------------------------------
# Policies: RCP elements and services, policy types going through PENDING_ENABLE


def _malformed(detail: str) -> OrganizationsError:
    return OrganizationsError("MalformedPolicyDocumentException", "The provided policy document does not meet the "
                              f"requirements of the specified policy type: {detail}")


def check_rcp(content: Any) -> None:
    """RCP syntax: no NotAction or NotPrincipal, Principal "*" only, actions of the supported services only."""
    try:
        doc = json.loads(content) if isinstance(content, str) else None
    except ValueError:
        return  # the rule's document check answers
    statements = doc.get("Statement") if isinstance(doc, dict) else None
    for stmt in statements if isinstance(statements, list) else [statements]:
        if not isinstance(stmt, dict):
            continue
        for element in RCP_UNSUPPORTED_ELEMENTS:
            if element in stmt:
                raise _malformed(f"{element} is not supported in a resource control policy")
        if "Principal" in stmt and stmt["Principal"] != "*":
            raise _malformed('the Principal of a resource control policy must be "*"')
        actions = stmt.get("Action")
        for action in actions if isinstance(actions, list) else [actions]:
            if isinstance(action, str) and ":" in action and action.split(":", 1)[0].lower() not in RCP_SERVICES:
                raise _malformed(f"{action} is not an action of a service that supports resource control policies")


def _policy_type(ctx: Ctx) -> str:
    if "Type" in ctx.params:
        return str(ctx.params["Type"])
    if "PolicyType" in ctx.params:
        return str(ctx.params["PolicyType"])
    policy = _find_policy(ctx.backend, str(ctx.params.get("PolicyId", "")))
    return str(policy.type) if policy is not None else ""


@check("CreatePolicy")
@check("UpdatePolicy")
def _rcp_document(mw: StrictOrganizations, ctx: Ctx) -> None:
    if _policy_type(ctx) == "RESOURCE_CONTROL_POLICY" and "Content" in ctx.params:
        check_rcp(ctx.params["Content"])


@check("CreatePolicy")
@check("UpdatePolicy")
def _policy_size_and_sids(mw: StrictOrganizations, ctx: Ctx) -> None:
    """The size quota (``Quotas.policy_size``: "You attempted to create a policy that is larger than the maximum
    size.") and IAM's Sid characters, for SCPs and RCPs."""
    policy_type, content = _policy_type(ctx), ctx.params.get("Content")
    if policy_type not in POLICY_SIZE or not isinstance(content, str):
        return
    limit = quotas(mw).policy_size.get(policy_type, POLICY_SIZE[policy_type])
    if len(content) > limit:
        raise _constraint("POLICY_CONTENT_LIMIT_EXCEEDED",
                          f"The policy content exceeds the maximum size of {limit} characters for {policy_type}.")
    try:
        doc = json.loads(content)
    except ValueError:
        return  # the rule's document check answers
    statements = doc.get("Statement") if isinstance(doc, dict) else None
    for stmt in statements if isinstance(statements, list) else [statements]:
        sid = stmt.get("Sid") if isinstance(stmt, dict) else None
        if isinstance(sid, str) and not set(sid) <= SID_CHARACTERS:
            raise _malformed(f"the Sid {sid!r} may contain only letters and digits")


@check("AttachPolicy")
def _attachments(mw: StrictOrganizations, ctx: Ctx) -> None:
    """``Quotas.policies_per_target``: ConstraintViolationException MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED "You
    attempted to exceed the number of policies of a certain type that can be attached to an entity at one time."
    (the rule answers the rest: an unknown policy or target, a type not enabled, a duplicate)."""
    policy = _find_policy(ctx.backend, str(ctx.params.get("PolicyId", "")))
    target = _find_target(ctx.backend, str(ctx.params.get("TargetId", "")))
    if policy is None or target is None or policy in target.attached_policies:
        return
    limit = quotas(mw).policies_per_target.get(policy.type)
    if limit is not None and sum(p.type == policy.type for p in target.attached_policies) >= limit:
        raise _constraint("MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED", "You attempted to exceed the number of "
                          "policies of a certain type that can be attached to an entity at one time.")


def pending(mw: StrictOrganizations, backend_key: tuple[str, str], policy_type: str) -> bool:
    ready_at = quotas(mw).pending_types.get((backend_key, policy_type))
    return ready_at is not None and time.time() < ready_at


@check("AttachPolicy")
@check("DetachPolicy")
@check("UpdatePolicy")
@check("EnablePolicyType")
@check("DisablePolicyType")
def _policy_changes_in_progress(mw: StrictOrganizations, ctx: Ctx) -> None:
    """EnablePolicyType: "This is an asynchronous request that Amazon Web Services performs in the background."
    While the type is PENDING_ENABLE (PolicyTypeStatus) in the root, the operations that document
    PolicyChangesInProgressException answer it: "Changes to the effective policy are in progress, and its contents
    can't be returned. Try the operation again later."  The type stays pending ``enable_policy_type_delay``
    seconds."""
    policy_type = _policy_type(ctx)
    if policy_type and pending(mw, ctx.backend_key, policy_type):
        raise OrganizationsError("PolicyChangesInProgressException", "Changes to the effective policy are in "
                                 "progress, and its contents can't be returned. Try the operation again later.")
    if ctx.operation == "EnablePolicyType" and quotas(mw).enable_policy_type_delay > 0:
        root = _root(ctx.backend)
        if root is not None and not any(t.get("Type") == policy_type for t in root.policy_types):
            delay = quotas(mw).enable_policy_type_delay
            quotas(mw).pending_types[(ctx.backend_key, policy_type)] = time.time() + delay


@check("ListRoots")
def _list_roots(mw: StrictOrganizations, ctx: Ctx) -> dict[str, Any] | None:
    """ListRoots shows a type being enabled as ``PENDING_ENABLE`` (moto enables at once)."""
    if ctx.backend.org is None or not any(pending(mw, ctx.backend_key, t) for _, t in quotas(mw).pending_types):
        return None
    answer: dict[str, Any] = copy.deepcopy(ctx.backend.list_roots())  # moto's describe() shares its state
    for root in answer.get("Roots", []):
        for entry in root.get("PolicyTypes", []):
            if pending(mw, ctx.backend_key, str(entry.get("Type"))):
                entry["Status"] = "PENDING_ENABLE"
    return answer


@check("ListPoliciesForTarget")
def _list_policies_for_target(mw: StrictOrganizations, ctx: Ctx) -> None:
    """TargetNotFoundException: "We can't find a root, OU, account, or policy with the TargetId that you
    specified." (moto answers an empty list, or another error, for a target that does not exist)."""
    _require_org(ctx.backend)
    _require_target(ctx.backend, ctx.params.get("TargetId"))
