"""Invitations as the sandbox plays them: InviteAccountToOrganization sends an INVITE handshake to a standalone account
(one outside any organization: :meth:`StrictOrganizations.standalone_account`), which its owner accepts or declines
from the account's side (the test helpers :meth:`StrictOrganizations.answer_invitation`), or which expires after 15
days (:meth:`StrictOrganizations.expire_invitation` brings that day forward).  moto 5.2.5 has no handshakes.

From the sources the rules quote:

* InviteAccountToOrganization (botocore 1.44.8): "Sends an invitation to another account to join your organization as
  a member account. [...] The invitation is implemented as a Handshake whose details are in the response."  Target
  ``{"Type": "ACCOUNT", "Id": ...}`` or ``{"Type": "EMAIL", "Id": ...}``; Notes; Tags ("attach to the account when it
  becomes a member of the organization").
* HandshakeConstraintViolationException: ACCOUNT_NUMBER_LIMIT_EXCEEDED ("You attempted to exceed the limit on the
  number of accounts in an organization. Note that deleted and closed accounts still count toward your limit."),
  ALREADY_IN_AN_ORGANIZATION ("The handshake request is invalid because the invited account is already a member of an
  organization."), HANDSHAKE_RATE_LIMIT_EXCEEDED ("You attempted to exceed the number of handshakes that you can send
  in one day."); DuplicateHandshakeException ("A handshake with the same action and target already exists.").
* The quotas page (orgs_reference_limits): invitations sent count against the maximum number of accounts, and the
  count is returned when the invited account declines, the management account cancels, or the invitation expires;
  "Number of invitations that you can send per day: 20".  The user guide, "Inviting an AWS account to join your
  organization": an invitation not answered expires after 15 days.
* Handshake: "Handshakes that are CANCELED, ACCEPTED, DECLINED, or EXPIRED show up in lists for only 30 days after
  entering that state".
* An account that joins by invitation has no OrganizationAccountAccessRole: the user guide, "Accessing member accounts
  in your organization": "If you invite an existing account to join your organization, you must create the role
  yourself" (moto gives every account one; the sandbox removes it).
"""

import time
import uuid
from typing import Any

from moto.organizations.models import FakeAccount

from controller.sandbox.organizations.base import (
    Ctx,
    Handshake,
    Middleware,
    OrganizationsError,
    _find_account,
    _invalid,
    _require_org,
    rule,
)

#: "Number of invitations that you can send per day: 20" (quotas page); HANDSHAKE_RATE_LIMIT_EXCEEDED beyond.
INVITATIONS_PER_DAY = 20
DAY = 86400.0
#: An invitation not answered expires after 15 days (user guide, "Inviting an AWS account to join your organization").
INVITATION_DAYS = 15
OPEN_STATES = ("REQUESTED", "OPEN")


def _handshake_violation(reason: str, message: str) -> OrganizationsError:
    return OrganizationsError("HandshakeConstraintViolationException", message, reason=reason)


def open_invitations(mw: Middleware, backend_key: tuple[str, str]) -> list[Handshake]:
    return [h for h in mw.handshakes.values()
            if h.backend_key == backend_key and h.action == "INVITE" and h.state in OPEN_STATES]


def _member_elsewhere(account_id: str) -> bool:
    """Whether the account is a member of any organization the sandbox holds (moto's backends)."""
    from moto.organizations.models import organizations_backends

    for regions in organizations_backends.values():
        for backend in regions.values():
            if backend.org is not None and _find_account(backend, account_id) is not None:
                return True
    return False


