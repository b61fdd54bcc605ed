"""Plan a ServiceControlPolicy (SCP or RCP): desired spec + observed organization -> actions. Pure.

The policy's attachments in AWS are exactly the spec's targets.  Everything AWS would refuse is refused
here first, before any call, with the target named: a sixth policy of a type on one target, and (SCPs)
detaching the last SCP of a target.  Attachments are made before detachments.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from controller.api import limits
from controller.planner.actions import (
    Action,
    AttachPolicy,
    Blocked,
    CreatePolicy,
    DeletePolicy,
    DetachPolicy,
    Difference,
    EnablePolicyType,
    Plan,
    UpdatePolicy,
)
from controller.planner.policy_document import SCP, same_content
from controller.planner.tags import is_aws_reserved, plan_tags
from controller.state import ObservedPolicy, OrgSnapshot

TYPE_WORDS = limits.TYPE_WORDS


_SHOWN = 200  # characters of a policy content shown in status.drift


@dataclass(frozen=True)
class PolicyTarget:
    """One resolved target: its AWS id and the spec field it came from (for messages)."""

    id: str
    field: str


@dataclass(frozen=True)
class DesiredPolicy:
    """The spec, references resolved by the caller. ``content``: the minified document.

    ``root``: attach to the organization root (its id comes from the snapshot). The engine waits for a
    referenced object that is not Ready yet.
    """

    object_name: str
    name: str
    type: str
    content: str
    description: str = ""
    root: bool = False
    targets: tuple[PolicyTarget, ...] = ()
    tags: Mapping[str, str] | None = None
    observe_only: bool = False


def describe_target(snapshot: OrgSnapshot, target_id: str) -> str:
    """``OU 'Production' (ou-...)``, ``account 'Dev' (1234...)``, ``the root r-...``."""
    if target_id == snapshot.root_id:
        return f"the root {target_id}"
    if target_id in snapshot.ous:
        return f"OU {snapshot.ous[target_id].name!r} ({target_id})"
    if target_id in snapshot.accounts:
        return f"account {snapshot.accounts[target_id].name!r} ({target_id})"
    return target_id


def _shown(content: str | None) -> str | None:
    if content is None or len(content) <= _SHOWN:
        return content
    return content[: _SHOWN - 3] + "..."


def find_policy(desired: DesiredPolicy, snapshot: OrgSnapshot, known_id: str | None) -> tuple[ObservedPolicy | None,
                                                                                                 bool]:
    """The policy this object is bound to (by recorded id) or adopts (by name, unique per type)."""
    if known_id is not None:
        current = snapshot.policies.get(known_id)
        if current is not None and current.type == desired.type:
            return current, False
    found = snapshot.policy_named(desired.name, desired.type)
    return found, found is not None


def plan_policy(
    desired: DesiredPolicy,
    snapshot: OrgSnapshot,
    known_id: str | None,
    actual_tags: Mapping[str, str] | None = None,
) -> Plan:
    """Plan one policy. ``known_id``: the id in status; ``actual_tags``: None when not read this time."""
    if desired.type not in snapshot.enabled_policy_types:
        if desired.observe_only:
            return Plan(
                blocked=Blocked(
                    "PolicyTypeNotEnabled",
                    f"managementPolicy Observe: {desired.type} is not enabled on the root {snapshot.root_id}; "
                    "nothing is enabled",
                ),
                resource_id=known_id,
            )
        type_diff = (Difference("policyType", "ENABLED", "DISABLED"),) if known_id else ()
        return Plan(actions=(EnablePolicyType(snapshot.root_id, desired.type),), differences=type_diff,
                    resource_id=known_id)

    wanted: dict[str, str] = {}
    if desired.root:
        wanted[snapshot.root_id] = "spec.targets.root"
    missing: list[str] = []
    for target in desired.targets:
        if not snapshot.target_exists(target.id):
            missing.append(f"{target.field}: {target.id} is not a root, OU or account of this organization")
        wanted.setdefault(target.id, target.field)
    if missing:
        return Plan(blocked=Blocked("TargetNotFound", "; ".join(missing)), resource_id=known_id)

    current, adopted = find_policy(desired, snapshot, known_id)
    if current is not None and current.aws_managed:
        return Plan(
            blocked=Blocked(
                "InvalidSpec",
                f"spec.name: {current.name!r} is an AWS managed policy, which cannot be changed; choose another name",
                retry=False,
            )
        )
    if current is None:
        return _plan_create(desired, snapshot, known_id, wanted)

    actual = set(current.target_ids)
    to_attach = sorted(set(wanted) - actual)
    to_detach = sorted(actual - set(wanted))
    diffs: list[Difference] = []
    update: dict[str, str] = {}
    if current.name != desired.name:
        diffs.append(Difference("name", desired.name, current.name))
        update["name"] = desired.name
    if current.description != desired.description:
        diffs.append(Difference("description", desired.description, current.description))
        update["description"] = desired.description
    if same_content(desired.content, current.content) is False:
        diffs.append(Difference("document", _shown(desired.content), _shown(current.content)))
        update["content"] = desired.content
    if to_attach or to_detach:
        diffs.append(Difference("targets", ", ".join(sorted(wanted)), ", ".join(sorted(actual))))
    tag_actions, tag_diffs = plan_tags(current.id, desired.tags, actual_tags)
    diffs += tag_diffs

    if desired.observe_only:
        return Plan(differences=tuple(diffs), resource_id=current.id, adopted=adopted)
    blocked = _check_limits(desired, snapshot, current, to_attach) or _check_last_policy(
        desired.type, snapshot, current, to_detach
    )
    if blocked is not None:
        return Plan(blocked=blocked, resource_id=current.id, differences=tuple(diffs))

    actions: list[Action] = []
    if update:
        actions.append(UpdatePolicy(current.id, **update))
    actions += [AttachPolicy(current.id, current.name, t, describe_target(snapshot, t)) for t in to_attach]
    actions += [DetachPolicy(current.id, current.name, t, describe_target(snapshot, t)) for t in to_detach]
    actions += tag_actions
    return Plan(actions=tuple(actions), differences=tuple(diffs), resource_id=current.id, adopted=adopted)


def _plan_create(desired: DesiredPolicy, snapshot: OrgSnapshot, known_id: str | None, wanted: Mapping[str, str]
                 ) -> Plan:
    diffs: tuple[Difference, ...] = ()
    if known_id is not None:
        diffs = (Difference("exists", "true", "false"),)
    if desired.observe_only:
        return Plan(
            blocked=Blocked(
                "NotFound", f"managementPolicy Observe: no {desired.type} named {desired.name!r}; nothing is created"
            ),
            differences=diffs,
        )
    blocked = _check_limits(desired, snapshot, None, sorted(wanted))
    if blocked is not None:
        return Plan(blocked=blocked, differences=diffs)
    tags = {k: v for k, v in (desired.tags or {}).items() if not is_aws_reserved(k)}
    actions: list[Action] = [CreatePolicy(desired.name, desired.description, desired.type, desired.content, tags)]
    actions += [AttachPolicy(None, desired.name, t, describe_target(snapshot, t)) for t in sorted(wanted)]
    return Plan(actions=tuple(actions), differences=diffs)


def _check_limits(
    desired: DesiredPolicy, snapshot: OrgSnapshot, current: ObservedPolicy | None, to_attach: list[str]
) -> Blocked | None:
    """AWS's limit of policies of a type directly on one target (:func:`~controller.api.limits.count_attachments`,
    the AWS managed ones attached there included): refuse the attachment past it before calling AWS."""
    full: list[limits.AttachmentCount] = []
    for target_id in to_attach:
        on = [p for p in snapshot.policies_on(target_id, desired.type) if current is None or p.id != current.id]
        count = limits.count_attachments(
            desired.type, describe_target(snapshot, target_id),
            [*(p.name for p in on if not p.aws_managed), desired.name], [p.name for p in on if p.aws_managed],
            own_words="customer managed")
        if not count.within:
            full.append(count)
    if not full:
        return None
    return Blocked(
        "LimitExceeded",
        f"cannot attach {desired.name!r}: it would make " + "; ".join(c.message() for c in full)
        + "; detach one there (or merge policies) first",
    )


def _check_last_policy(
    policy_type: str, snapshot: OrgSnapshot, policy: ObservedPolicy, to_detach: list[str]
) -> Blocked | None:
    """AWS requires at least one SCP on every root, OU and account: never detach the last one."""
    if policy_type != SCP:
        return None
    alone = [t for t in to_detach if not [p for p in snapshot.policies_on(t, policy_type) if p.id != policy.id]]
    if not alone:
        return None
    where = ", ".join(describe_target(snapshot, t) for t in alone)
    return Blocked(
        "LastPolicyOnTarget",
        f"cannot detach {policy.name!r} from {where}: it is the only service control policy attached there and AWS "
        "requires at least one SCP on every root, OU and account. Attach FullAWSAccess (or another SCP) there "
        "first",
    )


def plan_policy_delete(known_id: str | None, snapshot: OrgSnapshot, *, retain: bool) -> Plan:
    """Plan the deletion of the object's policy: detach from every target, then delete (unless ``retain``)."""
    if retain or known_id is None or known_id not in snapshot.policies:
        return Plan(resource_id=known_id)
    policy = snapshot.policies[known_id]
    if policy.aws_managed:
        return Plan(resource_id=known_id)
    targets = sorted(policy.target_ids)
    blocked = _check_last_policy(policy.type, snapshot, policy, targets)
    if blocked is not None:
        return Plan(
            blocked=Blocked(blocked.reason, blocked.message + "; the deletion waits until then"),
            resource_id=known_id,
        )
    actions: list[Action] = [DetachPolicy(policy.id, policy.name, t, describe_target(snapshot, t)) for t in targets]
    actions.append(DeletePolicy(policy.id, policy.name))
    return Plan(actions=tuple(actions), resource_id=known_id)
