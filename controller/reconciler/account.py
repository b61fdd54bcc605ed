"""AwsAccount: the adapter of the reconcile engine for member accounts, with crash-safe creation.

The creation state machine is the planner's (``controller.planner.account``); this adapter reads what
each step needs (the CreateAccount request recorded in status, or the recent requests after an intent)
before the plan is made.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from controller import metrics
from controller.api import limits
from controller.api.models import CONFIRM_DELETION, AwsAccountSpec, AwsAccountStatus, CreationBackoff
from controller.aws.errors import AwsError
from controller.aws.gateway import Knowledge
from controller.planner import claims
from controller.planner.account import (
    AccountRecord,
    CreationView,
    DeletionCheck,
    DesiredAccount,
    InvitationView,
    closure_quota,
    deletion_target,
    plan_account,
    plan_destruction,
)
from controller.planner.actions import Blocked, Plan, duplicate_account, duplicate_email
from controller.reconciler.base import ObjectView
from controller.reconciler.engine import TAGS, Adapter, Context, Done, Reference, Report
from controller.reconciler.status import binding_of
from controller.state import ObservedAccount, OrgSnapshot

KIND = "AwsAccount"


def _parse_time(value: Any) -> datetime.datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


def member_role_condition(account_id: str, management: str, role: str,
                          refused: str | None) -> tuple[str, bool, str, str]:
    """``MemberRole`` of an account that joined by invitation: whether the operator can assume its member role there
    (the baseline, the access role and AWS Config, reach the account only through it)."""
    if refused is None:
        return ("MemberRole", True, "MemberRoleAssumable", f"the operator assumes {role} in account {account_id}")
    return ("MemberRole", False, "MemberRoleMissing",
            f"account {account_id} joined the organization by invitation and the operator cannot assume its member "
            f"role {role} there ({refused}): {limits.INVITED_ROLE_WORDS}, so no baseline reaches the account. "
            f"Provide it one of two ways: create the IAM role {role} in the account, trusting the management account "
            f"{management} (docs/operating.md, \"Migrating existing accounts\"), or let the operator deploy it with "
            "the CloudFormation StackSet bootstrap (service-managed, to come: issue 24). Looked at again at each "
            "resync")


def record_of(status: Mapping[str, Any]) -> AccountRecord:
    """What the object's status says about earlier work."""
    bound = binding_of(status)
    return AccountRecord(id=bound.id, request_id=bound.create_account_request_id,
                         intent_at=_parse_time(bound.creation_started_at),
                         invitation_id=bound.invitation_handshake_id,
                         invitation_started_at=_parse_time(bound.invitation_started_at),
                         invitation_for=bound.invitation_for, backoff=_backoff(status.get("creationBackoff")))


def _backoff(raw: Any) -> CreationBackoff | None:
    """status.creationBackoff (one that does not read, e.g. edited by hand: none, so CreateAccount is tried)."""
    if not isinstance(raw, Mapping):
        return None
    try:
        return CreationBackoff.model_validate(dict(raw))
    except ValidationError:
        return None


BASELINE = "baseline"  # the Organization's topic on the board: member account id -> its baseline verdict
ROOT_CREDENTIALS = "rootCredentials"  # the Organization's topic: member account id -> its root user's credentials


@dataclass(frozen=True)
class ObservedAccountState:
    snapshot: OrgSnapshot
    record: AccountRecord
    creation: CreationView
    tags: Mapping[str, str] | None
    #: The Organization's baseline verdicts (account id -> Verdict), as published; None: it has not spoken since
    #: this process started.
    baseline: Mapping[str, Any] | None = None
    #: The invitation's handshakes, read while the account is invited (None: not invited)
    invitation: InvitationView | None = None
    #: An account that joined by invitation: (the member role the operator assumes, why it cannot: None when it
    #: can); None: not looked at (created accounts, no member access configured)
    member_role: tuple[str, str | None] | None = None
    #: The Organization's reading of each member account's root user ('none', 'password,accessKeys', ...); None: it
    #: has not spoken since this process started (status.rootCredentials is left as it is).
    root_credentials: Mapping[str, Any] | None = None


