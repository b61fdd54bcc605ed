"""AwsAccount: observe -> plan -> execute -> status, with crash-safe creation. No kopf here."""

from __future__ import annotations

import datetime
import logging
from typing import Any

from pydantic import ValidationError

from controller.api.models import AwsAccountSpec
from controller.aws.errors import AwsError
from controller.aws.gateway import CreationLimitReached
from controller.planner.account import (
    AccountRecord,
    CreationView,
    DesiredAccount,
    plan_account,
    plan_account_delete,
)
from controller.planner.actions import (
    Action,
    BindCreateRequest,
    Blocked,
    CloseAccount,
    CreateAccount,
    ForgetCreateRequest,
    MoveAccount,
    Plan,
    RecordCreationIntent,
    RemoveAccount,
    RenameAccount,
)
from controller.reconciler.base import EmailClaim, ObjectView, Outcome, claim_owner, now_iso
from controller.reconciler.common import ReconcilerBase, Run, event_reason

log = logging.getLogger(__name__)

KIND = "AwsAccount"
STEP = 0.1  # requeue after a bookkeeping step (intent recorded, request bound)
CLOSE_QUOTA_REASONS = {"CLOSE_ACCOUNT_QUOTA_EXCEEDED", "CLOSE_ACCOUNT_REQUESTS_LIMIT_EXCEEDED"}


def _parse_time(value: Any) -> datetime.datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