@rule("InviteAccountToOrganization")
def _invite_account(mw: Middleware, ctx: Ctx) -> dict[str, Any] | None:
    """InviteAccountToOrganization (moto 5.2.5 does not implement it): an INVITE handshake, OPEN until the invited
    account accepts or declines it or it expires (see the module's sources for each refusal)."""
    backend = ctx.backend
    _require_org(backend)
    target = ctx.params.get("Target") or {}
    kind, ident = str(target.get("Type", "")), str(target.get("Id", ""))
    if kind not in ("ACCOUNT", "EMAIL"):
        raise _invalid("INVALID_PARTY_TYPE_TARGET", "You specified the wrong type of entity (account, organization, "
                       "or email) as a party.")
    account_id = ident
    if kind == "EMAIL":
        account_id = next((i for i, a in mw.standalone_accounts.items() if a["email"].lower() == ident.lower()), ident)
    if _member_elsewhere(account_id):
        raise _handshake_violation("ALREADY_IN_AN_ORGANIZATION", "The handshake request is invalid because the "
                                   "invited account is already a member of an organization.")
    if any(h.target == account_id for h in open_invitations(mw, ctx.backend_key)):
        raise OrganizationsError("DuplicateHandshakeException",
                                 "A handshake with the same action and target already exists.")
    now = time.time()
    sent = [h for h in mw.handshakes.values()
            if h.backend_key == ctx.backend_key and h.action == "INVITE" and h.requested > now - DAY]
    if len(sent) >= INVITATIONS_PER_DAY:
        raise _handshake_violation("HANDSHAKE_RATE_LIMIT_EXCEEDED", "You attempted to exceed the number of "
                                   "handshakes that you can send in one day.")
    hs = Handshake(f"h-{uuid.uuid4().hex[:12]}", "INVITE", ctx.backend_key, now, target=account_id,
                   organization_id=backend.org.id, notes=str(ctx.params.get("Notes") or ""),
                   tags={t["Key"]: t["Value"] for t in ctx.params.get("Tags") or []},
                   expires=now + INVITATION_DAYS * DAY)
    mw.handshakes[hs.id] = hs
    return {"Handshake": hs.describe()}


def join(mw: Middleware, hs: Handshake) -> None:
    """The invited account accepted: it becomes a member under the root, JoinedMethod INVITED, with the invitation's
    tags and no OrganizationAccountAccessRole (moto's FakeAccount makes one, under an id of its own: removed)."""
    from moto.iam.models import iam_backends
    from moto.organizations.models import organizations_backends

    backend = organizations_backends[hs.backend_key[0]][hs.backend_key[1]]
    _require_org(backend)
    standalone = mw.standalone_accounts.pop(hs.target, None) or {"email": f"{hs.target}@example.com",
                                                                 "name": hs.target}
    assert backend.org is not None
    account = FakeAccount(backend.org, AccountName=standalone["name"], Email=standalone["email"],
                          Tags=[{"Key": k, "Value": v} for k, v in hs.tags.items()])
    made = account.id
    iam_backends[made]["global"].roles.clear()
    account.id = hs.target
    account.joined_method = "INVITED"
    backend.accounts.append(account)
    hs.state = "ACCEPTED"
    hs.ended = time.time()


def end(hs: Handshake, state: str) -> None:
    hs.state = state
    hs.ended = time.time()


def expire_due(mw: Middleware, now: float) -> None:
    """Open invitations past their expiry are EXPIRED (their count against the account quota returned)."""
    for hs in mw.handshakes.values():
        if hs.action == "INVITE" and hs.state in OPEN_STATES and hs.expires is not None and hs.expires <= now:
            end(hs, "EXPIRED")


@rule("DeclineHandshake")
def _decline_handshake(mw: Middleware, ctx: Ctx) -> dict[str, Any] | None:
    """DeclineHandshake: "Declines a handshake request. This sets the handshake state to DECLINED and effectively
    deactivates the request. This operation can be called only from the account that received the handshake."
    (moto 5.2.5 has none.)"""
    hs = _open(mw, ctx)
    if hs.target != ctx.backend_key[0]:
        raise OrganizationsError("AccessDeniedException", "You don't have permissions to decline this handshake.")
    end(hs, "DECLINED")
    return {"Handshake": hs.describe()}


@rule("CancelHandshake")
def _cancel_handshake(mw: Middleware, ctx: Ctx) -> dict[str, Any] | None:
    """CancelHandshake: "Cancels a handshake. Canceling a handshake sets the handshake state to CANCELED. This
    operation can be called only from the account that originated the handshake." (moto 5.2.5 has none.)"""
    hs = _open(mw, ctx)
    if hs.backend_key[0] != ctx.backend_key[0]:
        raise OrganizationsError("AccessDeniedException", "You don't have permissions to cancel this handshake.")
    end(hs, "CANCELED")
    return {"Handshake": hs.describe()}


def _open(mw: Middleware, ctx: Ctx) -> Handshake:
    hs = mw.handshakes.get(str(ctx.params.get("HandshakeId", "")))
    if hs is None:
        raise OrganizationsError("HandshakeNotFoundException",
                                 "We can't find a handshake with the HandshakeId that you specified.")
    if hs.state not in OPEN_STATES:
        raise OrganizationsError("InvalidHandshakeTransitionException",
                                 "You can't perform the operation on the handshake in its current state.")
    return hs