class AwsAccountAdapter(Adapter[AwsAccountSpec, DesiredAccount, ObservedAccountState]):
    kind = KIND
    noun = "account"
    model = AwsAccountSpec
    default_deletion = "Retain"

    def check(self, name: str, spec: AwsAccountSpec, status: Mapping[str, Any]) -> str | None:
        bound = binding_of(status)
        known = bound.email
        if known and bound.id and known.lower() != spec.email.lower():
            return f"AwsAccount {name!r}: spec.email is immutable once the account exists (it was {known})"
        return None

    def references(self, spec: AwsAccountSpec) -> Sequence[Reference]:
        return [Reference("OrgUnit", spec.org_unit_ref.name, "spec.orgUnitRef")] if spec.org_unit_ref else []

    def claim_key(self, name: str, spec: AwsAccountSpec) -> str:
        return claims.account_key(spec.email)

    def claim_keys(self, name: str, spec: AwsAccountSpec, status: Mapping[str, Any]) -> tuple[str, ...]:
        """Its email, and the account id it names or is bound to: one object per AWS account, by either."""
        return claims.account_keys(spec.email, spec.account_id, binding_of(status).id)

    def claim_refused(self, name: str, spec: AwsAccountSpec, owner: str) -> Blocked:
        return duplicate_email(spec.email, owner)

    def claim_refused_on(self, name: str, spec: AwsAccountSpec, owner: str, key: str) -> Blocked:
        if claims.is_account_id_key(key):
            return duplicate_account(key.removeprefix("accountId:"), owner, by_spec=spec.account_id is not None)
        return duplicate_email(spec.email, owner)

    def desired(self, name: str, spec: AwsAccountSpec, resolved: Mapping[Reference, str]) -> DesiredAccount:
        return DesiredAccount(
            object_name=name, account_name=spec.account_name, email=spec.email,
            parent_id=next(iter(resolved.values()), None) or spec.parent_id, role_name=spec.role_name,
            iam_user_access_to_billing=spec.iam_user_access_to_billing, account_id=spec.account_id, tags=spec.tags,
            observe_only=spec.management_policy == "Observe",
            invite=spec.invite is not None, invite_notes=spec.invite.notes if spec.invite is not None else None,
        )

    def observe(self, ctx: Context, desired: DesiredAccount, view: ObjectView) -> ObservedAccountState:
        record = record_of(view.status)
        snapshot = ctx.snapshot()
        creation = CreationView(now=datetime.datetime.fromtimestamp(ctx.clock(), datetime.UTC),
                                generation=view.generation, resync_seconds=ctx.settings.resync_seconds,
                                accounts_limit=limits.active().accounts)
        needs_creation = (record.id is None and desired.account_id is None and not desired.observe_only
                          and snapshot.account_with_email(desired.email) is None)
        if needs_creation and record.request_id:
            request = ctx.gateway.describe_create_account_status(record.request_id)
            if request.state == "SUCCEEDED" and request.account_id:
                ctx.gateway.describe_account(request.account_id)  # puts it into the shared snapshot
                snapshot = ctx.snapshot()
            creation = dataclasses.replace(creation, request=request)
        elif needs_creation and record.intent_at:
            recent = ctx.gateway.list_create_account_status()
            creation = dataclasses.replace(creation, recent=recent,
                                           in_flight=sum(1 for r in recent if r.state == "IN_PROGRESS"))
        bound = record.id or desired.account_id
        if bound is None:
            found = snapshot.account_with_email(desired.email)
            bound = found.id if found else None
        invitation = None
        if (desired.invite and desired.account_id is not None and record.id is None
                and desired.account_id not in snapshot.accounts and not desired.observe_only):
            invitation, snapshot = self._invitation(ctx, desired.account_id, record)
        tags = None
        if desired.tags is not None and bound in snapshot.accounts and ctx.due(TAGS, view.name, view):
            tags = ctx.gateway.list_tags(bound)  # type: ignore[arg-type]
        member_role = None
        account = snapshot.accounts.get(bound or "")
        members = ctx.gateway.members
        if account is not None and account.joined_method == "INVITED" and members is not None:
            member_role = (members.role_name, members.reachable(account.id))
        return ObservedAccountState(snapshot, record, creation, tags, ctx.board.read(BASELINE), invitation,
                                    member_role, ctx.board.read(ROOT_CREDENTIALS))

    @staticmethod
    def _invitation(ctx: Context, account_id: str, record: AccountRecord) -> tuple[InvitationView, OrgSnapshot]:
        """The organization's INVITE handshakes to the account and the day's count (one ListHandshakesForOrganization,
        only while the account is not a member); an accepted one: the account read into the snapshot."""
        every = ctx.gateway.list_invitations()
        day_ago = datetime.datetime.fromtimestamp(ctx.clock(), datetime.UTC) - datetime.timedelta(days=1)
        view = InvitationView(tuple(h for h in every if h.target == account_id),
                              sum(1 for h in every if h.requested_at is not None and h.requested_at > day_ago))
        if any(h.state == "ACCEPTED" for h in view.found):
            ctx.gateway.describe_account(account_id)  # a member now: into the shared snapshot
        return view, ctx.snapshot()

    def plan(self, desired: DesiredAccount, observed: ObservedAccountState) -> Plan:
        plan = plan_account(desired, observed.snapshot, observed.record, observed.creation, observed.tags,
                            observed.invitation)
        quota_metrics(desired.object_name, observed.record, plan)
        return plan

    def after(self, desired: DesiredAccount, observed: ObservedAccountState, done: Done,
              known: Knowledge) -> ObservedAccountState:
        return dataclasses.replace(observed, snapshot=known.snapshot)

    def report(self, desired: DesiredAccount, observed: ObservedAccountState, done: Done) -> Report:
        """The account's fields, and ``Baselined``: the Organization's verdict for this account (its access role
        and AWS Config), when it has one. The condition goes once the Organization says it has no verdict for this
        account (accessRole removed, the Organization deleted, the account no longer an ACTIVE member); until the
        Organization has spoken after a restart, the condition the account has stays."""
        resource_id = done.resource_id
        if resource_id is None:
            return Report(None, stale=["Baselined"] if observed.baseline is not None else [])
        snapshot = observed.snapshot
        account = snapshot.accounts.get(resource_id)
        status = AwsAccountStatus(id=resource_id, email=desired.email)
        if observed.record.backoff is not None:  # bound: the wait at a full quota is over
            status.creation_backoff = None
        if account is not None:
            status.arn, status.state, status.parent_id = account.arn, account.state, account.parent_id
            status.path = snapshot.path(account.parent_id) if account.parent_id else None
            if observed.record.invitation_id is not None:  # a member: the invitation was accepted
                status.invitation_state, status.invitation_expires_at = "ACCEPTED", None
        if observed.root_credentials is not None:
            status.root_credentials = observed.root_credentials.get(resource_id)
        conditions = []
        if observed.member_role is not None:
            conditions.append(member_role_condition(resource_id, snapshot.management_account_id,
                                                    *observed.member_role))
        stale: list[str] = []
        found = (observed.baseline or {}).get(resource_id)
        if found is not None:
            conditions.append(("Baselined", found.state == "compliant", found.reason, found.message))
        elif observed.baseline is not None:
            stale.append("Baselined")
        return Report(status, conditions, stale=stale)

    def adopted(self, desired: DesiredAccount, resource_id: str) -> str:
        if desired.invite:
            return f"account {resource_id} <{desired.email}> accepted the invitation and joined the organization"
        return f"adopted existing account {resource_id} <{desired.email}>"

    def plan_delete(self, ctx: Context, spec: AwsAccountSpec | None, resolved: Mapping[Reference, str],
                    view: ObjectView, retain: bool) -> Plan:
        record = record_of(view.status)
        request = None
        if record.id is None and record.request_id:
            request = ctx.gateway.describe_create_account_status(record.request_id)
            if request.state == "SUCCEEDED" and request.account_id:
                ctx.gateway.describe_account(request.account_id)
        # Only an object that started creating may look its account up by email: any other object never bound
        # one, and must not close someone else's.
        email = spec.email if spec is not None and (record.intent_at or record.request_id) else None
        policy = "Retain" if retain or spec is None else self.deletion_policy(spec)
        target = deletion_target(record, ctx.snapshot(), policy=policy, observe_only=retain, request=request,
                                 email=email)
        if isinstance(target, Plan):
            return target
        assert spec is not None  # Retain otherwise
        return plan_destruction(target, policy, self._deletion_check(ctx, target, spec, view), name=view.name)

    def _deletion_check(self, ctx: Context, account_id: str, spec: AwsAccountSpec, view: ObjectView) -> DeletionCheck:
        """Identity before destruction: the account read again from AWS now (DescribeAccount, not the snapshot), the
        emails this object knows it by, its confirmation, and the other objects declaring the account."""
        try:
            described: ObservedAccount | None = ctx.gateway.describe_account(account_id)
        except AwsError as exc:
            if exc.code != "AccountNotFoundException":
                raise
            described = None
        keys = [claims.account_id_key(account_id)]
        if described is not None:
            keys.append(claims.account_key(described.email))
        others = set()
        if ctx.refs is not None:
            others = {c.name for key in keys for c in ctx.refs.claims(KIND, key) if c.name != view.name}
        emails = (binding_of(view.status).email or "", spec.email)
        return DeletionCheck(described, tuple(e for e in emails if e), view.annotations.get(CONFIRM_DELETION),
                             tuple(sorted(others)), closure_quota(ctx.snapshot()))


def quota_metrics(name: str, record: AccountRecord, plan: Plan) -> None:
    """awsorg_create_account_deferred_total (a CreateAccount put off by the wait at a full quota) and the object's
    part in awsorg_create_account_backoff_seconds (its current wait; none once it no longer waits)."""
    blocked = plan.blocked
    new = plan.status.creation_backoff if plan.status is not None else None
    if new is not None:
        metrics.creation_backoff(name, new.delay_seconds)
    elif blocked is not None and blocked.reason == "AccountQuotaReached" and record.backoff is not None:
        metrics.CREATE_ACCOUNT_DEFERRED.inc()
        metrics.creation_backoff(name, record.backoff.delay_seconds)
    elif record.backoff is None or plan.resource_id is not None:
        metrics.creation_backoff(name, None)