class AwsAccountReconciler(ReconcilerBase):
    kind = KIND

    def _record(self, obj: ObjectView) -> AccountRecord:
        return AccountRecord(
            id=obj.status.get("id"),
            request_id=obj.status.get("createAccountRequestId"),
            intent_at=_parse_time(obj.status.get("creationStartedAt")),
        )

    def _reconcile(self, obj: ObjectView, run: Run) -> Outcome:
        try:
            spec = AwsAccountSpec.model_validate(dict(obj.spec))
        except ValidationError as exc:
            return run.invalid(exc)
        known_email = obj.status.get("email")
        if known_email and obj.status.get("id") and known_email.lower() != spec.email.lower():
            return run.invalid_message(
                f"AwsAccount {obj.name!r}: spec.email is immutable once the account exists (it was {known_email})"
            )

        waiting_for: str | None = None
        parent_id = spec.parent_id
        if spec.org_unit_ref is not None:
            ref = self.refs.get("OrgUnit", spec.org_unit_ref.name)
            if ref.id is None or ref.deleting:
                waiting_for = spec.org_unit_ref.name
            else:
                parent_id = ref.id

        record = self._record(obj)
        observe = spec.management_policy == "Observe"
        owner = None
        if record.id is None:
            claims = self.refs.email_claims(spec.email)
            indexed = next((c for c in claims if c.name == obj.name), EmailClaim(obj.name))
            me = EmailClaim(obj.name, None, record.request_id, record.intent_at is not None, indexed.created)
            owner = claim_owner(me, claims)

        snapshot = self.gateway.snapshot(max_age=self.snapshot_max_age)
        creation = CreationView()
        needs_creation = (
            record.id is None and spec.account_id is None and owner is None and not observe
            and snapshot.account_with_email(spec.email) is None
        )
        if needs_creation and record.request_id:
            request = self.gateway.describe_create_account_status(record.request_id)
            if request.state == "SUCCEEDED" and request.account_id:
                self.gateway.describe_account(request.account_id)  # puts it into the shared snapshot
                snapshot = self.gateway.snapshot(max_age=self.snapshot_max_age)
            creation = CreationView(request=request)
        elif needs_creation and record.intent_at:
            recent = self.gateway.list_create_account_status()
            creation = CreationView(recent=recent, in_flight=sum(1 for r in recent if r.state == "IN_PROGRESS"))

        bound_id = record.id or spec.account_id
        if bound_id is None:
            found = snapshot.account_with_email(spec.email)
            bound_id = found.id if found else None
        actual_tags = None
        if spec.tags is not None and bound_id and bound_id in snapshot.accounts and self._tags_due(obj):
            actual_tags = self.gateway.list_tags(bound_id)

        desired = DesiredAccount(
            object_name=obj.name,
            account_name=spec.account_name,
            email=spec.email,
            parent_id=parent_id,
            waiting_for=waiting_for,
            role_name=spec.role_name,
            iam_user_access_to_billing=spec.iam_user_access_to_billing,
            account_id=spec.account_id,
            tags=spec.tags,
            observe_only=observe,
        )
        plan = plan_account(desired, snapshot, record, creation, owner, actual_tags)
        return self._apply(obj, run, plan, desired)

    def _apply(self, obj: ObjectView, run: Run, plan: Plan, desired: DesiredAccount) -> Outcome:
        # Creation bookkeeping first: each step is persisted before the next one runs.
        for action in plan.actions:
            if isinstance(action, RecordCreationIntent):
                run.status.update(creationStartedAt=now_iso(), email=desired.email, createAccountRequestId=None)
                return run.progress("Creating", f"about to create account {desired.account_name!r} "
                                    f"<{desired.email}>", STEP)
            if isinstance(action, BindCreateRequest):
                run.status["createAccountRequestId"] = action.request_id
                run.event("Normal", "CreateAccountFound", action.describe())
                return run.progress("CreationInProgress", action.describe(), STEP)
            if isinstance(action, ForgetCreateRequest):
                run.status.update(createAccountRequestId=None, creationStartedAt=None)
            if isinstance(action, CreateAccount):
                return self._create(run, action)
        if plan.blocked is not None:
            if plan.blocked.reason == "CreationInProgress" and "succeeded" in plan.blocked.message:
                self.gateway.invalidate()
            return run.blocked(plan)

        actions = run.filter_drift(plan, observe_only=desired.observe_only)
        for action in actions:
            failure = self._execute(run, action)
            if failure is not None:
                return failure
            run.event("Normal", event_reason(action), action.describe())
        assert plan.resource_id is not None
        account_id = plan.resource_id
        if plan.adopted:
            run.event("Normal", "Adopted", f"adopted existing account {account_id} <{desired.email}>")
        snapshot = self.gateway.snapshot(max_age=self.snapshot_max_age)
        account = snapshot.accounts.get(account_id)
        extra: dict[str, Any] = {"id": account_id, "email": desired.email}
        if account is not None:
            extra.update(arn=account.arn, state=account.state, parentId=account.parent_id,
                         path=snapshot.path(account.parent_id) if account.parent_id else None)
        return run.synced(plan, extra, corrected=bool(actions))

    def _create(self, run: Run, action: CreateAccount) -> Outcome:
        try:
            request = self.gateway.create_account(
                account_name=action.account_name,
                email=action.email,
                role_name=action.role_name,
                iam_user_access_to_billing=action.iam_user_access_to_billing,
                tags=action.tags,
            )
        except CreationLimitReached as exc:
            return run.blocked(Plan(blocked=Blocked(
                "CreationLimitReached",
                f"{exc.in_flight} account creations are in progress in the organization and AWS allows 5 at a "
                "time; this one starts when a slot frees up",
            )))
        run.status["createAccountRequestId"] = request.id
        run.event("Normal", "CreateAccountStarted", f"{action.describe()}: request {request.id}")
        return run.progress("CreationInProgress", f"CreateAccount request {request.id} is {request.state}",
                            self.settings.wait_seconds)

    def _execute(self, run: Run, action: Action) -> Outcome | None:
        gw = self.gateway
        if isinstance(action, MoveAccount):
            gw.move_account(action.account_id, action.source_parent_id, action.destination_parent_id)
        elif isinstance(action, RenameAccount):
            try:
                gw.put_account_name(action.account_id, action.name)
            except AwsError as exc:
                if exc.transient:
                    raise
                run.status["id"] = action.account_id
                return run.blocked(Plan(blocked=Blocked(
                    "InvalidSpec" if exc.code == "ValidationException" else "AccountRenameFailed",
                    f"spec.accountName: could not rename account {action.account_id} to {action.name!r} with the "
                    f"Account Management API ({exc.code}: {exc.aws_message}). Grant account:PutAccountName to the "
                    "operator's role and enable trusted access for the Account Management service, or rename it "
                    "in the AWS console",
                )))
        elif not self._execute_tags(action):
            raise TypeError(f"AwsAccount cannot execute {action!r}")
        return None

    # ------------------------------------------------------------------------- delete
    def _delete(self, obj: ObjectView, run: Run) -> Outcome:
        spec = dict(obj.spec)
        record = self._record(obj)
        policy = str(spec.get("deletionPolicy", "Retain"))
        observe = spec.get("managementPolicy") == "Observe"
        request = None
        if record.id is None and record.request_id:
            request = self.gateway.describe_create_account_status(record.request_id)
            if request.state == "SUCCEEDED" and request.account_id:
                self.gateway.describe_account(request.account_id)
        snapshot = self.gateway.snapshot(max_age=self.snapshot_max_age)
        email = str(spec.get("email", "")) if record.intent_at or record.request_id else None
        plan = plan_account_delete(record, snapshot, policy=policy, observe_only=observe, request=request,
                                   email=email)
        if plan.blocked is not None:
            return run.blocked(plan)
        for action in plan.actions:
            if not isinstance(action, (CloseAccount, RemoveAccount)):
                raise TypeError(f"AwsAccount deletion cannot execute {action!r}")
            try:
                if isinstance(action, CloseAccount):
                    self.gateway.close_account(action.account_id)
                else:
                    self.gateway.remove_account(action.account_id)
            except AwsError as exc:
                if exc.code == "AccountAlreadyClosedException":
                    continue
                if exc.code == "ConstraintViolationException" and exc.reason in CLOSE_QUOTA_REASONS:
                    return run.blocked(Plan(blocked=Blocked(
                        "LimitExceeded",
                        f"AWS's account closure quota is reached ({exc.reason}); closing {action.account_id} is "
                        "retried later",
                    )))
                raise
            run.event("Normal", event_reason(action), action.describe())
        if plan.resource_id and not plan.actions:
            run.event("Normal", "Retained", f"account {plan.resource_id} left in AWS (deletionPolicy {policy})")
        return run.deleted()

