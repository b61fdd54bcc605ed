"""The administrator's policy in the engine: one check before anything is observed, one on the plan's actions.

The rules are :mod:`controller.planner.guardrails` (pure); the policy is the settings' (``AWSORG_POLICY_FILE``, looked
at again as it changes). What the rules need to know of the organization comes from what the engine has already:

- the management account and every account of the organization: the shared snapshot (no call);
- the log archive: what the Organization published on the board (``LOG_ARCHIVE``), and the policy's own
  ``centralLogging.logArchiveAccountId``;
- the delegated administrators (only for an account whose deletionPolicy is Close or RemoveFromOrganization):
  ListDelegatedAdministrators once per resync interval, afresh before an account is closed or removed;
- the tags of a resource the plan would adopt (only under ``adoption.requireTag``): ListTagsForResource, each time
  the object is compared while it is not bound yet (once, when the tag is there: it is then bound).

A refusal is ``Synced=False``, reason ``ForbiddenByPolicy``, its message naming each rule and field, and nothing is
written to AWS (the check comes before the first write of the reconcile). On deletion, what the policy forbids is
left in AWS and the object released (a Warning event ``ForbiddenByPolicy`` says what was kept and why): the policy
protects the resource, not the object.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from controller.api.guardrails import OperatorPolicy
from controller.aws.gateway import OrganizationsGateway
from controller.planner import guardrails
from controller.planner.actions import Action, Blocked, Plan
from controller.reconciler.base import Board
from controller.settings import Settings
from controller.state import OrgSnapshot

LOG_ARCHIVE = "logArchive"  # the Organization's topic on the board: the log archive account id -> True
DESTRUCTIVE = frozenset({"Close", "RemoveFromOrganization"})


def blocked(found: Sequence[guardrails.Refusal]) -> Blocked:
    """The refusal as the object's Synced condition says it (no retry: the spec or the policy must change; the
    resync looks again)."""
    return Blocked("ForbiddenByPolicy", "forbidden by the administrator's policy: " + "; ".join(str(r) for r in found),
                   retry=False)


class Guard:
    """The policy's checks for one engine (shared state: none; the policy is the settings')."""

    def __init__(self, gateway: OrganizationsGateway, settings: Settings, board: Board) -> None:
        self.gateway = gateway
        self.settings = settings
        self.board = board

    @property
    def policy(self) -> OperatorPolicy:
        return self.settings.policy.current()

    def facts(self, resolved: Mapping[Any, str], *, admins: bool = False, fresh: bool = False) -> guardrails.Facts:
        """What is known of the organization, from the snapshot and the board (``admins``: the delegated
        administrators too, read at most once per resync interval, or now when ``fresh``)."""
        snapshot: OrgSnapshot = self.gateway.snapshot(max_age=self.settings.resync_seconds * 1.5)
        archive = self.board.read(LOG_ARCHIVE)
        delegated: frozenset[str] = frozenset()
        if admins and snapshot.feature_set == "ALL":
            delegated = self.gateway.all_delegated_administrators(
                max_age=0 if fresh else self.settings.resync_seconds)
        return guardrails.Facts(
            management_account_id=snapshot.management_account_id,
            organization_accounts=frozenset(snapshot.accounts) | {snapshot.management_account_id},
            delegated_administrators=delegated,
            log_archive_account_id=next(iter(archive), None) if archive else None,
            member_role_name=self.settings.member_role_name,
            account_ids={ref.name: account_id for ref, account_id in resolved.items() if ref.kind == "AwsAccount"},
        )

    @staticmethod
    def _destructive(spec: BaseModel) -> bool:
        return getattr(spec, "deletion_policy", None) in DESTRUCTIVE

    def spec(self, name: str, spec: BaseModel, resource_id: str | None,
             resolved: Mapping[Any, str]) -> Blocked | None:
        """Before anything is observed: the rules the spec alone (and the facts) break."""
        found = guardrails.refusals(name, spec, resource_id, self.policy,
                                    self.facts(resolved, admins=self._destructive(spec)))
        return blocked(found) if found else None

    def plan(self, kind: str, name: str, spec: BaseModel, plan: Plan, actions: Sequence[Action],
             resolved: Mapping[Any, str], *, bound: str | None, correcting: bool) -> Blocked | None:
        """Before the first write: the rules the plan's ``actions`` break, and the spec's again when the plan found
        the resource (``plan.resource_id``) the object was not bound to yet."""
        policy = self.policy
        facts = self.facts(resolved, admins=self._destructive(spec) or guardrails.removes_an_account(actions))
        found: list[guardrails.Refusal] = []
        if plan.resource_id and plan.resource_id != bound:
            found += guardrails.refusals(name, spec, plan.resource_id, policy, facts)
        adopted = plan.resource_id if plan.adopted else None
        tags = None
        if adopted is not None and policy.adoption.require_tag and kind != "Organization":
            tags = self.gateway.list_tags(adopted)
        found += [r for r in guardrails.forbidden_actions(kind, actions, policy, facts, adopted=adopted, tags=tags,
                                                          correcting=correcting) if r not in found]
        return blocked(found) if found else None

    def deletion(self, kind: str, name: str, spec: BaseModel | None, plan: Plan,
                 resolved: Mapping[Any, str]) -> list[guardrails.Refusal]:
        """What deleting the object would do that the policy forbids (its deletionPolicy among them); the
        delegated administrators are read afresh before an account is closed or removed."""
        actions = plan.actions
        if not actions:
            return []
        policy = self.policy
        facts = self.facts(resolved, admins=guardrails.removes_an_account(actions), fresh=True)
        found = [r for r in guardrails.refusals(name, spec, plan.resource_id, policy, facts)
                 if r.rule.startswith("deletion.")] if spec is not None else []
        found += [r for r in guardrails.forbidden_actions(kind, actions, policy, facts) if r not in found]
        return found
