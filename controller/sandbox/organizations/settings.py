"""The organization's settings as the sandbox plays them: all features (a handshake every invited account
approves), trusted access and delegated administrators.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from moto.organizations.models import FakeDelegatedAdministrator, organizations_backends

from controller.sandbox.organizations.base import (
    Ctx,
    Handshake,
    Middleware,
    OrganizationsError,
    _constraint,
    _find_account,
    _invalid,
    _require_org,
    rule,
)

# --------------------------------------------------------------------------------------------------
# The organization's settings: all features, trusted access, delegated administrators
#
# From botocore's service-2.json (ConstraintViolationException reasons) and the Organizations User
# Guide ("Delegated administrator for AWS services that work with Organizations", "AWS services that
# you can use with AWS Organizations": the "Supports delegated administrator" column).

#: Service principals that support a delegated administrator (the sandbox's own copy: it plays AWS; the operator's
#: is controller/api/limits.py, and tests/sandbox/test_aws_limits.py compares the two).
DELEGATED_ADMIN_PRINCIPALS = frozenset({
    "access-analyzer.amazonaws.com", "account.amazonaws.com", "auditmanager.amazonaws.com",
    "backup.amazonaws.com", "cloudtrail.amazonaws.com", "compute-optimizer.amazonaws.com",
    "config.amazonaws.com", "config-multiaccountsetup.amazonaws.com", "detective.amazonaws.com",
    "devops-guru.amazonaws.com", "fms.amazonaws.com", "guardduty.amazonaws.com", "health.amazonaws.com",
    "inspector2.amazonaws.com", "ipam.amazonaws.com", "license-manager.amazonaws.com", "macie.amazonaws.com",
    "member.org.stacksets.cloudformation.amazonaws.com", "securityhub.amazonaws.com",
    "securitylake.amazonaws.com", "servicecatalog.amazonaws.com", "ssm.amazonaws.com", "sso.amazonaws.com",
    "storage-lens.s3.amazonaws.com",
})


def _require_all_features(backend: Any) -> None:
    """ConstraintViolationException ORGANIZATION_NOT_IN_ALL_FEATURES_MODE: "You attempted to perform
    an operation that requires the organization to be configured to support all features. An
    organization that supports only consolidated billing features can't perform this operation."
    (moto accepts trusted access and delegated administrators in any feature set.)"""
    if backend.org.feature_set != "ALL":
        raise _constraint(
            "ORGANIZATION_NOT_IN_ALL_FEATURES_MODE",
            "You attempted to perform an operation that requires the organization to be configured to support "
            "all features. An organization that supports only consolidated billing features can't perform this "
            "operation.",
        )


def _trusted(backend: Any, principal: str) -> bool:
    return any(s.get("ServicePrincipal") == principal for s in backend.services)


@rule("EnableAWSServiceAccess")
def _enable_service_access(mw: Middleware, ctx: Ctx) -> dict[str, Any] | None:
    """Trusted access needs all features (see :func:`_require_all_features`); moto does the rest."""
    _require_org(ctx.backend)
    _require_all_features(ctx.backend)
    return None


@rule("RegisterDelegatedAdministrator")
def _register_delegated_administrator(mw: Middleware, ctx: Ctx) -> dict[str, Any] | None:
    """RegisterDelegatedAdministrator: "You can run this action only for Amazon Web Services services
    that support this feature" -- any other principal: InvalidInputException
    UNRECOGNIZED_SERVICE_PRINCIPAL ("You specified a service principal that isn't recognized.");
    ConstraintViolationException SERVICE_ACCESS_NOT_ENABLED: "You attempted to register a delegated
    administrator before you enabled service access. Call the EnableAWSServiceAccess API first.";
    CANNOT_REGISTER_MASTER_AS_DELEGATED_ADMINISTRATOR for the management account; all features
    required; AccountNotFoundException; AccountAlreadyRegisteredException ("The specified account is
    already a delegated administrator for this Amazon Web Services service.").  Answered here: moto
    knows only six principals and checks none of the order."""
    backend, params = ctx.backend, ctx.params
    _require_org(backend)
    _require_all_features(backend)
    principal = str(params.get("ServicePrincipal", ""))
    account_id = str(params.get("AccountId", ""))
    if principal not in DELEGATED_ADMIN_PRINCIPALS:
        raise _invalid("UNRECOGNIZED_SERVICE_PRINCIPAL", "You specified a service principal that isn't recognized.")
    if account_id == backend.org.master_account_id:
        raise _constraint(
            "CANNOT_REGISTER_MASTER_AS_DELEGATED_ADMINISTRATOR",
            "You attempted to register the management account of the organization as a delegated administrator "
            "for an AWS service integrated with Organizations. You can designate only a member account as a "
            "delegated administrator.",
        )
    account = _find_account(backend, account_id)
    if account is None:
        raise OrganizationsError(
            "AccountNotFoundException",
            "We can't find an Amazon Web Services account with the AccountId that you specified.",
        )
    if not _trusted(backend, principal):
        raise _constraint(
            "SERVICE_ACCESS_NOT_ENABLED",
            "You attempted to register a delegated administrator before you enabled service access. Call the "
            "EnableAWSServiceAccess API first.",
        )
    admin = next((a for a in backend.admins if a.account.id == account_id), None)
    if admin is None:
        admin = FakeDelegatedAdministrator(account)
        backend.admins.append(admin)
    if principal in admin.services:
        raise OrganizationsError(
            "AccountAlreadyRegisteredException",
            "The specified account is already a delegated administrator for this Amazon Web Services service.",
        )
    admin.services[principal] = {"ServicePrincipal": principal, "DelegationEnabledDate": time.time()}
    return {}


@rule("DeregisterDelegatedAdministrator")
def _deregister_delegated_administrator(mw: Middleware, ctx: Ctx) -> dict[str, Any] | None:
    """AccountNotRegisteredException: "The specified account is not a delegated administrator for
    this Amazon Web Services service." (moto answers InvalidInputException when the account
    administers other services)."""
    backend, params = ctx.backend, ctx.params
    _require_org(backend)
    principal = str(params.get("ServicePrincipal", ""))
    account_id = str(params.get("AccountId", ""))
    if _find_account(backend, account_id) is None:
        raise OrganizationsError(
            "AccountNotFoundException",
            "We can't find an Amazon Web Services account with the AccountId that you specified.",
        )
    admin = next((a for a in backend.admins if a.account.id == account_id), None)
    if admin is None or principal not in admin.services:
        raise OrganizationsError(
            "AccountNotRegisteredException",
            "The specified account is not a delegated administrator for this Amazon Web Services service.",
        )
    del admin.services[principal]
    if not admin.services:
        backend.admins.remove(admin)
    return {}


@rule("ListDelegatedAdministrators")
def _list_delegated_administrators(mw: Middleware, ctx: Ctx) -> dict[str, Any] | None:
    """Filtered by any principal that supports delegated administration (moto refuses those it does
    not know)."""
    backend = ctx.backend
    _require_org(backend)
    principal = ctx.params.get("ServicePrincipal")
    admins = [a for a in backend.admins if principal is None or principal in a.services]
    return {"DelegatedAdministrators": [a.describe() for a in admins]}


@rule("EnableAllFeatures")
def _enable_all_features(mw: Middleware, ctx: Ctx) -> dict[str, Any] | None:
    """EnableAllFeatures (moto 5.2.5 does not implement it): "Calling this operation sends a
    handshake to every invited account in the organization. The feature set change can be finalized
    and the additional features enabled only after all administrators in the invited accounts
    approve the change by accepting the handshake."  Returns the ENABLE_ALL_FEATURES handshake;
    accounts that joined by invitation must approve it (:meth:`StrictOrganizations.
    approve_all_features`, or AcceptHandshake from that account), then the management account gets
    an APPROVE_ALL_FEATURES handshake whose acceptance sets FeatureSet ALL.
    HandshakeConstraintViolationException ORGANIZATION_ALREADY_HAS_ALL_FEATURES ("The handshake
    request is invalid because the organization has already enabled all features.") and
    ORGANIZATION_IS_ALREADY_PENDING_ALL_FEATURES_MIGRATION ("...has already started the process to
    enable all features.")."""
    backend = ctx.backend
    _require_org(backend)
    if backend.org.feature_set == "ALL":
        raise OrganizationsError(
            "HandshakeConstraintViolationException",
            "The handshake request is invalid because the organization has already enabled all features.",
            reason="ORGANIZATION_ALREADY_HAS_ALL_FEATURES",
        )
    if any(h.backend_key == ctx.backend_key and h.state == "OPEN" for h in mw.handshakes.values()):
        raise OrganizationsError(
            "HandshakeConstraintViolationException",
            "The handshake request is invalid because the organization has already started the process to "
            "enable all features.",
            reason="ORGANIZATION_IS_ALREADY_PENDING_ALL_FEATURES_MIGRATION",
        )
    invited = {a.id for a in backend.accounts
               if getattr(a, "joined_method", "") == "INVITED" and a.id != backend.org.master_account_id}
    hs = Handshake(f"h-{uuid.uuid4().hex[:12]}", "ENABLE_ALL_FEATURES", ctx.backend_key, time.time(),
                   pending=invited)
    mw.handshakes[hs.id] = hs
    answer = {"Handshake": hs.describe()}
    mw._all_features_approved(hs)
    return answer


@rule("ListHandshakesForOrganization")
def _list_handshakes(mw: Middleware, ctx: Ctx) -> dict[str, Any] | None:
    _require_org(ctx.backend)
    action = (ctx.params.get("Filter") or {}).get("ActionType")
    found = [h.describe() for h in mw.handshakes.values()
             if h.backend_key == ctx.backend_key and (action is None or h.action == action)]
    return {"Handshakes": found}


@rule("AcceptHandshake")
def _accept_handshake(mw: Middleware, ctx: Ctx) -> dict[str, Any] | None:
    """AcceptHandshake: "Only the management account can accept [...] Enable all features final
    confirmation (APPROVE_ALL_FEATURES)"; "Only a member account can accept [...] Approve all
    features request (ENABLE_ALL_FEATURES)".  HandshakeNotFoundException, and
    HandshakeAlreadyInStateException / InvalidHandshakeTransitionException for one not OPEN.
    Accepting APPROVE_ALL_FEATURES sets the organization's FeatureSet to ALL."""
    hs = mw.handshakes.get(str(ctx.params.get("HandshakeId", "")))
    caller = ctx.backend_key[0]
    if hs is None:
        raise OrganizationsError("HandshakeNotFoundException",
                                 "We can't find a handshake with the HandshakeId that you specified.")
    if hs.state == "ACCEPTED":
        raise OrganizationsError("HandshakeAlreadyInStateException",
                                 "The specified handshake is already in the requested state.")
    if hs.state != "OPEN":
        raise OrganizationsError("InvalidHandshakeTransitionException",
                                 "You can't perform the operation on the handshake in its current state.")
    if hs.action == "INVITE":  # from the invited account's side: it joins (organizations/invitations.py)
        if caller != hs.target:
            raise OrganizationsError("AccessDeniedException", "You don't have permissions to accept this handshake.")
        from controller.sandbox.organizations.invitations import join

        join(mw, hs)
        return {"Handshake": hs.describe()}
    if hs.action == "ENABLE_ALL_FEATURES":
        if caller not in hs.pending:
            raise OrganizationsError("AccessDeniedException", "You don't have permissions to accept this handshake.")
        hs.pending.discard(caller)
        answer = {"Handshake": hs.describe()}
        mw._all_features_approved(hs)
        return answer
    if caller != hs.backend_key[0]:
        raise OrganizationsError("AccessDeniedException", "Only the management account can accept this handshake.")
    backend = organizations_backends[hs.backend_key[0]][hs.backend_key[1]]
    _require_org(backend)
    backend.org.feature_set = "ALL"  # type: ignore[union-attr]
    hs.state = "ACCEPTED"
    return {"Handshake": hs.describe()}

